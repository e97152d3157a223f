"""The compiled commit-path accelerators when built, their pure-Python twins otherwise.

``_trie_native`` (C, built by ``pip install``) implements the commit-time trie
merge with results identical to ``batchtrie``, and the per-account work of a
commit with results identical to the Python functions here and in
``pending`` (the tests compare them call for call). It is optional so that a
machine without a C compiler still installs and runs Hyperion, only slower.
``HYPERION_PURE_PYTHON=1`` forces the Python versions (for comparisons and
debugging).
"""

from __future__ import annotations

import os

from hyperion.primitives.keccak import keccak256 as _python_keccak256
from hyperion.state.account import encode_account as _python_encode_account
from hyperion.state.metisdb.batchtrie import BatchTrieUpdater as PythonTrieMerger
from hyperion.state.metisdb.codec import CHANGESET_ENTRY as _CHANGESET_ENTRY
from hyperion.state.metisdb.codec import flat_record as _flat_record
from hyperion.trie.codec import EMPTY_TRIE_ROOT as _EMPTY_TRIE_ROOT

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

def python_account_leaf(address: bytes, nonce: int, balance: int, storage_root: bytes,
                        code_hash: bytes) -> tuple[bytes, bytes, bytes]:
    """(keccak(address), trie leaf value, flat record) of an account."""
    leaf = _python_encode_account(nonce, balance, storage_root, code_hash)
    return _python_keccak256(address), leaf, _flat_record(leaf, storage_root, code_hash)


_ZERO_ID = bytes(8)


def python_account_rows(changes: list, storage_id_of, leaves: list, account_puts: list, code_puts: list,
                        cached: dict) -> tuple[bytes, list]:
    """The commit loop's common case: every change that is a balance, nonce or code change
    without storage work.

    For each such change appends ``(keccak(address), new leaf, old leaf or b"", storage
    root id or b"")`` to ``leaves``, ``(address, flat record)`` to ``account_puts``,
    ``(code_hash, code)`` to ``code_puts`` for an account with code, and the decoded
    record to ``cached``; returns the packed changeset entries of those changes (with
    the old flat record, as the accounts table held it) and the
    list of the other changes (storage work, deletion), which take the general path.
    ``storage_id_of(address)`` gives the storage root id of an account with storage.
    """
    parts = []
    rest = []
    pack_entry = _CHANGESET_ENTRY.pack
    empty_code = _python_keccak256(b"")
    for change in changes:
        address, record, code, wiped, slots, storage_root, base = change
        if record is None or slots or wiped or len(address) != 20:
            rest.append(change)
            continue
        nonce, balance, code_hash = record
        old = b"" if base is None else _python_encode_account(*base)
        key, leaf, flat = python_account_leaf(address, nonce, balance, storage_root, code_hash)
        storage_id = b"" if storage_root == _EMPTY_TRIE_ROOT else storage_id_of(address)
        leaves.append((key, leaf, old, storage_id))
        account_puts.append((address, flat))
        if code_hash != empty_code:
            code_puts.append((code_hash, code))
        cached[address] = (nonce, balance, storage_root, code_hash)
        old_flat = b"" if base is None else _flat_record(old, base[2], base[3])
        parts.append(pack_entry(address, storage_id or _ZERO_ID, len(old_flat), 0))
        parts.append(old_flat)
    return b"".join(parts), rest


account_rows = python_account_rows if _native is None else _native.account_rows
"""``python_account_rows`` in C when built. The compiled one sends a change outside its
encoder's range (nonce >= 2**64) to ``rest``, where the general path handles it."""


def python_sorted_columns(rows: list) -> tuple[tuple, tuple, tuple, tuple]:
    """(keys, new leaves, old leaves, storage ids) of account rows, sorted by key."""
    if not rows:
        return (), (), (), ()
    return tuple(zip(*sorted(rows, key=lambda row: row[0])))  # type: ignore[return-value]


sorted_columns = python_sorted_columns if _native is None else _native.sorted_columns


def python_plain_changes(accounts: dict, loaded: dict, no_slots: dict, change_type) -> tuple[list, list]:
    """``PendingState.changes``' common case: of the accounts (a plain dict view), those
    loaded from the snapshot, still the same object, with a plain empty storage map (no
    slot storage at all) become ``change_type`` changes when nonce, balance or code hash
    differ (unchanged ones are dropped); every other (address, account) pair is returned
    for the general path."""
    changes = []
    others = []
    for address, account in dict.items(accounts):
        base = loaded.get(address)
        if base is not None and base[0] is account:
            storage = account.storage
            if type(storage) is dict and not storage:
                record = base[1]
                if (account.balance != record[1] or account.nonce != record[0]
                        or account.code_hash != record[3]):
                    changes.append(change_type(address, (account.nonce, account.balance, account.code_hash),
                                               account.code, False, no_slots, record[2], record))
                continue
        others.append((address, account))
    return changes, others


plain_changes = python_plain_changes if _native is None else _native.plain_changes


load_account = None if _native is None else _native.load_account
"""``LazyAccounts._load`` in C when built (``pending.py`` keeps the Python reference)."""


def python_sort_by_key(rows: list) -> None:
    """Sort a list of tuples by their first item (bytes), in place."""
    rows.sort(key=lambda row: row[0])


sort_by_key = python_sort_by_key if _native is None else _native.sort_by_key
