"""The compiled commit-path accelerators when built, their pure-Python twins otherwise.

``_trie_native`` (C, built by ``pip install``) implements the commit-time trie
merge with results identical to ``batchtrie`` (the tests compare them call
for call); it is optional so that a machine without a C compiler still
installs and runs Hyperion, only slower. ``HYPERION_PURE_PYTHON=1`` forces
the Python versions (for comparisons and debugging).
"""

from __future__ import annotations

import os

from hyperion.primitives.keccak import keccak256 as _python_keccak256
from hyperion.state.account import encode_account as _python_encode_account
from hyperion.state.metisdb.batchtrie import BatchTrieUpdater as PythonTrieMerger
from hyperion.state.metisdb.codec import flat_record as _flat_record

_native = None
if os.environ.get("HYPERION_PURE_PYTHON", "") not in ("1", "true", "yes"):
    try:
        from hyperion.state.metisdb import _trie_native as _native
    except ImportError:  # not built (no compiler at install time)
        _native = None

COMPILED = _native is not None
"""Whether the C accelerators are in use."""

TrieMerger = PythonTrieMerger if _native is None else _native.BatchTrieUpdater
"""The commit-time trie merger class (``batchtrie.BatchTrieUpdater``'s interface)."""

keccak256 = _python_keccak256 if _native is None else _native.keccak256
"""Keccak-256 of bytes-like data (the C one-shot call, when built)."""

fast_encode_account = _python_encode_account if _native is None else _native.encode_account
"""``encode_account`` for nonces below 2**64, balances below 2**256 and 32-byte hashes:
raises ``ValueError`` outside that range (then call ``state.account.encode_account``)."""


def python_account_leaf(address: bytes, nonce: int, balance: int, storage_root: bytes,
                        code_hash: bytes) -> tuple[bytes, bytes, bytes]:
    """(keccak(address), trie leaf value, flat record) of an account."""
    leaf = _python_encode_account(nonce, balance, storage_root, code_hash)
    return _python_keccak256(address), leaf, _flat_record(leaf, storage_root, code_hash)


account_leaf = python_account_leaf if _native is None else _native.account_leaf
"""``python_account_leaf`` in one C call when built; the compiled one raises ``ValueError``
outside ``fast_encode_account``'s range (then call ``python_account_leaf``)."""
