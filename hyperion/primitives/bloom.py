"""The 2048-bit logs bloom filter of receipts and block headers (Yellow Paper M3:2048).

Each log contributes its address and every topic. For each such item,
three 11-bit indices are taken from the first six bytes of keccak(item)
and the matching bits are set; bit i lives in byte 255 - i // 8. The filter
is built as one Python int and converted to bytes once.
"""

from __future__ import annotations

from typing import Iterable

from hyperion.primitives.keccak import keccak256

BLOOM_BYTES = 256
EMPTY_BLOOM = bytes(BLOOM_BYTES)


class InvalidBloom(ValueError):
    """Raised when a value is not a 256-byte bloom filter."""


_BITS_CACHE: dict[bytes, int] = {}
_BITS_CACHE_SIZE = 16384  # addresses and event topics repeat from log to log


def _bloom_bits(item: bytes) -> int:
    """The three bits ``item`` sets, as an int bitmask."""
    bits = _BITS_CACHE.get(item)
    if bits is None:
        digest = keccak256(item)
        bits = (
            (1 << (((digest[0] << 8) | digest[1]) & 2047))
            | (1 << (((digest[2] << 8) | digest[3]) & 2047))
            | (1 << (((digest[4] << 8) | digest[5]) & 2047))
        )
        if len(_BITS_CACHE) >= _BITS_CACHE_SIZE:
            _BITS_CACHE.clear()
        _BITS_CACHE[bytes(item)] = bits
    return bits


def logs_bloom(logs: Iterable) -> bytes:
    """256-byte bloom of a sequence of logs (objects with ``address`` and ``topics``)."""
    bits = 0
    for log in logs:
        bits |= _bloom_bits(log.address)
        for topic in log.topics:
            bits |= _bloom_bits(topic)
    return bits.to_bytes(BLOOM_BYTES, "big") if bits else EMPTY_BLOOM


def combine_blooms(blooms: Iterable[bytes]) -> bytes:
    """Bitwise OR of blooms: a block header's bloom from its receipts' blooms."""
    bits = 0
    for bloom in blooms:
        bits |= int.from_bytes(bloom, "big")
    return bits.to_bytes(BLOOM_BYTES, "big")


def bloom_contains(bloom: bytes, item: bytes) -> bool:
    """True if ``item`` (an address or topic) may be in the set; false means definitely not."""
    if len(bloom) != BLOOM_BYTES:
        raise InvalidBloom(f"bloom must be {BLOOM_BYTES} bytes, got {len(bloom)}")
    mask = _bloom_bits(item)
    return int.from_bytes(bloom, "big") & mask == mask
