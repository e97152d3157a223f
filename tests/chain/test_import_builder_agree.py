"""The node's block builder and block import agree.

Fifty blocks are built with ``BlockBuilder`` (transfers of every fee type,
a contract deployment and calls that write storage and emit logs, blob
transactions, withdrawals); their RLP is then imported into a fresh chain
through ``Chain.import_block`` (which runs ``importer.import_block``), and
every block must be accepted with the same hash, state root and receipts.
"""

from __future__ import annotations

import pytest

from hyperion.chain.blocks import Withdrawal
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.chain import Chain
from hyperion.chain.consensus import block_rules
from hyperion.chain.genesis import ChainConfig, write_alloc
from hyperion.chain.importer import InvalidBlock
from hyperion.primitives.transactions import (
    AccessListTransaction,
    BlobTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
)
from hyperion.state.memorydb import MemoryStateDatabase

CHAIN_ID = 4711
BLOCKS = 50
# Stores calldata[0:32] at slot NUMBER and logs the calldata with the caller as topic.
RUNTIME = bytes.fromhex("600035435536600060003733366000a100")
INITCODE = bytes.fromhex("6011") + b"\x80" + bytes.fromhex("600b600039600" + "0f3") + RUNTIME
GWEI = 10**9
RECIPIENT = bytes.fromhex("00000000000000000000000000000000000000aa")


def _config(base_fee_recipient=None) -> ChainConfig:
    return ChainConfig(chain_id=CHAIN_ID, dev_account_count=4, genesis_timestamp=1_700_000_000,
                       base_fee_recipient=base_fee_recipient, automine=False)


def _build_chain(config: ChainConfig) -> list[bytes]:
    """Build BLOCKS blocks with the builder on a bare database; their RLP."""
    db = MemoryStateDatabase()
    genesis = config.genesis_spec()
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

    for number in range(1, BLOCKS + 1):
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
            hashes_of_blobs = tuple(b"\x01" + bytes([number, i]) * 15 + b"\x00" for i in range(1 + number % 3))
            txs.append(BlobTransaction(CHAIN_ID, next_nonce(3), GWEI, 2 * fee + GWEI, 50_000, RECIPIENT, 0, b"",
                                       (), 10**10, hashes_of_blobs).signed(keys[3]))
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
    assert contract is not None
    return raws


@pytest.mark.parametrize("fee_recipient", [None, bytes.fromhex("00000000000000000000000000000000000fee01")],
                         ids=["burn", "fee-vault"])
def test_fifty_built_blocks_import_with_identical_roots(fee_recipient):
    config = _config(fee_recipient)
    raws = _build_chain(config)
    chain = Chain(_config(fee_recipient), MemoryStateDatabase())
    try:
        kinds = set()
        for raw in raws:
            imported = chain.import_block(raw)
            assert imported.encode() == raw
            assert chain.head().hash == imported.hash
            with chain.state_at("latest") as reader:
                assert reader.state_root == imported.header.state_root
            kinds.update(tx.type for tx in imported.transactions)
            if imported.withdrawals:
                kinds.add("withdrawals")
        assert chain.head().number == BLOCKS
        assert kinds == {0, 1, 2, 3, "withdrawals"}
        receipts = chain.receipts(chain.head())
        assert receipts and all(r.status == 1 for r in receipts)
        blob_block = chain.block_by_number(10)
        assert blob_block.header.blob_gas_used > 0
    finally:
        chain.close()


def test_a_tampered_block_is_rejected_and_the_chain_stays_put():
    config = _config()
    raws = _build_chain(config)[:3]
    chain = Chain(_config(), MemoryStateDatabase())
    try:
        chain.import_block(raws[0])
        from hyperion.chain.blocks import decode_block

        good = decode_block(raws[1])
        bad_header = type(good.header)(**{**{f: getattr(good.header, f) for f in (
            "parent_hash", "ommers_hash", "coinbase", "state_root", "transactions_root", "receipts_root",
            "logs_bloom", "difficulty", "number", "gas_limit", "gas_used", "timestamp", "extra_data",
            "prev_randao", "nonce", "base_fee", "withdrawals_root", "blob_gas_used", "excess_blob_gas",
            "parent_beacon_block_root", "requests_hash")}, "state_root": b"\x11" * 32})
        tampered = type(good)(bad_header, good.transactions, good.withdrawals, good.ommers)
        with pytest.raises(InvalidBlock) as excinfo:
            chain.import_block(tampered.encode())
        assert excinfo.value.rule == "INVALID_STATE_ROOT" and "state root" in str(excinfo.value)
        assert chain.head().number == 1
        with pytest.raises(InvalidBlock) as excinfo:
            chain.import_block(raws[2])  # its parent was never imported
        assert excinfo.value.rule == "UNKNOWN_PARENT"
        with pytest.raises(InvalidBlock) as excinfo:
            chain.import_block(raws[1][:-3])
        assert excinfo.value.rule == "RLP_STRUCTURES_ENCODING"
        assert chain.import_block(raws[1]).hash == good.hash
        assert chain.import_block(raws[0]).number == 1  # an already imported block is accepted again
        assert chain.head().number == 2
    finally:
        chain.close()
