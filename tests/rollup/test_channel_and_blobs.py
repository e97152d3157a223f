"""The batch format (channels), its compression bounds, and the blob packing."""

from __future__ import annotations

import brotli
import pytest

from hyperion.primitives import rlp
from hyperion.primitives.transactions import DepositTransaction, FeeMarketTransaction
from hyperion.rollup.blobs import (
    BLOB_CAPACITY,
    BLOB_SIZE,
    MalformedBlobs,
    blob_versioned_hash,
    blobs_needed,
    decode_blobs,
    encode_blobs,
    max_blob_payload,
)
from hyperion.rollup.batcher import calldata_is_cheaper
from hyperion.rollup.l1.blobs import make_sidecar
from hyperion.rollup.channel import (
    MAX_CHANNEL_BYTES,
    BlockBatch,
    Channel,
    MalformedChannel,
    decode_channel,
    encode_channel,
)

KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")


def _tx(nonce: int) -> FeeMarketTransaction:
    return FeeMarketTransaction(901, nonce, 10**9, 2 * 10**9, 21000, b"\x22" * 20, 10**15, b"").signed(KEY)


def _channel(blocks: int = 3, txs: int = 2) -> Channel:
    entries = tuple(
        BlockBatch(100 + n // 2, tuple(_tx(n * txs + i) for i in range(txs)), bytes([n]) * 32, bytes([n + 1]) * 32,
                   21000 * txs, bytes(256), None if n % 2 else bytes([n + 2]) * 32)
        for n in range(blocks))
    return Channel(7, b"\x33" * 32, b"\x44" * 20, entries)


def test_a_channel_round_trips_and_compresses():
    channel = _channel(blocks=50, txs=4)
    data = encode_channel(channel)
    assert data[:2] == b"\x00\x01"
    assert decode_channel(data) == channel
    assert len(data) < len(rlp.encode(channel.to_rlp())) / 2
    assert channel.last_number == 56


@pytest.mark.parametrize("data, message", [
    (b"", "shorter"),
    (b"\x01\x01" + brotli.compress(b"x"), "derivation version"),
    (b"\x00\x02" + brotli.compress(b"x"), "compression"),
    (b"\x00\x01not brotli at all", "brotli"),
    (b"\x00\x01" + brotli.compress(rlp.encode([1, 2]))[:-3], "brotli"),
    (b"\x00\x01" + brotli.compress(b"\xc3\x80\x80\x80"), "list"),
    (b"\x00\x01" + brotli.compress(rlp.encode([0, b"\x33" * 32, b"\x44" * 20, [[1, [], b"\0" * 32, b"\0" * 32, 0,
                                                                                  bytes(256), b""]]])), "genesis"),
    (b"\x00\x01" + brotli.compress(rlp.encode([1, b"\x33" * 32, b"\x44" * 20, []])), "no blocks"),
    (b"\x00\x01" + brotli.compress(rlp.encode([1, b"\x33" * 31, b"\x44" * 20, [[1, [], b"\0" * 32, b"\0" * 32, 0,
                                                                                  bytes(256), b""]]])), "parent hash"),
    (b"\x00\x01" + brotli.compress(rlp.encode([1, b"\x33" * 32, b"\x44" * 20, [[1, [b"\x02\xc0"], b"\0" * 32,
                                                                                  b"\0" * 32, 0, bytes(256), b""]]])),
     "tx 0"),
    (b"\x00\x01" + brotli.compress(rlp.encode([1, b"\x33" * 32, b"\x44" * 20, [[1, [], b"\0" * 32, b"\0" * 32, 0,
                                                                                  bytes(256)]]])), "7 fields"),
    (b"\x00\x01" + brotli.compress(rlp.encode([1, b"\x33" * 32, b"\x44" * 20, [[1, [], b"\0" * 32, b"\0" * 32, 0,
                                                                                  bytes(256), b"\1" * 31]]])),
     "requests hash"),
])
def test_malformed_channels_are_refused(data, message):
    with pytest.raises(MalformedChannel, match=message):
        decode_channel(data)


