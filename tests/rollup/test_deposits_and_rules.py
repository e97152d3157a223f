"""Deposits from Portal logs, the L1-attributes deposit, and the batch queue's rules."""

from __future__ import annotations

from eth_abi import encode as abi_encode

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.channel import BlockBatch
from hyperion.rollup.config import L1BlockId, RollupConfig
from hyperion.rollup.deposits import (
    DEPOSITOR_ACCOUNT,
    L1_BLOCK_ADDRESS,
    TRANSACTION_DEPOSITED,
    L1Info,
    apply_alias,
    l1_info_deposit,
    parse_l1_info,
    user_deposits,
)
from hyperion.rollup.derivation import attributes, check_entry
from hyperion.rollup.engine import L2Ref
from hyperion.rollup.l1client import L1Block

PORTAL = b"\x50" * 20
BLOCK_HASH = b"\xbb" * 32
FROM = b"\x0a" * 20
TO = b"\x0b" * 20


def _log(index: int, opaque: bytes, version: int = 0, address: bytes = PORTAL, to: bytes = TO) -> dict:
    return {"address": address, "logIndex": index, "blockHash": BLOCK_HASH, "data": abi_encode(["bytes"], [opaque]),
            "topics": [TRANSACTION_DEPOSITED, bytes(12) + FROM, bytes(12) + to, version.to_bytes(32, "big")]}


def _opaque(mint: int, value: int, gas: int, creation: bool, data: bytes) -> bytes:
    return mint.to_bytes(32, "big") + value.to_bytes(32, "big") + gas.to_bytes(8, "big") + bytes([creation]) + data


def test_user_deposits_follow_the_op_layout_and_source_hashes():
    logs = [_log(3, _opaque(5, 2, 100_000, False, b"\xca\xfe")), _log(1, _opaque(0, 0, 50_000, True, b"\x60")),
            _log(2, _opaque(1, 1, 1, False, b""), address=b"\x99" * 20)]
    deposits = user_deposits(logs, PORTAL, BLOCK_HASH)
    assert [d.gas for d in deposits] == [50_000, 100_000]  # log order, other contracts ignored
    creation, call = deposits
    assert creation.to is None and creation.data == b"\x60" and creation.from_address == FROM
    assert (call.mint, call.value, call.to, call.data) == (5, 2, TO, b"\xca\xfe")
    expected = keccak256(bytes(32) + keccak256(BLOCK_HASH + (3).to_bytes(32, "big")))
    assert call.source_hash == expected


def test_malformed_deposit_logs_are_skipped():
    logs = [_log(0, b"\x00" * 10), _log(1, _opaque(0, 0, 21000, False, b""), version=1),
            _log(2, _opaque(0, 0, 21000, False, b"")[:72] + b"\x02"), _log(3, _opaque(7, 0, 21000, False, b""))]
    deposits = user_deposits(logs, PORTAL, BLOCK_HASH)
    assert [d.mint for d in deposits] == [7]


def test_aliasing_wraps_around():
    assert apply_alias(b"\x00" * 20) == bytes.fromhex("1111000000000000000000000000000000001111")
    assert apply_alias(b"\xff" * 20) == bytes.fromhex("1111000000000000000000000000000000001110")


def test_the_l1_info_deposit_round_trips():
    info = L1Info(12, 1_700_000_000, 7, b"\x42" * 32, 3, bytes(12) + b"\x07" * 20, 1)
    tx = l1_info_deposit(info)
    assert tx.from_address == DEPOSITOR_ACCOUNT and tx.to == L1_BLOCK_ADDRESS and tx.gas == 1_000_000
    assert tx.mint == 0 and not tx.is_system_tx
    assert parse_l1_info(tx) == info
    assert tx.source_hash == keccak256((1).to_bytes(32, "big") + keccak256(info.hash + (3).to_bytes(32, "big")))


CONFIG = RollupConfig(
    l2_genesis={"config": {"chainId": 901}, "fork": "Prague", "timestamp": "0x64", "gasLimit": "0x1c9c380", "alloc": {}},
    genesis_l1=L1BlockId(10, b"\x10" * 32), l1_chain_id=31337, portal=PORTAL, batch_inbox=b"\x51" * 20,
    output_oracle=b"\x52" * 20, batcher=b"\x53" * 20, proposer=b"\x54" * 20, block_time=2, seq_window_size=10,
    max_sequencer_drift=30)


def _l1(number: int, timestamp: int) -> L1Block:
    return L1Block(number, bytes([number]) * 32, bytes([number - 1]) * 32, timestamp, 7, b"\x01" * 32, None, 0)


def _parent(number: int, origin: int) -> L2Ref:
    return L2Ref(number, b"\xaa" * 32, CONFIG.timestamp_of(number),
                 L1Info(origin, 0, 0, bytes([origin]) * 32, 0, bytes(32), 0))


def _entry(origin: int, txs: tuple = ()) -> BlockBatch:
    return BlockBatch(origin, txs, bytes(32), bytes(32), 0, bytes(256))


def test_check_entry_rules():
    parent = _parent(5, origin=10)           # next block: number 6, timestamp 100 + 12 = 112
    inclusion = _l1(15, 200)
    assert check_entry(CONFIG, parent, _entry(10), inclusion, _l1(10, 100), _l1(11, 111)) is None
    assert check_entry(CONFIG, parent, _entry(11), inclusion, _l1(11, 111), _l1(12, 130)) is None
    assert "neither" in check_entry(CONFIG, parent, _entry(12), inclusion, _l1(12, 100), None)
    assert "not older" in check_entry(CONFIG, parent, _entry(11), _l1(11, 200), _l1(11, 111), None)
    assert "window" in check_entry(CONFIG, parent, _entry(10), _l1(21, 300), _l1(10, 100), None)
    assert "before its L1 origin" in check_entry(CONFIG, parent, _entry(11), inclusion, _l1(11, 113), None)
    far = _parent(5, origin=10)
    assert "past its L1 origin" in check_entry(CONFIG, far, _entry(10, ("tx",)), inclusion, _l1(10, 50), None)
    assert check_entry(CONFIG, far, _entry(10), inclusion, _l1(10, 50), _l1(11, 120)) is None
    assert "adopt" in check_entry(CONFIG, far, _entry(10), inclusion, _l1(10, 50), _l1(11, 110))


def test_attributes_add_deposits_only_when_the_epoch_starts():
    parent = _parent(5, origin=10)
    same = attributes(CONFIG, parent, _l1(10, 100), ["deposit"])
    assert same.number == 6 and same.timestamp == 112 and len(same.deposits) == 1
    assert parse_l1_info(same.deposits[0]).sequence_number == 1
    new = attributes(CONFIG, parent, _l1(11, 111), ["deposit"])
    assert new.deposits[1:] == ("deposit",) and parse_l1_info(new.deposits[0]).sequence_number == 0
    assert new.prev_randao == b"\x01" * 32 and new.beacon_root == bytes(32)
