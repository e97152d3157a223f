"""Keccak-256 (the pre-standard SHA-3 variant Ethereum uses), in C.

safe-pysha3's ``keccak_256`` is a thin C type, several times cheaper per
call than pycryptodome's wrapper (measured: ~8x on 64-byte inputs), and
hashing is on every hot path (trie, addresses, KECCAK256). pycryptodome
stays as the fallback where safe-pysha3 cannot be installed.
"""

try:
    from sha3 import keccak_256 as _keccak_256

    def keccak256(data: bytes) -> bytes:
        """Return the 32-byte Keccak-256 digest of ``data``."""
        return _keccak_256(data).digest()

except ImportError:  # pragma: no cover - exercised only without safe-pysha3
    from Crypto.Hash import keccak as _keccak

    _new = _keccak.new

    def keccak256(data: bytes) -> bytes:
        """Return the 32-byte Keccak-256 digest of ``data``."""
        return _new(digest_bits=256, data=data).digest()


EMPTY_KECCAK = keccak256(b"")
