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
