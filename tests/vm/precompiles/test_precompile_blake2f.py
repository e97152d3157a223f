"""BLAKE2F checked against hashlib's BLAKE2b, which runs the same F."""

import hashlib
import struct

import pytest

from hyperion.vm.precompiles import PrecompileError, blake2f


def _call(rounds: int, h, block: bytes, counter: int, final: bool) -> bytes:
    return (
        rounds.to_bytes(4, "big")
        + struct.pack("<8Q", *h)
        + block.ljust(128, b"\x00")
        + struct.pack("<2Q", counter & (2**64 - 1), counter >> 64)
        + bytes((1 if final else 0,))
    )


def _blake2b_512(message: bytes) -> bytes:
    """BLAKE2b-512 (no key) built from repeated precompile calls."""
    h = list(blake2f.IV)
    h[0] ^= 0x01010000 ^ 64
    blocks = [message[i : i + 128] for i in range(0, max(len(message), 1), 128)] or [b""]
    for index, block in enumerate(blocks):
        final = index == len(blocks) - 1
        counter = min(len(message), 128 * (index + 1))
        out = blake2f.run(_call(12, h, block, counter, final))
        h = struct.unpack("<8Q", out)
    return struct.pack("<8Q", *h)


def test_eip152_vector_5_is_blake2b_of_abc():
    h = list(blake2f.IV)
    h[0] ^= 0x01010000 ^ 64
    data = _call(12, h, b"abc", 3, True)
    assert blake2f.gas(data) == 12
    assert blake2f.run(data).hex() == (
        "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
    )


@pytest.mark.parametrize("length", [0, 1, 127, 128, 129, 300])
def test_matches_hashlib_across_blocks(length):
    message = bytes(range(256)) * 2
    message = message[:length]
    assert _blake2b_512(message) == hashlib.blake2b(message).digest()


def test_zero_rounds_and_non_final():
    h = list(blake2f.IV)
    data = _call(0, h, b"", 0, False)
    assert blake2f.gas(data) == 0
    # with no rounds, h' = h ^ v_low ^ v_high = h ^ h ^ (IV ^ t/f mixing)
    expected = struct.pack("<8Q", *(h[i] ^ h[i] ^ blake2f.IV[i] for i in range(8)))
    assert blake2f.run(data) == expected


def test_rejects_bad_length_and_flag():
    good = _call(1, blake2f.IV, b"", 0, True)
    with pytest.raises(PrecompileError):
        blake2f.run(good[:-1])
    with pytest.raises(PrecompileError):
        blake2f.run(good + b"\x00")
    with pytest.raises(PrecompileError):
        blake2f.run(good[:-1] + b"\x02")
    assert blake2f.gas(good[:-1]) == 0
