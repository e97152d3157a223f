"""Trie node stores over LMDB transactions, and reference counting for pruning.

``HexaryTrie`` takes any mutable mapping ``hash -> rlp`` as its node store:

- ``SnapshotNodes``: read-only view of a read transaction (historical reads, proofs);
- ``OverlayNodes``: reads through a snapshot, keeps new nodes in a dict (a pending
  state's ``state_root()`` without touching the database);
- ``WriteNodes``: the commit's write transaction. In pruning mode it counts references.

Pruning (retained window, not archive): every stored node has a reference count =
number of stored parent nodes naming it by hash (an account-trie leaf names its
storage root) + number of retained blocks whose state root it is. A node is new
when its hash is not stored yet; storing it adds one reference to each node it
names (an existing node's references were counted when it was first stored).
Dropping a block removes one reference from its root; a node reaching zero is
deleted and releases its own references, recursively. Counts change in a dict
during a commit and reach LMDB once per node at the end.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Iterator, MutableMapping, Optional

from hyperion.state.metisdb.codec import is_leaf_node, node_references
from hyperion.trie.codec import EMPTY_TRIE_ROOT


_KEY = itemgetter(0)


class ReadOnlyNodes(Exception):
    """Internal: a read-only node store was written to."""


class SnapshotNodes(MutableMapping):
    """Nodes as of a read transaction; read-only."""

    __slots__ = ("_get",)

    def __init__(self, txn, nodes_db) -> None:
        get = txn.get

        def fetch(key: bytes) -> Optional[bytes]:
            return get(key, db=nodes_db)

        self._get = fetch

    def __getitem__(self, key: bytes) -> bytes:
        value = self._get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        raise ReadOnlyNodes("snapshot node store is read-only")

    def __delitem__(self, key: bytes) -> None:
        raise ReadOnlyNodes("snapshot node store is read-only")

    def __iter__(self) -> Iterator[bytes]:
        raise ReadOnlyNodes("snapshot node store cannot be iterated")

    def __len__(self) -> int:
        raise ReadOnlyNodes("snapshot node store has no length")


class OverlayNodes(SnapshotNodes):
    """Snapshot nodes plus an in-memory dict for nodes created on top of it."""

    __slots__ = ("_new",)

    def __init__(self, txn, nodes_db) -> None:
        super().__init__(txn, nodes_db)
        self._new: dict[bytes, bytes] = {}

    def __getitem__(self, key: bytes) -> bytes:
        value = self._new.get(key)
        if value is None:
            value = self._get(key)
            if value is None:
                raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._new[key] = value


class WriteNodes(MutableMapping):
    """Node store of a commit's write transaction; counts references when pruning.

    New nodes collect in ``buffer`` (shared by the commit's stores) and reach LMDB
    in one sorted ``putmulti`` (``flush``): random single puts into a large
    B+tree cost several times more. One instance per trie kind (``account_trie``
    decides whether leaf values are accounts naming a storage root). The
    transaction can be rebound so a cached account trie survives commits.
    """

    __slots__ = ("txn", "_nodes_db", "_account_trie", "deltas", "buffer")

    def __init__(self, txn, nodes_db, account_trie: bool, deltas: Optional[dict[bytes, int]],
                 buffer: Optional[dict[bytes, bytes]] = None) -> None:
        self.txn = txn
        self._nodes_db = nodes_db
        self._account_trie = account_trie
        self.deltas = deltas
        self.buffer: dict[bytes, bytes] = {} if buffer is None else buffer

    def __getitem__(self, key: bytes) -> bytes:
        value = self.buffer.get(key)
        if value is None:
            value = self.txn.get(key, db=self._nodes_db)
            if value is None:
                raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        deltas = self.deltas
        buffer = self.buffer
        if deltas is None:  # archive: content addressed, a duplicate is identical and skipped
            buffer[key] = value
            return
        if key in buffer or self.txn.get(key, db=self._nodes_db) is not None:
            return  # already stored: its references were counted when it was first stored
        buffer[key] = value
        for child in node_references(value, self._account_trie):
            deltas[child] = deltas.get(child, 0) + 1

    def flush(self) -> None:
        """Write the buffered nodes, sorted, in one call."""
        if self.buffer:
            # Sorting by the key alone: hashes are distinct, so whole-tuple comparison
            # would only add an equality test per step.
            self.txn.cursor(db=self._nodes_db).putmulti(sorted(self.buffer.items(), key=_KEY),
                                                        overwrite=False)
            self.buffer.clear()

    def __delitem__(self, key: bytes) -> None:
        raise ReadOnlyNodes("trie nodes are removed by pruning only")

    def __iter__(self) -> Iterator[bytes]:
        raise ReadOnlyNodes("node store cannot be iterated")

    def __len__(self) -> int:
        raise ReadOnlyNodes("node store has no length")


def add_root_reference(deltas: dict[bytes, int], root: bytes, amount: int) -> None:
    """A block starts (+1) or stops (-1) using ``root`` as its state root."""
    if root != EMPTY_TRIE_ROOT:
        deltas[root] = deltas.get(root, 0) + amount


def apply_reference_deltas(txn, nodes_db, refs_db, deltas: dict[bytes, int]) -> int:
    """Write count changes; delete nodes that reach zero, cascading. Returns nodes deleted.

    All deltas are applied before any cascade, so a subtree shared by a new
    root and a dropped one is never deleted in between.
    """
    zeros: list[tuple[bytes, bool]] = []  # (hash, belongs to the account trie)
    for node_hash, delta in deltas.items():
        if delta and _change_count(txn, refs_db, node_hash, delta):
            zeros.append((node_hash, True))  # only block roots can lose references here
    deleted = 0
    while zeros:
        node_hash, account_trie = zeros.pop()
        encoded = txn.get(node_hash, db=nodes_db)
        if encoded is None:
            continue
        txn.delete(node_hash, db=nodes_db)
        deleted += 1
        # Below an account-trie leaf is its storage trie.
        child_kind = account_trie and not is_leaf_node(encoded)
        for child in node_references(encoded, account_trie):
            if _change_count(txn, refs_db, child, -1):
                zeros.append((child, child_kind))
    return deleted


def _change_count(txn, refs_db, node_hash: bytes, delta: int) -> bool:
    """Add ``delta`` to a node's count; True when it dropped to zero (entry removed)."""
    stored = txn.get(node_hash, db=refs_db)
    count = (0 if stored is None else int.from_bytes(stored, "big")) + delta
    if count > 0:
        txn.put(node_hash, count.to_bytes(4, "big"), db=refs_db)
        return False
    if stored is not None:
        txn.delete(node_hash, db=refs_db)
    return True
