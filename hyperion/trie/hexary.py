"""An updatable hexary Merkle-Patricia trie over an injectable node store.

The trie keeps the nodes it has touched as small mutable Python objects.
A write changes nodes in place along one path and clears their cached
reference; ``root_hash()`` then re-encodes and re-hashes only nodes whose
reference is cleared (the dirty paths), writes each hashed node into the
store as ``store[keccak(rlp)] = rlp`` and caches the new references.
Untouched subtrees stay as bare 32-byte hashes and are loaded lazily.

The store is any mutable mapping ``bytes32 -> bytes`` (a ``dict`` in
memory, an LMDB-backed mapping later). Stale nodes are never removed from it:
it is content addressed and older roots may still use them.
"""

from __future__ import annotations

from typing import Iterator, MutableMapping

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.trie.codec import (
    EMPTY_TRIE_ROOT,
    HASH_REFERENCE_PREFIX,
    BadTrieNode,
    MissingTrieNode,
    TrieError,
    encode_list,
    encode_string,
)
from hyperion.trie.nibbles import (
    InvalidNibbles,
    bytes_to_nibbles,
    common_prefix_length,
    decode_hex_prefix,
    encode_hex_prefix,
    nibbles_to_bytes,
)
from hyperion.trie.proof import walk_encoded_path

_SINGLE_NIBBLE = [bytes((n,)) for n in range(16)]


class _Leaf:
    """Terminal node: the rest of the key path and the value."""

    __slots__ = ("path", "value", "ref")

    def __init__(self, path: bytes, value: bytes, ref: bytes | None = None) -> None:
        self.path = path
        self.value = value
        self.ref = ref  # how the parent embeds this node; None while dirty


class _Extension:
    """Shared path segment leading to a single (branch) child."""

    __slots__ = ("path", "child", "ref")

    def __init__(self, path: bytes, child, ref: bytes | None = None) -> None:
        self.path = path
        self.child = child
        self.ref = ref


class _Branch:
    """Sixteen children (None, a 32-byte hash not loaded yet, or a node) plus a value."""

    __slots__ = ("children", "value", "ref")

    def __init__(self, children: list, value: bytes = b"", ref: bytes | None = None) -> None:
        self.children = children
        self.value = value
        self.ref = ref


_UNCHANGED = object()  # returned by _delete when the key was not present


def _node_from_items(items: list, ref: bytes):
    """Build a node object from a decoded RLP node (``ref`` is its reference in the parent)."""
    if len(items) == 17:
        value = items[16]
        if not isinstance(value, bytes):
            raise BadTrieNode("branch value must be a string")
        return _Branch([_child_from_item(item) for item in items[:16]], value, ref)
    if len(items) == 2:
        encoded_path, second = items
        if not isinstance(encoded_path, bytes):
            raise BadTrieNode("node path must be a string")
        try:
            path, is_leaf = decode_hex_prefix(encoded_path)
        except InvalidNibbles as exc:
            raise BadTrieNode(str(exc)) from None
        if is_leaf:
            if not isinstance(second, bytes):
                raise BadTrieNode("leaf value must be a string")
            return _Leaf(path, second, ref)
        child = _child_from_item(second)
        if child is None:
            raise BadTrieNode("extension node without a child")
        return _Extension(path, child, ref)
    raise BadTrieNode(f"trie node must have 2 or 17 items, not {len(items)}")


def _child_from_item(item):
    if isinstance(item, list):
        return _node_from_items(item, rlp.encode(item))
    if item == b"":
        return None
    if len(item) == 32:
        return item
    raise BadTrieNode(f"child reference of {len(item)} bytes is neither a hash nor a node")


def _is_outside(subtree_path: bytes, bound: bytes, descending: bool) -> bool:
    """True if every key under ``subtree_path`` lies before ``bound`` in the walking order."""
    bound_prefix = bound[: len(subtree_path)]
    return subtree_path > bound_prefix if descending else subtree_path < bound_prefix


