"""Chains built with the node's block builder, for import tests: every transaction type, a contract, blobs,
withdrawals. ``genesis_document`` is a geth-format genesis of the same chain, for ``hyperion init``."""

from __future__ import annotations

from hyperion.chain.blocks import Withdrawal
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.consensus import block_rules
from hyperion.chain.genesis import ChainConfig, Genesis, write_alloc
from hyperion.primitives.transactions import (
    AccessListTransaction,
    BlobTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
)
from hyperion.state.memorydb import MemoryStateDatabase

CHAIN_ID = 4711
GWEI = 10**9
RECIPIENT = bytes.fromhex("00000000000000000000000000000000000000aa")
# Stores calldata[0:32] at slot NUMBER and logs the calldata with the caller as topic.
RUNTIME = bytes.fromhex("600035435536600060003733366000a100")
INITCODE = bytes.fromhex("601180600b6000396000f3") + RUNTIME


def dev_config(base_fee_recipient=None) -> ChainConfig:
    """A Prague dev chain with four funded accounts and a fixed genesis time."""
    return ChainConfig(chain_id=CHAIN_ID, dev_account_count=4, genesis_timestamp=1_700_000_000,
                       base_fee_recipient=base_fee_recipient, automine=False)


def genesis_document(config: ChainConfig) -> dict:
    """The geth-format genesis file of ``config``'s dev genesis (Prague from genesis, all in geth's keys)."""
    return config.genesis_spec().to_dict()


def build_chain(config: ChainConfig, count: int, genesis: Genesis | None = None) -> list[bytes]:
    """``count`` blocks built with ``BlockBuilder`` on ``config``'s genesis; their RLP."""
    db = MemoryStateDatabase()
    genesis = genesis or config.genesis_spec()
    pending = db.pending()
    write_alloc(pending, genesis.alloc)
    parent = genesis.block(pending.state_root())
    db.commit(pending, 0)
    spec = config.chain_spec()
    keys = [key for _address, key in config.dev_accounts()]
    nonces = [0] * len(keys)
    contract = None
    withdrawal_index = 0
    hashes = {0: parent.hash}
    raws = []

    def next_nonce(i: int) -> int:
        nonces[i] += 1
        return nonces[i] - 1

    for number in range(1, count + 1):
        timestamp = parent.header.timestamp + 12
        rules = block_rules(spec.schedule, number, timestamp, merged=True)
        state = db.pending(parent.number)
        builder = BlockBuilder(state, parent.header, rules=rules, chain_id=CHAIN_ID, timestamp=timestamp,
                               coinbase=bytes([number % 7 + 1]) * 20, block_hash=hashes.get,
                               beacon_root=number.to_bytes(32, "big"), base_fee_recipient=spec.base_fee_recipient)
        fee = builder.env.base_fee
        txs = [
            LegacyTransaction(next_nonce(0), fee + GWEI, 21_000, RECIPIENT, number, b"").signed(keys[0], CHAIN_ID),
            FeeMarketTransaction(CHAIN_ID, next_nonce(1), GWEI, 2 * fee + GWEI, 30_000,
                                 bytes([number]) * 20, 10**15, b"").signed(keys[1]),
        ]
        if number == 1:
            txs.append(FeeMarketTransaction(CHAIN_ID, next_nonce(2), GWEI, 2 * fee + GWEI, 200_000, None, 0,
                                            INITCODE).signed(keys[2]))
        elif contract is not None:
            data = (number * 1000).to_bytes(32, "big")
            txs.append(AccessListTransaction(CHAIN_ID, next_nonce(2), fee + GWEI, 100_000, contract, 0, data,
                                             ((contract, (number.to_bytes(32, "big"),)),)).signed(keys[2]))
        if number % 5 == 0:
            blob_hashes = tuple(b"\x01" + bytes([number, i]) * 15 + b"\x00" for i in range(1 + number % 3))
            txs.append(BlobTransaction(CHAIN_ID, next_nonce(3), GWEI, 2 * fee + GWEI, 50_000, RECIPIENT, 0, b"",
                                       (), 10**10, blob_hashes).signed(keys[3]))
        for tx in txs:
            record = builder.add(tx)
            if tx.to is None:
                contract = record.contract_address
        withdrawals = []
        if number % 3 == 0:
            for i in range(2):
                withdrawals.append(Withdrawal(withdrawal_index, 1000 + i, bytes([0x50 + i]) * 20, number * 10**6))
                withdrawal_index += 1
        block = builder.finish(withdrawals)
        db.commit(state, number)
        hashes[number] = block.hash
        raws.append(block.encode())
        parent = block
    return raws