def test_a_batch_cannot_carry_a_deposit():
    deposit = DepositTransaction(b"\x01" * 32, b"\x02" * 20, b"\x03" * 20, 10**18, 0, 100_000, False, b"")
    payload = rlp.encode([1, b"\x33" * 32, b"\x44" * 20, [[1, [deposit.encode()], b"\0" * 32, b"\0" * 32, 0,
                                                          bytes(256), b""]]])
    with pytest.raises(MalformedChannel, match="deposits come from L1"):
        decode_channel(b"\x00\x01" + brotli.compress(payload))


def test_decompression_is_bounded():
    bomb = brotli.compress(b"\x00" * (MAX_CHANNEL_BYTES + 10), quality=11)
    assert len(bomb) < 1000
    with pytest.raises(MalformedChannel, match="more than"):
        decode_channel(b"\x00\x01" + bomb)


@pytest.mark.parametrize("size", [0, 1, 31, BLOB_CAPACITY - 4, BLOB_CAPACITY - 3, 3 * BLOB_CAPACITY])
def test_blob_packing_round_trips(size):
    data = bytes((i * 7 + 3) % 256 for i in range(size))
    blobs = encode_blobs(data)
    assert len(blobs) == blobs_needed(size) and all(len(b) == BLOB_SIZE for b in blobs)
    assert all(b[i * 32] == 0 for b in blobs for i in range(4096))
    assert decode_blobs(blobs) == data


def test_blob_packing_limits_and_strictness():
    with pytest.raises(ValueError, match="blobs"):
        encode_blobs(bytes(max_blob_payload() + 1))
    blob = bytearray(encode_blobs(b"hello")[0])
    tampered = bytearray(blob)
    tampered[32 * 100] = 1
    with pytest.raises(MalformedBlobs, match="high byte"):
        decode_blobs([bytes(tampered)])
    tampered = bytearray(blob)
    tampered[32 * 200 + 5] = 9
    with pytest.raises(MalformedBlobs, match="non-zero"):
        decode_blobs([bytes(tampered)])
    tampered = bytearray(blob)
    tampered[1:5] = (10**6).to_bytes(4, "big")
    with pytest.raises(MalformedBlobs, match="declared length"):
        decode_blobs([bytes(tampered)])
    with pytest.raises(MalformedBlobs, match="packed into"):
        decode_blobs([bytes(blob), bytes(BLOB_SIZE)])


def test_versioned_hashes_match_the_sidecar():
    blobs = encode_blobs(b"batch data" * 1000)
    hashes = make_sidecar(blobs).versioned_hashes
    assert blob_versioned_hash(blobs[0]) == hashes[0] and hashes[0][0] == 1
    with pytest.raises(MalformedBlobs, match="valid blob"):
        blob_versioned_hash(b"\xff" * BLOB_SIZE)


from hypothesis import given, settings, strategies as st  # noqa: E402

_VALID = encode_channel(_channel(blocks=2, txs=1))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=len(_VALID) - 1), st.integers(0, 255))
def test_decoding_arbitrary_or_mutated_data_only_ever_refuses(junk, position, byte):
    for data in (junk, b"\x00\x01" + junk, _VALID[:position] + bytes([byte]) + _VALID[position + 1:]):
        try:
            decode_channel(data)
        except MalformedChannel:
            pass


def test_data_availability_auto_posts_blobs_unless_calldata_is_cheaper():
    """``--data-availability auto``: blobs by default, calldata when blobs are dearer at the L1's fees."""
    batch = encode_channel(_channel(blocks=10, txs=4))
    gwei = 10**9
    assert not calldata_is_cheaper(batch, 10 * gwei, gwei, 1)            # blob gas at its 1-wei floor: blobs
    assert calldata_is_cheaper(batch, 10 * gwei, gwei, 1000 * gwei)     # congested blob market: calldata
    assert calldata_is_cheaper(b"\x00\x01" + bytes(10), 10 * gwei, gwei, 2 * gwei)  # a tiny batch: calldata
