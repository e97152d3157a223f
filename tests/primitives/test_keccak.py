"""Keccak-256: the C one-shot hasher against two independent implementations."""

from __future__ import annotations

import random

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from sha3 import keccak_256 as pysha3_keccak

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256


def _references(data: bytes) -> set[bytes]:
    return {pycryptodome_keccak.new(digest_bits=256, data=data).digest(), pysha3_keccak(data).digest()}


def test_known_digests() -> None:
    assert EMPTY_KECCAK.hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


def test_every_length_around_the_rate_matches_the_references() -> None:
    rng = random.Random(17)
    for length in [*range(0, 300), 407, 408, 409, 1000, 4096, 100_000]:
        data = rng.randbytes(length)
        assert _references(data) == {keccak256(data)}, length


def test_any_bytes_like_input() -> None:
    data = bytes(range(200))
    expected = keccak256(data)
    assert keccak256(bytearray(data)) == expected
    assert keccak256(memoryview(data)) == expected
    assert keccak256(memoryview(b"xx" + data)[2:]) == expected
    memory = bytearray(data)
    assert keccak256(memory[64:128]) == keccak256(data[64:128])  # the KECCAK256 opcode's slice
    with pytest.raises(TypeError):
        keccak256("text")


def test_the_c_extension_is_what_keccak256_is_when_built() -> None:
    native = pytest.importorskip("hyperion.primitives._keccak")
    assert keccak256 is native.keccak256
