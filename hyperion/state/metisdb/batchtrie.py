"""Commit-time batch update of a stored trie: all of a block's key changes in one pass.

``HexaryTrie`` (the reference implementation, used for pending roots, reads
and proofs) applies keys one at a time through decoded node objects. At
commit MetisDB knows every changed key at once, so it merges the sorted
changes into the stored trie instead: each touched node is read, split into
its RLP items once, and written once; untouched children are carried over
as the raw reference bytes they already are. This is the same incremental
rule (only dirty paths are re-hashed) with less work per key and no decoded
trie kept in memory. Results are checked against ``HexaryTrie`` in tests.

Keys must all have the same length (hashed keys of the secure tries), so no
key ends at a branch; values are non-empty bytes, ``b""`` deletes.

Node forms while merging:
- loaded (from the store): ``("B", items17)`` (a tuple), ``("L", path, value)``, ``("E", path, child_item)``
  where ``items17``/``child_item`` are raw RLP item encodings as they appear in the parent;
- results: ``None``, ``("L", path, value)``, ``("E", path, child_ref)``, ``("R", ref)`` (a
  finished branch; ``ref`` is its hash reference or embedded encoding), and
  ``("P", path_item, value, path)``: a leaf whose value changed in place, with its
  RLP path item already built from the raw key (the hot case: one account updated).

Speed: a block touches a few nodes per changed key, so the per-node work is
kept to slicing and joining bytes: leaf paths are hex-prefix encoded straight
from the raw key bytes, RLP headers come from tables, and a child that the
parse cache knows to be a branch is not mistaken for (and hashed as) a leaf.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from hyperion.primitives.keccak import keccak256
from hyperion.state.metisdb.codec import _item_bounds
from hyperion.trie.codec import (
    EMPTY_TRIE_ROOT,
    LIST_HEADERS,
    STRING_HEADERS,
    BadTrieNode,
    MissingTrieNode,
    encode_list,
    encode_string,
)
from hyperion.trie.nibbles import (
    InvalidNibbles,
    bytes_to_nibbles,
    common_prefix_length,
    decode_hex_prefix,
    encode_hex_prefix,
)

_EMPTY_ITEM = b"\x80"
_NIBBLE = [bytes((n,)) for n in range(16)]
_TABLE_LIMIT = len(LIST_HEADERS)


def _leaf_path_item(key: bytes, position: int) -> bytes:
    """RLP item of the hex-prefix path of a leaf holding ``key`` from nibble ``position`` on."""
    half = position >> 1
    if position & 1:
        compact = bytes((0x30 | (key[half] & 0x0F),)) + key[half + 1 :]
    else:
        compact = b"\x20" + key[half:]
    length = len(compact)
    if length == 1:
        return compact  # 0x20 or 0x3_: a single byte below 0x80 is its own encoding
    if length < _TABLE_LIMIT:
        return STRING_HEADERS[length] + compact
    return encode_string(compact)


def _leaf_rlp(path_item: bytes, value: bytes) -> bytes:
    """RLP of a leaf from its encoded path item and its (raw) value."""
    length = len(value)
    if length == 1 and value[0] < 0x80:
        payload = path_item + value
    elif length < _TABLE_LIMIT:
        payload = path_item + STRING_HEADERS[length] + value
    else:
        payload = path_item + encode_string(value)
    if len(payload) < _TABLE_LIMIT:
        return LIST_HEADERS[len(payload)] + payload
    return encode_list(payload)


class _Unstored:
    """A node that exists only inside this merge (an extension split off a longer one)."""

    __slots__ = ("form",)

    def __init__(self, form: tuple) -> None:
        self.form = form


class BatchTrieUpdater:
    """Merges sorted changes into tries of one node store.

    ``fetch(hash) -> bytes`` reads a stored node (``KeyError`` if absent) and
    ``store(hash, rlp)`` writes a new one. ``parsed`` caches split branch and
    extension nodes by hash across calls (content addressed, so never stale).
    """

    __slots__ = ("_fetch", "_store", "_keys", "_paths", "_values", "_previous", "_deletes", "parsed",
                 "_parsed_limit")

    def __init__(self, fetch: Callable[[bytes], bytes], store: Callable[[bytes, bytes], None],
                 parsed_cache_size: int = 200_000) -> None:
        self._fetch = fetch
        self._store = store
        self._keys: list[bytes] = []
        self._paths: list[bytes] = []
        self._values: list[bytes] = []
        self._previous: Optional[list[bytes]] = None
        self._deletes = False
        self.parsed: dict[bytes, tuple] = {}
        self._parsed_limit = parsed_cache_size

    def rebind(self, fetch: Callable[[bytes], bytes], store: Callable[[bytes, bytes], None]) -> None:
        """Use another store (the next commit's transaction), keeping the parse cache."""
        self._fetch = fetch
        self._store = store

    # -- entry point ----------------------------------------------------------------------
    def update(self, root: bytes, changes: list[tuple[bytes, bytes]],
               previous: Optional[list[bytes]] = None) -> bytes:
        """New root after applying ``changes`` ((key, value) sorted by key, distinct keys).

        ``previous`` (optional, aligned with ``changes``) gives each key's value in the
        trie at ``root`` (b"" if absent or unknown): a key whose leaf can be recognised
        by its hash is then updated without reading the leaf back.
        """
        if not changes:
            return root
        return self.update_columns(root, [key for key, _ in changes], [value for _, value in changes],
                                   previous)

    def update_columns(self, root: bytes, keys: Sequence[bytes], values: Sequence[bytes],
                       previous: Optional[Sequence[bytes]] = None) -> bytes:
        """``update`` with the changes as parallel sequences (keys sorted and distinct)."""
        if not keys:
            return root
        self._keys = keys
        self._paths = [bytes_to_nibbles(key) for key in keys]
        self._values = values
        self._previous = previous
        self._deletes = not all(values)
        try:
            loaded = None if root == EMPTY_TRIE_ROOT else self._load_hash(root)
            result = self._update(loaded, 0, 0, len(keys))
        finally:
            self._keys = self._paths = self._values = []
            self._previous = None
        ref = self._finish(result)
        if ref == _EMPTY_ITEM:
            return EMPTY_TRIE_ROOT
        if len(ref) == 33 and ref[0] == 0xA0:
            return ref[1:]
        root_hash = keccak256(ref)  # the root is always stored by hash, even when small
        self._store(root_hash, ref)
        return root_hash

    # -- loading ----------------------------------------------------------------------------
    def _load_hash(self, node_hash: bytes) -> tuple:
        form = self.parsed.get(node_hash)
        if form is not None:
            return form
        try:
            encoded = self._fetch(node_hash)
        except KeyError:
            raise MissingTrieNode(f"trie node {node_hash.hex()} is not in the store") from None
        form = _parse(encoded)
        if form[0] != "L":
            parsed = self.parsed
            if len(parsed) >= self._parsed_limit:
                parsed.clear()
            parsed[node_hash] = form
        return form

    def _load_item(self, item) -> Optional[tuple]:
        """Loaded form of a child given as its raw item (or an unstored node)."""
        if type(item) is _Unstored:
            return item.form
        if item == _EMPTY_ITEM:
            return None
        if len(item) == 33 and item[0] == 0xA0:
            return self._load_hash(item[1:])
        return _parse(item)  # embedded node

    def _as_result(self, item) -> Optional[tuple]:
        """Result form of an untouched child (needed when its parent collapses)."""
        if type(item) is _Unstored:
            _, path, child = item.form
            return ("E", path, child)
        form = self._load_item(item)
        if form is None:
            return None
        if form[0] == "B":
            return ("R", item)
        return form

    def _ref_of_item(self, item) -> bytes:
        if type(item) is _Unstored:
            return self._finish(self._as_result(item))
        return item

    # -- writing -----------------------------------------------------------------------------
    def _reference(self, encoded: bytes) -> bytes:
        if len(encoded) < 32:
            return encoded
        node_hash = keccak256(encoded)
        self._store(node_hash, encoded)
        return b"\xa0" + node_hash

    def _finish(self, result: Optional[tuple]) -> bytes:
        """Encode a result node (storing it when hashed); returns its reference."""
        if result is None:
            return _EMPTY_ITEM
        kind = result[0]
        if kind == "R":
            return result[1]
        if kind == "P":
            return self._reference(_leaf_rlp(result[1], result[2]))
        if kind == "L":
            return self._reference(encode_list(
                encode_string(encode_hex_prefix(result[1], True)) + encode_string(result[2])))
        return self._reference(encode_list(encode_string(encode_hex_prefix(result[1], False)) + result[2]))

    def _branch(self, items: list) -> tuple:
        """Store a branch from 17 finished item encodings; cache its split form."""
        return ("R", self._branch_reference(items))

    def _branch_reference(self, items: list) -> bytes:
        """``_branch``, returning the reference itself."""
        payload = b"".join(items)  # 16 references of at most 33 bytes and an empty value
        encoded = LIST_HEADERS[len(payload)] + payload
        if len(encoded) < 32:
            return encoded
        node_hash = keccak256(encoded)
        self._store(node_hash, encoded)
        parsed = self.parsed
        if len(parsed) >= self._parsed_limit:
            parsed.clear()
        # A tuple of bytes: the cyclic GC stops tracking it, so a large parse cache adds
        # nothing to the node's collections.
        parsed[node_hash] = ("B", tuple(items))
        return b"\xa0" + node_hash

    # -- merging ---------------------------------------------------------------------------------
    def _update(self, loaded: Optional[tuple], depth: int, lo: int, hi: int) -> Optional[tuple]:
        paths = self._paths
        values = self._values
        if loaded is None:
            keys = [paths[i] for i in range(lo, hi) if values[i]]
            vals = [values[i] for i in range(lo, hi) if values[i]]
            return self._build(keys, vals, depth)
        kind = loaded[0]
        if kind == "L":
            path, value = loaded[1], loaded[2]
            if hi - lo == 1 and paths[lo][depth:] == path:  # the common case: a value update
                new_value = values[lo]
                return ("L", path, new_value) if new_value else None
            merged = {paths[i][depth:]: values[i] for i in range(lo, hi)}
            merged.setdefault(path, value)
            entries = sorted((key, val) for key, val in merged.items() if val)
            return self._build([key for key, _ in entries], [val for _, val in entries], 0)
        if kind == "E":
            path, child = loaded[1], loaded[2]
            end = depth + len(path)
            if paths[lo][depth:end] == path and paths[hi - 1][depth:end] == path:
                return _prepend(path, self._update(self._load_item(child), end, lo, hi))
            # Not every change is under the extension: continue as the equivalent branch.
            items = [_EMPTY_ITEM] * 17
            items[path[0]] = child if len(path) == 1 else _Unstored(("E", path[1:], child))
            split = True
        else:
            items = loaded[1]
            if not self._deletes and items[16] == _EMPTY_ITEM:
                return ("R", self._merge_branch(items, depth, lo, hi))
            split = False
        if items[16] != _EMPTY_ITEM:
            raise BadTrieNode("branch values do not occur in a trie of equal-length keys")
        results: dict[int, Optional[tuple]] = {}
        start = lo
        previous = self._previous
        parsed = self.parsed
        child_depth = depth + 1
        while start < hi:
            path = paths[start]
            nibble = path[depth]
            stop = start + 1
            while stop < hi and paths[stop][depth] == nibble:
                stop += 1
            if stop - start == 1 and previous is not None:
                # One change below this child, for a key that had a value: if the child is
                # that key's leaf (same hash), update it without reading it back. A child
                # the parse cache knows is a branch or extension is not tried.
                old_value = previous[start]
                item = items[nibble]
                if old_value and type(item) is bytes and item[1:] not in parsed:
                    path_item = _leaf_path_item(self._keys[start], child_depth)
                    old_leaf = _leaf_rlp(path_item, old_value)
                    if item == (old_leaf if len(old_leaf) < 32 else b"\xa0" + keccak256(old_leaf)):
                        new_value = values[start]
                        results[nibble] = ("P", path_item, new_value, path[child_depth:]) if new_value else None
                        start = stop
                        continue
            results[nibble] = self._update(self._load_item(items[nibble]), child_depth, start, stop)
            start = stop
        if not split and None not in results.values():
            # A stored branch has two or more children and none was removed: still a branch.
            finished = list(items)
            store = self._store
            for nibble, result in results.items():
                kind = result[0]
                if kind == "P":
                    leaf = _leaf_rlp(result[1], result[2])
                    if len(leaf) < 32:
                        finished[nibble] = leaf
                    else:
                        leaf_hash = keccak256(leaf)
                        store(leaf_hash, leaf)
                        finished[nibble] = b"\xa0" + leaf_hash
                elif kind == "R":
                    finished[nibble] = result[1]
                else:
                    finished[nibble] = self._finish(result)
            return self._branch(finished)
        live = [
            nibble for nibble in range(16)
            if (results[nibble] is not None if nibble in results else items[nibble] != _EMPTY_ITEM)
        ]
        if len(live) >= 2:
            finished = [
                self._finish(results[nibble]) if nibble in results else self._ref_of_item(items[nibble])
                for nibble in range(16)
            ]
            finished.append(_EMPTY_ITEM)
            return self._branch(finished)
        if not live:
            return None
        only = live[0]
        result = results[only] if only in results else self._as_result(items[only])
        return _prepend(_NIBBLE[only], result)

    def _merge_branch(self, items: list, depth: int, lo: int, hi: int) -> bytes:
        """``_update`` of a stored branch when the batch deletes nothing (the usual block).

        No child can disappear, so the branch stays a branch and every changed child
        is finished as soon as it is merged: one pass, no intermediate results.
        Returns the new branch's reference.
        """
        paths = self._paths
        values = self._values
        previous = self._previous
        parsed = self.parsed
        store = self._store
        finished = list(items)
        child_depth = depth + 1
        start = lo
        while start < hi:
            path = paths[start]
            nibble = path[depth]
            stop = start + 1
            while stop < hi and paths[stop][depth] == nibble:
                stop += 1
            item = items[nibble]
            if stop - start == 1 and previous is not None:
                # One change below this child, for a key that had a value: if the child is
                # that key's leaf (same hash), replace it without reading it back. A child
                # the parse cache knows is a branch or extension is not tried.
                old_value = previous[start]
                if old_value and item[1:] not in parsed:
                    path_item = _leaf_path_item(self._keys[start], child_depth)
                    old_leaf = _leaf_rlp(path_item, old_value)
                    if item == (old_leaf if len(old_leaf) < 32 else b"\xa0" + keccak256(old_leaf)):
                        leaf = _leaf_rlp(path_item, values[start])
                        if len(leaf) < 32:
                            finished[nibble] = leaf
                        else:
                            leaf_hash = keccak256(leaf)
                            store(leaf_hash, leaf)
                            finished[nibble] = b"\xa0" + leaf_hash
                        start = stop
                        continue
            if len(item) == 33 and item[0] == 0xA0:
                child = parsed.get(item[1:]) or self._load_hash(item[1:])
                if child[0] == "B" and child[1][16] == _EMPTY_ITEM:
                    finished[nibble] = self._merge_branch(child[1], child_depth, start, stop)
                    start = stop
                    continue
            else:
                child = self._load_item(item)
            finished[nibble] = self._finish(self._update(child, child_depth, start, stop))
            start = stop
        return self._branch_reference(finished)

    def _build(self, keys: list[bytes], values: list[bytes], depth: int) -> Optional[tuple]:
        """A fresh subtree holding ``keys`` (sorted, equal length) below ``depth``."""
        if not keys:
            return None
        if len(keys) == 1:
            return ("L", keys[0][depth:], values[0])
        shared = common_prefix_length(keys[0], keys[-1], depth)
        if shared > depth:
            return _prepend(keys[0][depth:shared], self._build(keys, values, shared))
        finished = [_EMPTY_ITEM] * 17
        start = 0
        count = len(keys)
        while start < count:
            nibble = keys[start][depth]
            stop = start + 1
            while stop < count and keys[stop][depth] == nibble:
                stop += 1
            finished[nibble] = self._finish(self._build(keys[start:stop], values[start:stop], depth + 1))
            start = stop
        return self._branch(finished)


def _prepend(prefix: bytes, result: Optional[tuple]) -> Optional[tuple]:
    """The node replacing ``result`` when ``prefix`` is added in front of its path."""
    if result is None or not prefix:
        return result
    kind = result[0]
    if kind == "L":
        return ("L", prefix + result[1], result[2])
    if kind == "P":
        return ("L", prefix + result[3], result[2])
    if kind == "E":
        return ("E", prefix + result[1], result[2])
    return ("E", prefix, result[1])


def _parse(encoded: bytes) -> tuple:
    """Split a node into its loaded form (raw child items kept as they are)."""
    try:
        start, end, is_list = _item_bounds(encoded, 0)
        if not is_list or end != len(encoded):
            raise BadTrieNode("trie node is not a single RLP list")
        items = []
        position = start
        while position < end:
            _, item_end, _ = _item_bounds(encoded, position)
            items.append(encoded[position:item_end])
            position = item_end
    except IndexError:
        raise BadTrieNode("trie node is truncated") from None
    if len(items) == 17:
        return ("B", tuple(items))
    if len(items) != 2:
        raise BadTrieNode(f"trie node must have 2 or 17 items, not {len(items)}")
    path_item = items[0]
    payload_start, payload_end, _ = _item_bounds(path_item, 0)
    try:
        path, is_leaf = decode_hex_prefix(path_item[payload_start:payload_end])
    except InvalidNibbles as exc:
        raise BadTrieNode(str(exc)) from None
    if is_leaf:
        value_start, value_end, value_is_list = _item_bounds(items[1], 0)
        if value_is_list:
            raise BadTrieNode("leaf value must be a string")
        return ("L", path, items[1][value_start:value_end])
    return ("E", path, items[1])
