"""Small helpers shared by the precompiles: word counting and padded reads."""

from __future__ import annotations


def words(length: int) -> int:
    """Number of 32-byte words needed to hold ``length`` bytes (rounded up)."""
    return (length + 31) // 32


# Precompile inputs shorter than what they declare are implicitly padded
# with zeros, as if calldata were infinite: the same read as CALLDATACOPY.
from hyperion.vm.memory import padded_slice  # noqa: E402,F401


def padded_int(data: bytes, start: int, length: int) -> int:
    """Big-endian integer read from a zero-padded slice of ``data``."""
    chunk = data[start : start + length]
    value = int.from_bytes(chunk, "big")
    missing = length - len(chunk)
    if missing > 0:
        value <<= 8 * missing
    return value
