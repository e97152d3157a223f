"""The node's block builder and block import agree.

Fifty blocks are built with ``BlockBuilder`` (transfers of every fee type,
a contract deployment and calls that write storage and emit logs, blob
transactions, withdrawals); their RLP is then imported into a fresh chain
through ``Chain.import_block`` (which runs ``importer.import_block``), and
every block must be accepted with the same hash, state root and receipts.
"""

from __future__ import annotations

import pytest

from hyperion.chain.blocks import decode_block
from hyperion.chain.chain import Chain
from hyperion.chain.importer import InvalidBlock
from hyperion.state.memorydb import MemoryStateDatabase

from .block_factory import build_chain, dev_config

BLOCKS = 50


@pytest.mark.parametrize("fee_recipient", [None, bytes.fromhex("00000000000000000000000000000000000fee01")],
                         ids=["burn", "fee-vault"])
def test_fifty_built_blocks_import_with_identical_roots(fee_recipient):
    raws = build_chain(dev_config(fee_recipient), BLOCKS)
    chain = Chain(dev_config(fee_recipient), MemoryStateDatabase())
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
    raws = build_chain(dev_config(), 3)
    chain = Chain(dev_config(), MemoryStateDatabase())
    try:
        chain.import_block(raws[0])
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
