"""Keccak-256 (the pre-standard SHA-3 variant Ethereum uses), via pycryptodome's C core."""

from Crypto.Hash import keccak as _keccak

_new = _keccak.new


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data``."""
    return _new(digest_bits=256, data=data).digest()


EMPTY_KECCAK = keccak256(b"")
