"""Logs bloom and receipt encoding, against vectors derived by hand from the Yellow Paper."""

from __future__ import annotations

import pytest

from hyperion.primitives import rlp
from hyperion.primitives.bloom import (
    EMPTY_BLOOM,
    InvalidBloom,
    bloom_contains,
    combine_blooms,
    logs_bloom,
)
from hyperion.primitives.logs import Log
from hyperion.primitives.receipts import Receipt, ReceiptDecodeError, decode_receipt

ADDRESS = bytes.fromhex("0f572e5295c57f15886f9b263e2f6d2d6c7b5ec6")
TOPIC = bytes(31) + b"\x01"
LOG = Log(ADDRESS, (TOPIC,), b"\xca\xfe")


def _hand_computed_bloom() -> bytes:
    """Bloom of LOG, worked out from the definition.

    keccak(ADDRESS) starts bd2b 01af cd27 -> bits 0x52b & 2047 = 1323, 0x1af = 431, 0x527 = 1319.
    keccak(TOPIC)   starts b10e 2d52 7612 -> bits 270, 0x552 = 1362, 0x612 = 1554.
    Bit i lives in byte 255 - i // 8 under mask 1 << (i % 8).
    """
    bloom = bytearray(256)
    bloom[255 - 1323 // 8] |= 1 << (1323 % 8)  # byte 90, 0x08
    bloom[255 - 431 // 8] |= 1 << (431 % 8)  # byte 202, 0x80
    bloom[255 - 1319 // 8] |= 1 << (1319 % 8)  # byte 91, 0x80
    bloom[255 - 270 // 8] |= 1 << (270 % 8)  # byte 222, 0x40
    bloom[255 - 1362 // 8] |= 1 << (1362 % 8)  # byte 85, 0x04
    bloom[255 - 1554 // 8] |= 1 << (1554 % 8)  # byte 61, 0x04
    return bytes(bloom)


def test_bloom_known_vector():
    expected = _hand_computed_bloom()
    assert {i: b for i, b in enumerate(expected) if b} == {61: 0x04, 85: 0x04, 90: 0x08, 91: 0x80, 202: 0x80, 222: 0x40}
    assert logs_bloom([LOG]) == expected


def test_bloom_ignores_data_and_is_order_independent():
    other = Log(bytes(20), (), b"")
    assert logs_bloom([Log(ADDRESS, (TOPIC,), b"other data")]) == logs_bloom([LOG])
    assert logs_bloom([LOG, other]) == logs_bloom([other, LOG])
    assert logs_bloom([LOG, other]) == combine_blooms([logs_bloom([LOG]), logs_bloom([other])])


def test_empty_bloom():
    assert logs_bloom([]) == EMPTY_BLOOM == bytes(256)
    assert combine_blooms([]) == EMPTY_BLOOM


def test_bloom_contains():
    bloom = logs_bloom([LOG])
    assert bloom_contains(bloom, ADDRESS)
    assert bloom_contains(bloom, TOPIC)
    assert not bloom_contains(bloom, bytes(20))
    assert not bloom_contains(EMPTY_BLOOM, ADDRESS)
    with pytest.raises(InvalidBloom):
        bloom_contains(bloom[:255], ADDRESS)


# --------------------------------------------------------------------------
# Receipts
# --------------------------------------------------------------------------


def test_receipt_encoding_known_vector():
    """[status=1, gas=21000, 256-byte zero bloom, no logs]: payload is 264 bytes, so an f9 0108 header."""
    expected_payload = bytes.fromhex("f90108" "01" "825208" "b90100") + bytes(256) + b"\xc0"
    legacy = Receipt(tx_type=0, status=True, cumulative_gas_used=21000, logs=())
    assert legacy.encode() == expected_payload
    assert Receipt(2, True, 21000, ()).encode() == b"\x02" + expected_payload
    failed = Receipt(0, False, 21000, ()).encode()
    assert failed == bytes.fromhex("f90108" "80" "825208" "b90100") + bytes(256) + b"\xc0"


def test_receipt_with_logs_roundtrip():
    receipt = Receipt(3, True, 123456, (LOG, Log(bytes(20), (), b"")))
    assert receipt.bloom == logs_bloom(receipt.logs)
    raw = receipt.encode()
    assert raw[0] == 3
    fields = rlp.decode(raw[1:])
    assert fields[2] == receipt.bloom
    assert fields[3][0] == [ADDRESS, [TOPIC], b"\xca\xfe"]
    assert decode_receipt(raw) == receipt
    for tx_type in (0, 1, 2, 4):
        same = Receipt(tx_type, False, 7, (LOG,))
        assert decode_receipt(same.encode()) == same


def _payload(status=b"\x01", gas=21000, bloom=EMPTY_BLOOM, logs=()) -> list:
    return [status, gas, bloom, list(logs)]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x80", id="not-a-list"),
        pytest.param(b"\x05" + rlp.encode(_payload()), id="unknown-type"),
        pytest.param(b"\x00" + rlp.encode(_payload()), id="type-0-envelope"),
        pytest.param(rlp.encode(_payload()[:3]), id="three-fields"),
        pytest.param(rlp.encode(_payload(status=b"\x02")), id="bad-status"),
        pytest.param(rlp.encode(_payload(status=bytes(31))), id="short-state-root"),
        pytest.param(rlp.encode(_payload(gas=b"\x00\x01")), id="gas-leading-zero"),
        pytest.param(rlp.encode(_payload(bloom=bytes(255))), id="short-bloom"),
        pytest.param(rlp.encode(_payload(bloom=b"\x01" + bytes(255))), id="bloom-mismatch"),
        pytest.param(rlp.encode(_payload(logs=[[ADDRESS, [], b""]])), id="bloom-missing-log"),
        pytest.param(rlp.encode(_payload(logs=[[ADDRESS[:19], [], b""]])), id="short-log-address"),
        pytest.param(rlp.encode(_payload(logs=[[ADDRESS, [bytes(31)], b""]])), id="short-topic"),
        pytest.param(rlp.encode(_payload(logs=[[ADDRESS, [TOPIC] * 5, b""]])), id="five-topics"),
        pytest.param(rlp.encode(_payload(logs=[[ADDRESS, []]])), id="log-two-fields"),
        pytest.param(rlp.encode(_payload(logs=[[ADDRESS, [], [b""]]])), id="log-data-list"),
    ],
)
def test_malformed_receipts(raw):
    with pytest.raises(ReceiptDecodeError):
        decode_receipt(raw)


def test_pre_byzantium_receipt_carries_the_state_root():
    root = bytes(range(32))
    receipt = Receipt(0, True, 21000, (), post_state=root)
    encoded = receipt.encode()
    assert encoded == rlp.encode([root, 21000, bytes(256), []])
    decoded = decode_receipt(encoded)
    assert decoded.post_state == root and decoded.cumulative_gas_used == 21000


def test_pre_byzantium_receipt_record_round_trip():
    from hyperion.chain.store import ReceiptRecord

    record = ReceiptRecord(0, 1, 21000, 21000, 10, None, [], post_state=b"\x07" * 32)
    again = ReceiptRecord.from_rlp(rlp.decode(rlp.encode(record.to_rlp())))
    assert again.post_state == b"\x07" * 32
    assert again.consensus_receipt().encode() == Receipt(0, True, 21000, (), post_state=b"\x07" * 32).encode()
    plain = ReceiptRecord(2, 1, 21000, 21000, 10, None, [])
    assert len(plain.to_rlp()) == 9 and ReceiptRecord.from_rlp(rlp.decode(rlp.encode(plain.to_rlp()))).post_state is None
