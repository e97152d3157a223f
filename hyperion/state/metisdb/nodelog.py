"""MetisDB's trie nodes: an append-only log of records addressed by node id.

Why not key nodes by hash (as a plain Merkle-Patricia store would)? Hashes
are random, so every block's new nodes land all over the B+tree and LMDB's
copy-on-write rewrites almost every page of the table at each commit: the
write cost grows with the size of the state, not with the size of the block.
Here each new node gets the next id of a counter (8 bytes, big-endian), so a
block's nodes are appended at the end of the table: the pages written are
the new nodes themselves.

A parent still names its children by hash (that is what the RLP says and
what the root commits to), and its record also lists its children's ids, so
every read walks down from a root id without any hash index:

    record = rlp + id of each hashed child, in order (8 bytes each) + count (1 byte)

"Children" are the hashed references of a branch (nibble order) or of an
extension, and for an account-trie leaf the root of its storage trie.
Embedded children (under 32 bytes) are inside the RLP and have no id.

Ids are never reused (the counter only grows, even across a rollback), so a
record read by id never goes stale: caches keyed by id need no invalidation.
Nodes of a block are known to live from the block that wrote them until the
block that replaced them (``stale`` lists), which is what pruning and rollback
use instead of reference counts.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

from hyperion.primitives.keccak import keccak256
from hyperion.state.metisdb.errors import CorruptDatabase
from hyperion.trie.nibbles import InvalidNibbles, bytes_to_nibbles, decode_hex_prefix

NO_ID = b""
"""The id of an empty trie or of an embedded node (it has no record)."""

ID_SIZE = 8
_COUNT_BYTES = [bytes((count,)) for count in range(17)]

Fetch = Callable[[bytes], bytes]
"""Reads a record by id; raises ``KeyError`` when it is not stored."""


def node_id(number: int) -> bytes:
    """The id (table key) of the ``number``-th node ever written."""
    return number.to_bytes(ID_SIZE, "big")


def make_record(rlp: bytes, child_ids: bytes, count: int) -> bytes:
    """A stored record from a node's RLP and its children's concatenated ids."""
    return rlp + child_ids + _COUNT_BYTES[count]


def split_record(record: bytes) -> tuple[bytes, list[bytes]]:
    """(rlp, child ids) of a stored record."""
    try:
        count = record[-1]
    except IndexError:
        raise CorruptDatabase("empty trie node record") from None
    cut = len(record) - 1 - ID_SIZE * count
    if count > 16 or cut < 1:
        raise CorruptDatabase("trie node record is truncated")
    return record[:cut], [record[position : position + ID_SIZE]
                          for position in range(cut, cut + ID_SIZE * count, ID_SIZE)]


def item_bounds(data: bytes, position: int) -> tuple[int, int, bool]:
    """(payload start, item end, is_list) of the RLP item at ``position``."""
    prefix = data[position]
    if prefix < 0x80:
        return position, position + 1, False
    if prefix < 0xB8:
        return position + 1, position + 1 + prefix - 0x80, False
    if prefix < 0xC0:
        size = prefix - 0xB7
        length = int.from_bytes(data[position + 1 : position + 1 + size], "big")
        return position + 1 + size, position + 1 + size + length, False
    if prefix < 0xF8:
        return position + 1, position + 1 + prefix - 0xC0, True
    size = prefix - 0xF7
    length = int.from_bytes(data[position + 1 : position + 1 + size], "big")
    return position + 1 + size, position + 1 + size + length, True


def node_items(rlp: bytes, error: type[Exception] = CorruptDatabase) -> list[bytes]:
    """The raw item encodings of a trie node (2 or 17 of them); ``error`` when malformed."""
    try:
        start, end, is_list = item_bounds(rlp, 0)
        if not is_list or end != len(rlp):
            raise error("trie node is not a single RLP list")
        items = []
        position = start
        while position < end:
            _, item_end, _ = item_bounds(rlp, position)
            items.append(rlp[position:item_end])
            position = item_end
    except IndexError:
        raise error("trie node is truncated") from None
    if position != end or len(items) not in (2, 17):
        raise error(f"trie node must have 2 or 17 items, not {len(items)}")
    return items


def is_hash_item(item: bytes) -> bool:
    return len(item) == 33 and item[0] == 0xA0


def item_payload(item: bytes) -> bytes:
    """Payload of an RLP string item."""
    start, end, is_list = item_bounds(item, 0)
    if is_list:
        raise CorruptDatabase("expected an RLP string in a trie node")
    return item[start:end]


def decode_path(item: bytes) -> tuple[bytes, bool]:
    try:
        return decode_hex_prefix(item_payload(item))
    except InvalidNibbles as exc:
        raise CorruptDatabase(f"bad trie node path: {exc}") from None


class Node:
    """A record read for walking: its RLP, kind, and children with their ids."""

    __slots__ = ("rlp", "kind", "items", "ids", "path", "value", "value_id")

    def __init__(self, record: bytes) -> None:
        self.rlp, child_ids = split_record(record)
        items = node_items(self.rlp)
        self.items = items
        ids = iter(child_ids)
        if len(items) == 17:
            self.kind = "B"
            self.ids = [next(ids, NO_ID) if is_hash_item(item) else NO_ID for item in items[:16]]
            self.path = b""
            self.value = item_payload(items[16])
            self.value_id = NO_ID
            return
        self.path, is_leaf = decode_path(items[0])
        if is_leaf:
            self.kind = "L"
            self.value = item_payload(items[1])
            self.value_id = next(ids, NO_ID)
            self.ids = []
        else:
            self.kind = "E"
            self.value = b""
            self.value_id = NO_ID
            self.ids = [next(ids, NO_ID) if is_hash_item(items[1]) else NO_ID]


def _embedded(item: bytes) -> Node:
    """A child embedded in its parent's RLP (no record, no id, no hashed children)."""
    return Node(item + _COUNT_BYTES[0])


