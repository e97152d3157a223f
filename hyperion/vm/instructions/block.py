"""Block information instructions (0x40-0x4a)."""

from __future__ import annotations


def blockhash(f, number):
    """The hash of one of the 256 most recent blocks, else 0."""
    env = f.ctx.env
    if env.number - 256 <= number < env.number:
        h = env.block_hash(number)
        result = int.from_bytes(h, "big") if h else 0
    else:
        result = 0
    return result


def coinbase(f):
    return int.from_bytes(f.ctx.env.coinbase, "big")


def timestamp(f):
    return f.ctx.env.timestamp


def number(f):
    return f.ctx.env.number


def difficulty(f):
    """0x44 before the merge: the block's proof-of-work difficulty."""
    return f.ctx.env.difficulty


def prevrandao(f):
    return int.from_bytes(f.ctx.env.prev_randao, "big")


def gaslimit(f):
    return f.ctx.env.gas_limit


def chainid(f):
    return f.ctx.env.chain_id


def basefee(f):
    return f.ctx.env.base_fee


def blobbasefee(f):
    """EIP-7516: the blob base fee (the block's override, if any, else from the excess blob gas)."""
    return f.ctx.env.blob_gas_price()
