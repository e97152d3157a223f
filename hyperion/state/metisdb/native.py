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
from hyperion.state.account import Account as _Account
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

NodeCache = dict if _native is None else _native.NodeCache
"""The merger's parse cache (node id -> its split form in Python, its record in C)."""

NodeBatch = list if _native is None else _native.NodeBatch
"""Where a commit's merges put their new records: ``(id, record)`` pairs in id order."""

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


class PythonAccountRows:
    """A block's account-trie changes (the C ``AccountRows``' reference): rows of
    (hashed key, new leaf or b"" to delete, previous leaf, storage root id)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[tuple[bytes, bytes, bytes, bytes]] = []

    def extend(self, leaves) -> None:
        for row in leaves:
            if type(row) is not tuple or len(row) != 4 or not all(isinstance(field, bytes) for field in row):
                raise TypeError("each row must be a (key, leaf, previous, storage id) tuple of bytes")
            self.rows.append(row)

    def truncate(self, length: int) -> None:
        """Keep the first ``length`` rows added."""
        if not 0 <= length <= len(self.rows):
            raise ValueError(f"cannot truncate {len(self.rows)} rows to {length}")
        del self.rows[length:]

    def columns(self) -> tuple[tuple, tuple, tuple, tuple]:
        """(keys, leaves, previous leaves, storage ids), sorted by key (stable)."""
        if not self.rows:
            return (), (), (), ()
        return tuple(zip(*sorted(self.rows, key=lambda row: row[0])))  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.rows)


AccountRows = PythonAccountRows if _native is None else _native.AccountRows
"""A block's account-trie changes, merged by ``TrieMerger.update_rows``."""


def python_plain_rows(accounts: dict, loaded: dict, rows, account_puts: list, code_puts: list,
                      cached: dict) -> tuple[bytes, list]:
    """The commit's common case in one pass: of a pending state's accounts (a plain dict
    view) those loaded from the snapshot without storage (an empty plain storage dict,
    an empty storage root) and still the same object get their trie row in ``rows``,
    ``(address, flat record)`` in ``account_puts``, ``(code_hash, code)`` in
    ``code_puts`` when they have code, and their record in ``cached`` when nonce,
    balance or code hash changed (unchanged ones are skipped); returns their packed
    changeset entries and every other ``(address, account)`` pair, for the general
    path. ``python_plain_changes`` then ``python_account_rows``, restricted to what the
    compiled encoder covers (exact ints: nonce < 2**64, balance < 2**256)."""
    plain = []
    others = []
    for address, account in dict.items(accounts):
        base = loaded.get(address)
        if (base is not None and base[0] is account and type(address) is bytes and len(address) == 20
                and isinstance(account, _Account)):
            storage = account.storage
            record = base[1]
            code_hash = account.code_hash
            if (type(storage) is dict and not storage and record[2] == _EMPTY_TRIE_ROOT
                    and type(code_hash) is bytes and len(code_hash) == 32
                    and type(record[3]) is bytes and len(record[3]) == 32):
                if (account.balance == record[1] and account.nonce == record[0] and code_hash == record[3]):
                    continue
                if (_in_range(account.nonce, 64) and _in_range(account.balance, 256)
                        and _in_range(record[0], 64) and _in_range(record[1], 256)):
                    plain.append((address, (account.nonce, account.balance, code_hash), account.code, False,
                                  _NO_SLOTS, record[2], record))
                    continue
        others.append((address, account))
    leaves: list = []
    changeset, rest = python_account_rows(plain, None, leaves, account_puts, code_puts, cached)
    rows.extend(leaves)
    return changeset, others


def _in_range(value, bits: int) -> bool:
    return type(value) is int and 0 <= value < 1 << bits


_NO_SLOTS: dict = {}

plain_rows = python_plain_rows if _native is None else _native.plain_rows



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

bind_layout = None if _native is None else _native.bind_layout
"""Tell the compiled pending-state paths where the classes' ``__slots__`` are (``pending.py``)."""

pending_methods = None if _native is None else _native.pending_methods
"""``PendingState`` methods implemented in C (``pending.py`` keeps the Python references)."""


