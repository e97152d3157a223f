"""Keccak-256 (the pre-standard SHA-3 variant Ethereum uses), in C.

``hyperion.primitives._keccak`` (built from csrc/keccak256.c, the same code as
MetisDB's hasher) hashes in one call: no hash object is made, and none is
copied to finalize, as safe-pysha3's ``keccak_256(data).digest()`` does; that
halves a 64-byte hash (a mapping slot, an address), and hashing is on every
hot path (KECCAK256, trie, addresses). safe-pysha3, then pycryptodome, serve
where the extension was not built (it is optional in pyproject.toml).
"""

try:
    from hyperion.primitives._keccak import keccak256  # keccak256(data) -> 32-byte digest
except ImportError:  # pragma: no cover - exercised only without the C extension
    try:
        from sha3 import keccak_256 as _keccak_256

        def keccak256(data: bytes) -> bytes:
            """Return the 32-byte Keccak-256 digest of ``data``."""
            return _keccak_256(data).digest()

    except ImportError:  # exercised only without safe-pysha3 either
        from Crypto.Hash import keccak as _keccak

        _new = _keccak.new

        def keccak256(data: bytes) -> bytes:
            """Return the 32-byte Keccak-256 digest of ``data``."""
            return _new(digest_bits=256, data=data).digest()


EMPTY_KECCAK = keccak256(b"")