def _child(fetch: Fetch, item: bytes, child_id: bytes) -> Optional[Node]:
    """The node a child item refers to (None for an empty slot); checks hashes."""
    if item == b"\x80":
        return None
    if not is_hash_item(item):
        return _embedded(item)
    node = load(fetch, child_id)
    if keccak256(node.rlp) != item[1:]:
        raise CorruptDatabase(f"trie node {child_id.hex()} does not match its parent's hash")
    return node


def load(fetch: Fetch, record_id: bytes) -> Node:
    """The node stored under ``record_id``."""
    if not record_id:
        raise CorruptDatabase("a hashed trie reference has no node id")
    try:
        return Node(fetch(record_id))
    except KeyError:
        raise CorruptDatabase(f"trie node {record_id.hex()} is not stored (pruned or damaged)") from None


def walk(fetch: Fetch, root_id: bytes, key: bytes) -> tuple[bytes, bytes, list[bytes]]:
    """Look ``key`` up in the trie at ``root_id``: (value or b"", the leaf's child id,
    the RLP of every node on the path, root first: an EIP-1186 proof)."""
    proof: list[bytes] = []
    if not root_id:
        return b"", NO_ID, proof
    path = bytes_to_nibbles(key)
    node: Optional[Node] = load(fetch, root_id)
    depth = 0
    while node is not None:
        if len(node.rlp) >= 32 or not proof:
            proof.append(node.rlp)
        kind = node.kind
        if kind == "L":
            if path[depth:] == node.path:
                return node.value, node.value_id, proof
            return b"", NO_ID, proof
        if kind == "E":
            end = depth + len(node.path)
            if path[depth:end] != node.path:
                return b"", NO_ID, proof
            depth = end
            node = _child(fetch, node.items[1], node.ids[0])
            continue
        if depth == len(path):
            return node.value, NO_ID, proof
        nibble = path[depth]
        depth += 1
        node = _child(fetch, node.items[nibble], node.ids[nibble])
    return b"", NO_ID, proof


def iterate(fetch: Fetch, root_id: bytes) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Every (nibble path, value, value id) of the trie at ``root_id``, in key order."""
    if not root_id:
        return
    stack: list[tuple[Node, bytes]] = [(load(fetch, root_id), b"")]
    while stack:
        node, prefix = stack.pop()
        if node.kind == "L":
            yield prefix + node.path, node.value, node.value_id
        elif node.kind == "E":
            child = _child(fetch, node.items[1], node.ids[0])
            if child is not None:
                stack.append((child, prefix + node.path))
        else:
            if node.value:
                yield prefix, node.value, NO_ID
            for nibble in range(15, -1, -1):
                child = _child(fetch, node.items[nibble], node.ids[nibble])
                if child is not None:
                    stack.append((child, prefix + bytes((nibble,))))


def subtree_ids(fetch: Fetch, root_id: bytes, account_trie: bool,
                seen: Optional[set[bytes]] = None) -> Iterator[bytes]:
    """Ids of every stored node reachable from ``root_id`` (storage tries included
    below account-trie leaves). Hashes are checked on the way (``CorruptDatabase``).
    Nodes in ``seen`` are skipped with everything below them (tries of successive
    blocks share most of their nodes), and every yielded id is added to it."""
    if not root_id or (seen is not None and root_id in seen):
        return
    stack = [(root_id, account_trie)]
    while stack:
        record_id, in_account_trie = stack.pop()
        if seen is not None:
            if record_id in seen:
                continue
            seen.add(record_id)
        yield record_id
        node = load(fetch, record_id)
        if node.kind == "L":
            if in_account_trie and node.value_id:
                stack.append((node.value_id, False))
            continue
        items = node.items if node.kind == "B" else [node.items[1]]
        for item, child_id in zip(items, node.ids):
            if is_hash_item(item):
                child = load(fetch, child_id)
                if keccak256(child.rlp) != item[1:]:
                    raise CorruptDatabase(f"trie node {child_id.hex()} does not match its parent's hash")
                stack.append((child_id, in_account_trie))
