"""Commit-time batch update of a stored trie: all of a block's key changes in one pass.

At commit MetisDB knows every changed key at once, so it merges the sorted
changes into the stored trie: each touched node is read (by id, see
``nodelog``), split into its RLP items once, and written once under a new
id; untouched children are carried over as the raw reference bytes and ids
they already are. Only dirty paths are re-hashed: O(k log n) for k keys.
The ids of the nodes a merge replaced are collected (``replaced``) for
pruning. Results are checked against ``HexaryTrie`` in tests.

Keys must all have the same length (hashed keys of the secure tries), so no
key ends at a branch; values are non-empty bytes, ``b""`` deletes. A value
may come with a child id (an account leaf names its storage trie's root).

Node forms while merging:
- loaded: ``("B", items17, ids16)``, ``("L", path, value, value_id)``,
  ``("E", path, child_item, child_id)``, where items are raw RLP item
  encodings as they appear in the parent and ids are b"" for no record;
- results: ``None``, ``("L", path, value, value_id)``, ``("E", path,
  child_item, child_id)``, ``("R", item, id)`` (a finished node), and
  ``("P", path_item, value, path, value_id)``: a leaf whose value changed in
  place, with its RLP path item already built from the raw key (the hot case).

Speed: a block touches a few nodes per changed key, so the per-node work is
kept to slicing and joining bytes: leaf paths are hex-prefix encoded straight
from the raw key bytes, RLP headers come from tables, and a child the parse
cache knows to be a branch is not mistaken for (and hashed as) a leaf.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

from hyperion.primitives.keccak import keccak256
from hyperion.state.metisdb.errors import CorruptDatabase
from hyperion.state.metisdb.nodelog import NO_ID, item_bounds, node_items, split_record
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
_COUNT = [bytes((count,)) for count in range(17)]
_NO_IDS = (NO_ID,) * 16


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


def _list_appender(target: list) -> Callable[[bytes, bytes], None]:
    """A store callable appending ``(id, record)`` to ``target``."""
    append = target.append

    def store(record_id: bytes, record: bytes) -> None:
        append((record_id, record))

    return store


class _Unstored:
    """A node that exists only inside this merge (an extension split off a longer one)."""

    __slots__ = ("form",)

    def __init__(self, form: tuple) -> None:
        self.form = form


class BatchTrieUpdater:
    """Merges sorted changes into tries of one node log.

    ``fetch(id) -> record`` reads a stored record (``KeyError`` if absent) and
    ``store(id, record)`` writes a new one; ``store`` may instead be a list, to
    which each new record is appended as ``(id, record)`` (what the engine passes,
    and what the C class appends without a Python call). New ids count up from
    ``next_id``. ``parsed`` caches split branch and extension nodes by id across
    calls (ids are never reused, so it is never stale); its entries are this
    class's own tuples, not the C class's raw records.
    """

    __slots__ = ("_fetch", "_store", "next_id", "replaced", "_keys", "_paths", "_values", "_value_ids",
                 "_previous", "_deletes", "parsed", "_parsed_limit")

    def __init__(self, fetch: Callable[[bytes], bytes],
                 store: Union[Callable[[bytes, bytes], None], list[tuple[bytes, bytes]]],
                 next_id: int = 1, parsed: Optional[dict] = None, parsed_cache_size: int = 200_000) -> None:
        self._fetch = fetch
        self._store = _list_appender(store) if isinstance(store, list) else store
        self.next_id = next_id
        self.replaced: Optional[list[bytes]] = []  # None: nobody needs them (archive mode)
        self._keys: Sequence[bytes] = []
        self._paths: list[bytes] = []
        self._values: Sequence[bytes] = []
        self._value_ids: Optional[Sequence[bytes]] = None
        self._previous: Optional[Sequence[bytes]] = None
        self._deletes = False
        self.parsed: dict[bytes, tuple] = {} if parsed is None else parsed
        self._parsed_limit = parsed_cache_size

    # -- entry point ----------------------------------------------------------------------
    def update(self, root: bytes, root_id: bytes, keys: Sequence[bytes], values: Sequence[bytes],
               previous: Optional[Sequence[bytes]] = None,
               value_ids: Optional[Sequence[bytes]] = None) -> tuple[bytes, bytes]:
        """(new root hash, its id) after setting ``keys`` (sorted, distinct) to ``values``.

        ``previous`` (optional, aligned with ``keys``) gives each key's value in the
        trie at ``root`` (b"" if absent or unknown): a key whose leaf can be recognised
        by its hash is then updated without reading the leaf back. ``value_ids``
        (optional, aligned) gives the child id each new leaf records.
        """
        if not keys:
            return root, root_id
        self._keys = keys
        self._paths = [bytes_to_nibbles(key) for key in keys]
        self._values = values
        self._value_ids = value_ids
        self._previous = previous
        self._deletes = not all(values)
        try:
            if root == EMPTY_TRIE_ROOT:
                result = self._update(None, NO_ID, 0, 0, len(keys))
            elif not root_id:
                raise MissingTrieNode(f"no node id given for root {root.hex()}")
            else:
                result = self._update(self._load_id(root_id), root_id, 0, 0, len(keys))
        finally:
            self._keys = self._paths = self._values = []
            self._previous = self._value_ids = None
        ref, ref_id = self._finish(result)
        if ref == _EMPTY_ITEM:
            return EMPTY_TRIE_ROOT, NO_ID
        if len(ref) == 33 and ref[0] == 0xA0:
            return ref[1:], ref_id
        # A root under 32 bytes is still stored and named by its hash.
        record_id = self._new_id()
        self._store(record_id, ref + _COUNT[0])
        return keccak256(ref), record_id

    def update_rows(self, root: bytes, root_id: bytes, rows) -> tuple[bytes, bytes]:
        """``update`` with the columns of an account-rows object (``native.AccountRows``)."""
        return self.update(root, root_id, *rows.columns())

    def _new_id(self) -> bytes:
        number = self.next_id
        self.next_id = number + 1
        return number.to_bytes(8, "big")

    # -- loading ----------------------------------------------------------------------------
    def _load_id(self, record_id: bytes) -> tuple:
        form = self.parsed.get(record_id)
        if form is not None:
            return form
        try:
            record = self._fetch(record_id)
        except KeyError:
            raise MissingTrieNode(f"trie node {record_id.hex()} is not in the store") from None
        rlp, ids = split_record(record)
        form = _parse(rlp, ids)
        if form[0] != "L":
            parsed = self.parsed
            if len(parsed) >= self._parsed_limit:
                parsed.clear()
            parsed[record_id] = form
        return form

    def _load_child(self, item, child_id: bytes) -> Optional[tuple]:
        """Loaded form of a child given as its raw item (or an unstored node)."""
        if type(item) is _Unstored:
            return item.form
        if item == _EMPTY_ITEM:
            return None
        if len(item) == 33 and item[0] == 0xA0:
            if not child_id:
                raise CorruptDatabase("a hashed trie reference has no node id")
            return self._load_id(child_id)
        return _parse(item, [])  # embedded node

    def _as_result(self, item, child_id: bytes) -> Optional[tuple]:
        """Result form of an untouched child (needed when its parent collapses)."""
        if type(item) is _Unstored:
            return item.form
        form = self._load_child(item, child_id)
        if form is None:
            return None
        if form[0] == "B":
            return ("R", item, child_id)
        if child_id:
            self._replace(child_id)  # rewritten with a longer path
        return form

    # -- writing -----------------------------------------------------------------------------
    def _reference(self, encoded: bytes, child_id: bytes) -> tuple[bytes, bytes]:
        """Reference and id of a 2-item node (with at most one child id)."""
        if len(encoded) < 32:
            return encoded, NO_ID  # embedded: an item this small holds no hash
        number = self.next_id
        self.next_id = number + 1
        record_id = number.to_bytes(8, "big")
        self._store(record_id, encoded + child_id + (b"\x01" if child_id else b"\x00"))
        return b"\xa0" + keccak256(encoded), record_id

    def _finish(self, result: Optional[tuple]) -> tuple[bytes, bytes]:
        """Encode a result node (storing it when hashed); returns its reference and id."""
        if result is None:
            return _EMPTY_ITEM, NO_ID
        kind = result[0]
        if kind == "R":
            return result[1], result[2]
        if kind == "P":
            return self._reference(_leaf_rlp(result[1], result[2]), result[4])
        if kind == "L":
            return self._reference(encode_list(
                encode_string(encode_hex_prefix(result[1], True)) + encode_string(result[2])), result[3])
        child = result[2]
        child_id = result[3]
        if type(child) is _Unstored:
            child, child_id = self._finish(child.form)
        return self._reference(encode_list(encode_string(encode_hex_prefix(result[1], False)) + child), child_id)

    def _branch(self, items: list, ids: list) -> tuple[bytes, bytes]:
        """Store a branch from 17 finished items and 16 ids; cache its split form."""
        payload = b"".join(items)  # 16 references of at most 33 bytes and an empty value
        encoded = LIST_HEADERS[len(payload)] + payload
        if len(encoded) < 32:
            return encoded, NO_ID
        number = self.next_id
        self.next_id = number + 1
        record_id = number.to_bytes(8, "big")
        trailer = b"".join(ids)
        self._store(record_id, encoded + trailer + _COUNT[len(trailer) >> 3])
        parsed = self.parsed
        if len(parsed) >= self._parsed_limit:
            parsed.clear()
        # Tuples of bytes: the cyclic GC stops tracking them, so a large parse cache
        # adds nothing to the node's collections.
        parsed[record_id] = ("B", tuple(items), tuple(ids))
        return b"\xa0" + keccak256(encoded), record_id

    def _replace(self, record_id: bytes) -> None:
        """Note a stored node the merge replaces; it leaves the parse cache, which so
        holds live nodes only (merges always start from the latest trie)."""
        if self.replaced is not None:
            self.replaced.append(record_id)
        self.parsed.pop(record_id, None)

    def _previous_leaf_path(self, index: int, item: bytes, item_id: bytes, depth: int) -> Optional[bytes]:
        """The RLP path item of key ``index``'s leaf at ``depth`` when the child ``item`` is
        that key's leaf with its previous value (same hash), so it can be replaced without
        reading it back; else None. A child the parse cache knows is a branch or extension
        is not tried."""
        previous = self._previous
        if previous is None or not previous[index] or item_id in self.parsed:
            return None
        path_item = _leaf_path_item(self._keys[index], depth)
        old_leaf = _leaf_rlp(path_item, previous[index])
        if item == (old_leaf if len(old_leaf) < 32 else b"\xa0" + keccak256(old_leaf)):
            return path_item
        return None

    def _leaf_value_id(self, index: int) -> bytes:
        value_ids = self._value_ids
        return NO_ID if value_ids is None else value_ids[index]

    # -- merging ---------------------------------------------------------------------------------
    def _update(self, loaded: Optional[tuple], loaded_id: bytes, depth: int, lo: int, hi: int) -> Optional[tuple]:
        paths = self._paths
        values = self._values
        if loaded_id:
            self._replace(loaded_id)
        if loaded is None:
            chosen = [i for i in range(lo, hi) if values[i]]
            return self._build([paths[i] for i in chosen], [values[i] for i in chosen],
                               [self._leaf_value_id(i) for i in chosen], depth)
        kind = loaded[0]
        if kind == "L":
            path, value, value_id = loaded[1], loaded[2], loaded[3]
            if hi - lo == 1 and paths[lo][depth:] == path:  # the common case: a value update
                new_value = values[lo]
                return ("L", path, new_value, self._leaf_value_id(lo)) if new_value else None
            merged = {paths[i][depth:]: (values[i], self._leaf_value_id(i)) for i in range(lo, hi)}
            merged.setdefault(path, (value, value_id))
            entries = sorted((key, entry) for key, entry in merged.items() if entry[0])
            return self._build([key for key, _ in entries], [entry[0] for _, entry in entries],
                               [entry[1] for _, entry in entries], 0)
        if kind == "E":
            path, child, child_id = loaded[1], loaded[2], loaded[3]
            end = depth + len(path)
            if paths[lo][depth:end] == path and paths[hi - 1][depth:end] == path:
                return _prepend(path, self._update(self._load_child(child, child_id), child_id, end, lo, hi))
            # Not every change is under the extension: continue as the equivalent branch.
            items: Sequence = [_EMPTY_ITEM] * 17
            ids: Sequence[bytes] = list(_NO_IDS)
            if len(path) == 1:
                items[path[0]] = child
                ids[path[0]] = child_id
            else:
                items[path[0]] = _Unstored(("E", path[1:], child, child_id))
            split = True
        else:
            items = loaded[1]
            ids = loaded[2]
            if not self._deletes and items[16] == _EMPTY_ITEM:
                return ("R",) + self._merge_branch(items, ids, depth, lo, hi)
            split = False
        if items[16] != _EMPTY_ITEM:
            raise BadTrieNode("branch values do not occur in a trie of equal-length keys")
        results: dict[int, Optional[tuple]] = {}
        start = lo
        child_depth = depth + 1
        while start < hi:
            path = paths[start]
            nibble = path[depth]
            stop = start + 1
            while stop < hi and paths[stop][depth] == nibble:
                stop += 1
            item = items[nibble]
            item_id = ids[nibble]
            if stop - start == 1 and type(item) is bytes:
                path_item = self._previous_leaf_path(start, item, item_id, child_depth)
                if path_item is not None:
                    if item_id:
                        self._replace(item_id)
                    new_value = values[start]
                    results[nibble] = (("P", path_item, new_value, path[child_depth:],
                                        self._leaf_value_id(start)) if new_value else None)
                    start = stop
                    continue
            results[nibble] = self._update(self._load_child(item, item_id), item_id, child_depth, start, stop)
            start = stop
        if not split and None not in results.values():
            # A stored branch has two or more children and none was removed: still a branch.
            finished = list(items)
            finished_ids = list(ids)
            for nibble, result in results.items():
                finished[nibble], finished_ids[nibble] = self._finish(result)
            return ("R",) + self._branch(finished, finished_ids)
        live = [
            nibble for nibble in range(16)
            if (results[nibble] is not None if nibble in results else items[nibble] != _EMPTY_ITEM)
        ]
        if len(live) >= 2:
            finished = [_EMPTY_ITEM] * 17
            finished_ids = list(_NO_IDS)
            for nibble in range(16):
                if nibble in results:
                    finished[nibble], finished_ids[nibble] = self._finish(results[nibble])
                else:
                    item = items[nibble]
                    if type(item) is _Unstored:
                        finished[nibble], finished_ids[nibble] = self._finish(item.form)
                    else:
                        finished[nibble], finished_ids[nibble] = item, ids[nibble]
            return ("R",) + self._branch(finished, finished_ids)
        if not live:
            return None
        only = live[0]
        result = results[only] if only in results else self._as_result(items[only], ids[only])
        return _prepend(_NIBBLE[only], result)

    def _merge_branch(self, items: Sequence[bytes], ids: Sequence[bytes], depth: int, lo: int,
                      hi: int) -> tuple[bytes, bytes]:
        """``_update`` of a stored branch when the batch deletes nothing (the usual block).

        No child can disappear, so the branch stays a branch and every changed child
        is finished as soon as it is merged: one pass, no intermediate results.
        Returns the new branch's reference and id.
        """
        paths = self._paths
        values = self._values
        value_ids = self._value_ids
        parsed = self.parsed
        store = self._store
        replaced = self.replaced
        evict = parsed.pop
        finished = list(items)
        finished_ids = list(ids)
        child_depth = depth + 1
        start = lo
        while start < hi:
            path = paths[start]
            nibble = path[depth]
            stop = start + 1
            while stop < hi and paths[stop][depth] == nibble:
                stop += 1
            item = items[nibble]
            item_id = ids[nibble]
            if stop - start == 1:
                path_item = self._previous_leaf_path(start, item, item_id, child_depth)
                if path_item is not None:
                    if item_id and replaced is not None:
                        replaced.append(item_id)  # a leaf: never in the parse cache
                    leaf = _leaf_rlp(path_item, values[start])
                    if len(leaf) < 32:
                        finished[nibble] = leaf
                        finished_ids[nibble] = NO_ID
                    else:
                        number = self.next_id
                        self.next_id = number + 1
                        record_id = number.to_bytes(8, "big")
                        value_id = NO_ID if value_ids is None else value_ids[start]
                        store(record_id, leaf + value_id + (b"\x01" if value_id else b"\x00"))
                        finished[nibble] = b"\xa0" + keccak256(leaf)
                        finished_ids[nibble] = record_id
                    start = stop
                    continue
            if item_id:
                child = parsed.get(item_id) or self._load_id(item_id)
                if child[0] == "B" and child[1][16] == _EMPTY_ITEM:
                    if replaced is not None:
                        replaced.append(item_id)
                    evict(item_id, None)
                    finished[nibble], finished_ids[nibble] = self._merge_branch(
                        child[1], child[2], child_depth, start, stop)
                    start = stop
                    continue
            else:
                child = self._load_child(item, item_id)
            finished[nibble], finished_ids[nibble] = self._finish(
                self._update(child, item_id, child_depth, start, stop))
            start = stop
        return self._branch(finished, finished_ids)

    def _build(self, keys: list[bytes], values: list[bytes], value_ids: list[bytes],
               depth: int) -> Optional[tuple]:
        """A fresh subtree holding ``keys`` (sorted, equal length) below ``depth``."""
        if not keys:
            return None
        if len(keys) == 1:
            return ("L", keys[0][depth:], values[0], value_ids[0])
        shared = common_prefix_length(keys[0], keys[-1], depth)
        if shared > depth:
            return _prepend(keys[0][depth:shared], self._build(keys, values, value_ids, shared))
        finished = [_EMPTY_ITEM] * 17
        finished_ids = list(_NO_IDS)
        start = 0
        count = len(keys)
        while start < count:
            nibble = keys[start][depth]
            stop = start + 1
            while stop < count and keys[stop][depth] == nibble:
                stop += 1
            finished[nibble], finished_ids[nibble] = self._finish(self._build(
                keys[start:stop], values[start:stop], value_ids[start:stop], depth + 1))
            start = stop
        return ("R",) + self._branch(finished, finished_ids)


def _prepend(prefix: bytes, result: Optional[tuple]) -> Optional[tuple]:
    """The node replacing ``result`` when ``prefix`` is added in front of its path."""
    if result is None or not prefix:
        return result
    kind = result[0]
    if kind == "L":
        return ("L", prefix + result[1], result[2], result[3])
    if kind == "P":
        return ("L", prefix + result[3], result[2], result[4])
    if kind == "E":
        return ("E", prefix + result[1], result[2], result[3])
    return ("E", prefix, result[1], result[2])


def _parse(rlp: bytes, ids: list[bytes]) -> tuple:
    """Split a node into its loaded form (raw child items kept as they are)."""
    items = node_items(rlp, BadTrieNode)
    if len(items) == 17:
        child_ids = iter(ids)
        return ("B", tuple(items),
                tuple(next(child_ids, NO_ID) if len(item) == 33 and item[0] == 0xA0 else NO_ID
                      for item in items[:16]))
    if len(items) != 2:
        raise BadTrieNode(f"trie node must have 2 or 17 items, not {len(items)}")
    path_item = items[0]
    payload_start, payload_end, _ = item_bounds(path_item, 0)
    try:
        path, is_leaf = decode_hex_prefix(path_item[payload_start:payload_end])
    except InvalidNibbles as exc:
        raise BadTrieNode(str(exc)) from None
    if is_leaf:
        value_start, value_end, value_is_list = item_bounds(items[1], 0)
        if value_is_list:
            raise BadTrieNode("leaf value must be a string")
        return ("L", path, items[1][value_start:value_end], ids[0] if ids else NO_ID)
    child = items[1]
    return ("E", path, child, ids[0] if ids and len(child) == 33 and child[0] == 0xA0 else NO_ID)