def python_add_versions(versions: dict, block: int, writes: list) -> None:
    """``FlatOverlay.add``'s loop: each ``(address, flat record or None)`` becomes the
    newest version ``(block, flat record, previous version or None)`` of its address."""
    get = versions.get
    for address, flat in writes:
        versions[address] = (block, flat, get(address))


add_versions = python_add_versions if _native is None else _native.add_versions


def python_presized_dict(size: int) -> dict:
    """An empty dict (Python cannot size one in advance; the compiled one can)."""
    if size < 0:
        raise ValueError("size must be >= 0")
    return {}


presized_dict = python_presized_dict if _native is None else _native.presized_dict
"""An empty dict that takes ``size`` entries without resizing (a resize of a big one
costs milliseconds, in the middle of a commit)."""


class _Missing(Exception):
    pass


def python_verify_tries(fetch, roots, hashes: dict) -> tuple[int, int]:
    """Check every node reachable from each ``(root hash, root id)`` of ``roots``
    (storage tries below account leaves included): it is stored (else it counts as
    missing), well formed, and hashes to what its parent, the root hash or its
    account's storage root names (else bad); a root's walk stops at its first
    problem. ``hashes`` (id -> hash) collects the nodes reached, so that a node met
    again from another root is compared by its recorded hash, not read again: every
    node is read and hashed once. Returns (missing, bad)."""
    from hyperion.primitives import rlp as _rlp
    from hyperion.state.metisdb.errors import CorruptDatabase
    from hyperion.state.metisdb.nodelog import ID_SIZE, Node, is_hash_item

    missing = bad = 0
    for root_hash, root_id in roots:
        stack: list = []

        def visit(record_id: bytes, expected: bytes, account: bool) -> None:
            if not record_id:
                raise CorruptDatabase("a hashed trie reference has no node id")
            known = hashes.get(record_id)
            if known is not None:
                if known != expected:
                    raise CorruptDatabase("a node does not match its parent's hash")
                return
            try:
                record = fetch(record_id)
            except KeyError:
                raise _Missing from None
            node = Node(bytes(record))
            if _python_keccak256(node.rlp) != expected:
                raise CorruptDatabase("a node does not match its parent's hash")
            hashes[record_id] = expected
            stack.append((node, account))

        try:
            if len(root_id) != ID_SIZE:
                raise CorruptDatabase("a root id is not a node id")
            visit(root_id, root_hash, True)
            while stack:
                node, account = stack.pop()
                items = node.items[:16] if node.kind == "B" else node.items[1:] if node.kind == "E" else []
                for item, child_id in zip(items, node.ids):
                    if is_hash_item(item):
                        visit(child_id, item[1:], account)
                if node.kind == "L" and account and node.value_id:
                    try:
                        fields = _rlp.decode(node.value)
                    except _rlp.RLPError:
                        raise CorruptDatabase("an account leaf does not decode") from None
                    if (not isinstance(fields, list) or len(fields) != 4 or not isinstance(fields[2], bytes)
                            or len(fields[2]) != 32):
                        raise CorruptDatabase("an account leaf does not name a storage root")
                    visit(node.value_id, fields[2], False)
        except _Missing:
            missing += 1
        except CorruptDatabase:
            bad += 1
    return missing, bad


verify_tries = python_verify_tries if _native is None else _native.verify_tries

NodeHashes = dict if _native is None else _native.NodeHashes
"""What ``verify_tries`` collects: node id -> checked hash."""


def python_flush_rows(versions: dict) -> tuple[list, list]:
    """What a flat overlay flush writes: ``(address, newest flat record)`` pairs sorted by
    address, and the sorted addresses whose newest version is a deletion."""
    puts = []
    deletes = []
    for address, entry in versions.items():
        flat = entry[1]
        if flat is None:
            deletes.append(address)
        else:
            puts.append((address, flat))
    puts.sort(key=lambda pair: pair[0])
    deletes.sort()
    return puts, deletes


flush_rows = python_flush_rows if _native is None else _native.flush_rows
