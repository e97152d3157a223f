"""Block information instructions (0x40-0x4a)."""

from __future__ import annotations


def blockhash(f, pc):
    s = f.stack
    n = s[-1]
    env = f.ctx.env
    if env.number - 256 <= n < env.number:
        h = env.block_hash(n)
        s[-1] = int.from_bytes(h, "big") if h else 0
    else:
        s[-1] = 0
    return pc + 1


def coinbase(f, pc):
    f.stack.append(int.from_bytes(f.ctx.env.coinbase, "big"))
    return pc + 1


def timestamp(f, pc):
    f.stack.append(f.ctx.env.timestamp)
    return pc + 1


def number(f, pc):
    f.stack.append(f.ctx.env.number)
    return pc + 1


def difficulty(f, pc):
    """0x44 before the merge: the block's proof-of-work difficulty."""
    f.stack.append(f.ctx.env.difficulty)
    return pc + 1


def prevrandao(f, pc):
    f.stack.append(int.from_bytes(f.ctx.env.prev_randao, "big"))
    return pc + 1


def gaslimit(f, pc):
    f.stack.append(f.ctx.env.gas_limit)
    return pc + 1


def chainid(f, pc):
    f.stack.append(f.ctx.env.chain_id)
    return pc + 1


def basefee(f, pc):
    f.stack.append(f.ctx.env.base_fee)
    return pc + 1


def blobbasefee(f, pc):
    f.stack.append(f.ctx.env.blob_gas_price())
    return pc + 1