class HexaryTrie:
    """Updatable Merkle-Patricia trie with lazy loading and dirty-path rehashing.

    Keys and values are bytes; setting an empty value deletes the key and
    ``get`` returns ``b""`` for an absent key (Ethereum tries cannot tell the two
    apart). Keys are used as given: hash them first for a "secure" trie.
    """

    __slots__ = ("_db", "_root")

    def __init__(
        self,
        db: MutableMapping[bytes, bytes] | None = None,
        root_hash: bytes = EMPTY_TRIE_ROOT,
    ) -> None:
        self._db = {} if db is None else db
        if not isinstance(root_hash, bytes) or len(root_hash) != 32:
            raise TrieError("root hash must be 32 bytes")
        self._root = None if root_hash == EMPTY_TRIE_ROOT else root_hash

    @property
    def db(self) -> MutableMapping[bytes, bytes]:
        """The node store (``keccak(rlp) -> rlp``); ``root_hash()`` flushes pending nodes to it."""
        return self._db

    # -- loading ------------------------------------------------------------
    def _load(self, node_hash: bytes):
        try:
            encoded = self._db[node_hash]
        except KeyError:
            raise MissingTrieNode(f"trie node {node_hash.hex()} is not in the store") from None
        try:
            items = rlp.decode(encoded)
        except rlp.RLPError as exc:
            raise BadTrieNode(f"stored node {node_hash.hex()} is not valid RLP: {exc}") from None
        if not isinstance(items, list):
            raise BadTrieNode(f"stored node {node_hash.hex()} is not an RLP list")
        return _node_from_items(items, HASH_REFERENCE_PREFIX + node_hash)

    # -- reads ----------------------------------------------------------------
    def get(self, key: bytes) -> bytes:
        """Value stored at ``key``, or ``b""`` if absent."""
        if not isinstance(key, bytes):
            raise TrieError("trie keys must be bytes")
        path = bytes_to_nibbles(key)
        position = 0
        node = self._root
        while node is not None:
            if type(node) is bytes:
                node = self._load(node)  # read without caching, to keep memory flat
            kind = type(node)
            if kind is _Branch:
                if position == len(path):
                    return node.value
                node = node.children[path[position]]
                position += 1
            elif kind is _Leaf:
                return node.value if path[position:] == node.path else b""
            else:
                end = position + len(node.path)
                if path[position:end] != node.path:
                    return b""
                position = end
                node = node.child
        return b""

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if not value:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and bool(self.get(key))

    # -- writes ---------------------------------------------------------------
    def set(self, key: bytes, value: bytes) -> None:
        """Store ``value`` at ``key``; an empty value deletes the key."""
        if not isinstance(key, bytes) or not isinstance(value, bytes):
            raise TrieError("trie keys and values must be bytes")
        if not value:
            self.delete(key)
            return
        self._root = self._set(self._root, bytes_to_nibbles(key), 0, value)

    __setitem__ = set

    def delete(self, key: bytes) -> None:
        """Remove ``key`` (a no-op if absent)."""
        if not isinstance(key, bytes):
            raise TrieError("trie keys must be bytes")
        result = self._delete(self._root, bytes_to_nibbles(key), 0)
        if result is not _UNCHANGED:
            self._root = result

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        self.delete(key)

    def _set(self, node, path: bytes, position: int, value: bytes):
        if node is None:
            return _Leaf(path[position:], value)
        if type(node) is bytes:
            node = self._load(node)
        kind = type(node)
        if kind is _Branch:
            if position == len(path):
                node.value = value
            else:
                nibble = path[position]
                node.children[nibble] = self._set(node.children[nibble], path, position + 1, value)
            node.ref = None
            return node
        rest = path[position:]
        shared = common_prefix_length(node.path, rest)
        if kind is _Leaf:
            if shared == len(rest) == len(node.path):
                node.value = value
                node.ref = None
                return node
            branch = _Branch([None] * 16)
            old_rest = node.path[shared:]
            if old_rest:
                node.path = old_rest[1:]
                node.ref = None
                branch.children[old_rest[0]] = node
            else:
                branch.value = node.value
        else:  # extension
            if shared == len(node.path):
                node.child = self._set(node.child, path, position + shared, value)
                node.ref = None
                return node
            branch = _Branch([None] * 16)
            old_path = node.path
            if len(old_path) == shared + 1:
                branch.children[old_path[shared]] = node.child
            else:
                branch.children[old_path[shared]] = _Extension(old_path[shared + 1 :], node.child)
        new_rest = rest[shared:]
        if new_rest:
            branch.children[new_rest[0]] = _Leaf(new_rest[1:], value)
        else:
            branch.value = value
        if shared:
            return _Extension(rest[:shared], branch)
        return branch

    def _delete(self, node, path: bytes, position: int):
        if node is None:
            return _UNCHANGED
        if type(node) is bytes:
            node = self._load(node)
        kind = type(node)
        if kind is _Leaf:
            return None if path[position:] == node.path else _UNCHANGED
        if kind is _Extension:
            end = position + len(node.path)
            if path[position:end] != node.path:
                return _UNCHANGED
            child = self._delete(node.child, path, end)
            if child is _UNCHANGED:
                return _UNCHANGED
            return self._prepend_path(node.path, child)
        if position == len(path):
            if not node.value:
                return _UNCHANGED
            node.value = b""
        else:
            nibble = path[position]
            child = self._delete(node.children[nibble], path, position + 1)
            if child is _UNCHANGED:
                return _UNCHANGED
            node.children[nibble] = child
        node.ref = None
        return self._collapse_branch(node)

    def _prepend_path(self, prefix: bytes, child):
        """The node replacing an extension ``prefix`` whose child became ``child``."""
        if child is None:
            return None
        if type(child) is bytes:
            child = self._load(child)
        kind = type(child)
        if kind is _Leaf:
            return _Leaf(prefix + child.path, child.value)
        if kind is _Extension:
            return _Extension(prefix + child.path, child.child)
        return _Extension(prefix, child)

    def _collapse_branch(self, branch: _Branch):
        """A branch left with a single entry becomes a leaf or extension."""
        only = -1
        for nibble, child in enumerate(branch.children):
            if child is not None:
                if only >= 0 or branch.value:
                    return branch
                only = nibble
        if only < 0:
            return _Leaf(b"", branch.value) if branch.value else None
        return self._prepend_path(_SINGLE_NIBBLE[only], branch.children[only])

    # -- hashing ----------------------------------------------------------------
    def _commit(self, node) -> bytes:
        """Reference of ``node`` in its parent, re-encoding dirty nodes and storing hashed ones."""
        if type(node) is bytes:
            return HASH_REFERENCE_PREFIX + node
        ref = node.ref
        if ref is not None:
            return ref
        kind = type(node)
        if kind is _Leaf:
            encoded = encode_list(
                encode_string(encode_hex_prefix(node.path, True)) + encode_string(node.value)
            )
        elif kind is _Extension:
            encoded = encode_list(
                encode_string(encode_hex_prefix(node.path, False)) + self._commit(node.child)
            )
        else:
            commit = self._commit
            payload = b"".join([b"\x80" if c is None else commit(c) for c in node.children])
            encoded = encode_list(payload + encode_string(node.value))
        if len(encoded) < 32:
            ref = encoded
        else:
            node_hash = keccak256(encoded)
            self._db[node_hash] = encoded
            ref = HASH_REFERENCE_PREFIX + node_hash
        node.ref = ref
        return ref

    def root_hash(self) -> bytes:
        """Root hash, rehashing only what changed since the last call; stores new nodes."""
        root = self._root
        if root is None:
            return EMPTY_TRIE_ROOT
        if type(root) is bytes:
            return root
        ref = self._commit(root)
        if len(ref) == 33:
            return ref[1:]
        # The root is always hashed and stored, even when it is small enough to embed.
        node_hash = keccak256(ref)
        self._db[node_hash] = ref
        return node_hash

    # -- proofs -----------------------------------------------------------------
    def get_proof(self, key: bytes) -> list[bytes]:
        """EIP-1186 proof for ``key`` (present or absent): hash-referenced RLP nodes, root first."""
        if not isinstance(key, bytes):
            raise TrieError("trie keys must be bytes")
        root = self.root_hash()

        def fetch(node_hash: bytes) -> bytes:
            try:
                return self._db[node_hash]
            except KeyError:
                raise MissingTrieNode(f"trie node {node_hash.hex()} is not in the store") from None

        _, proof = walk_encoded_path(root, key, fetch)
        return proof

    # -- ordered iteration ----------------------------------------------------
    def _walk_ordered(self, node, prefix: bytes, bound: bytes | None, descending: bool):
        """Yield ``(nibble_path, value)`` in order, skipping subtrees wholly before ``bound``."""
        if node is None:
            return
        if type(node) is bytes:
            node = self._load(node)
        kind = type(node)
        if kind is _Leaf:
            yield prefix + node.path, node.value
            return
        if kind is _Extension:
            path = prefix + node.path
            if bound is None or not _is_outside(path, bound, descending):
                yield from self._walk_ordered(node.child, path, bound, descending)
            return
        if node.value and not descending:
            yield prefix, node.value
        children = node.children
        for nibble in range(15, -1, -1) if descending else range(16):
            child = children[nibble]
            if child is None:
                continue
            path = prefix + _SINGLE_NIBBLE[nibble]
            if bound is None or not _is_outside(path, bound, descending):
                yield from self._walk_ordered(child, path, bound, descending)
        if node.value and descending:
            yield prefix, node.value

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """All ``(key, value)`` pairs in ascending key order."""
        for path, value in self._walk_ordered(self._root, b"", None, False):
            yield nibbles_to_bytes(path), value

    def next_key(self, key: bytes) -> bytes | None:
        """Smallest key strictly greater than ``key``, or ``None``."""
        bound = bytes_to_nibbles(key)
        for path, _ in self._walk_ordered(self._root, b"", bound, False):
            if path > bound:
                return nibbles_to_bytes(path)
        return None

    def prev_key(self, key: bytes) -> bytes | None:
        """Largest key strictly smaller than ``key``, or ``None``."""
        bound = bytes_to_nibbles(key)
        for path, _ in self._walk_ordered(self._root, b"", bound, True):
            if path < bound:
                return nibbles_to_bytes(path)
        return None
