"""``MetisDB``: Hyperion's persistent state database on LMDB.

One LMDB environment (a directory) holds named sub-databases (see
``codec``): the flat view (``accounts``, ``storage``, ``storage_roots``,
``code``), the Merkle-Patricia trie nodes as an append-only log addressed by
node id (``nodes``, see ``nodelog``; plus ``stale`` lists when pruning), the
block -> state root index (``roots``), per-block changesets (``changes``),
``meta`` (format version, mode, latest and oldest retained block, node
counter) and the chain's own tables (``chain.<name>``).

Commit = one LMDB write transaction: flat records, new trie nodes (only the
dirty paths are re-hashed: ``batchtrie`` merges the block's sorted changes
into each stored trie in one pass, O(k log n) for k changed keys), the root
index entry, the changeset, the chain writes, pruning of blocks that left the
window, and the new "latest" marker. New nodes get the next ids and are
appended at the end of the node table in one call, so the pages a commit
writes are its own new nodes, not pages all over a hash-keyed table.
LMDB's copy-on-write B+tree makes the
transaction atomic and durable (fsync at commit unless ``sync=False``): a
process killed at any point reopens at the last committed block.

Reads are MVCC: ``reader(n)`` holds an LMDB read transaction, unaffected by
later commits. The latest block is served from the flat view through a read
cache; older retained blocks through their trie (slower, but exact).

History and retention: ``retention=None`` is archive mode (every block's state
and changeset is kept). ``retention=R`` keeps the state of blocks
``latest - R .. latest``: a node lives from the block that wrote it until the
block that replaced it (that block's ``stale`` list), so once no retained block
is older than the replacing one the node is deleted; no reference counts.
``rollback(n)`` undoes blocks above ``n`` with their changesets (n retained)
and deletes the nodes written after block ``n``. Contract code is kept
forever (content addressed and small).

Out of room: ``lmdb.MapFullError`` makes the commit retry with a doubled map
when no reader is open in this process (LMDB cannot remap under readers), else
``DatabaseFull`` says to reopen with a larger ``map_size``; a full disk is
``DatabaseFull`` too. The failed transaction leaves nothing behind.

One writer process per data dir (an ``flock`` on ``metisdb.lock``); inside it,
commits are serialized by a lock and readers may live in any thread.
"""

from __future__ import annotations

import errno
import fcntl
import gc
import os
import threading
import weakref
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Optional, Union

import lmdb

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.account import encode_account, storage_trie_value
from hyperion.state.database import (
    DatabaseClosed,
    InvalidCommit,
    StateUnavailable,
    check_table_name,
    validate_chain_writes,
)
from hyperion.state.metisdb.cache import StateCache
from hyperion.state.metisdb.codec import (
    ABSENT_ACCOUNT,
    block_from_key,
    block_key,
    decode_changeset,
    decode_record,
    decode_root_entry,
    encode_changeset,
    encode_root_entry,
    flat_record,
)
from hyperion.state.metisdb.errors import (
    ConfigurationMismatch,
    CorruptDatabase,
    DatabaseFull,
    DatabaseLocked,
    DataDirReadOnly,
    IncompatibleFormat,
)
from hyperion.state.metisdb.native import (
    AccountRows,
    NodeBatch,
    NodeCache,
    NodeHashes,
    TrieMerger,
    account_rows,
    verify_tries,
)
from hyperion.state.metisdb.nodelog import ID_SIZE, NO_ID, iterate, node_id, subtree_ids, walk
from hyperion.state.metisdb.overlay import FlatOverlay
from hyperion.state.metisdb.pending import AccountChange, PendingState
from hyperion.state.metisdb.snapshot import Snapshot
from hyperion.trie.codec import EMPTY_TRIE_ROOT, TrieError
from hyperion.trie.nibbles import nibbles_to_bytes

FORMAT_VERSION = b"metisdb/3"
# Formats this version opens, upgrading them in place: metisdb/2 differs only in
# keeping the accounts table current at every block (no ``flat-block`` marker).
_UPGRADABLE_FORMATS = (b"metisdb/2",)
DEFAULT_MAP_SIZE = 1 << 34  # 16 GiB of address space; the file only grows as used
MAX_MAP_SIZE = 1 << 42
_LOCK_FILE = "metisdb.lock"
_INTERNAL_TABLES = ("meta", "accounts", "storage", "storage_roots", "code", "nodes", "stale", "roots",
                    "changes")
_META_FORMAT = b"format"
_META_PRUNING = b"pruning"
_META_LATEST = b"latest"
_META_OLDEST = b"oldest"
_META_VERSION = b"version"  # bumped by every commit, amend and rollback
_META_NEXT_NODE = b"next-node"  # the node counter: never goes down, so ids are never reused
_META_FLAT = b"flat-block"  # the block whose state the accounts table holds (see ``overlay``)
DEFAULT_FLAT_OVERLAY_LIMIT = 1 << 17  # account versions held in memory before a flush
DEFAULT_FLAT_OVERLAY_BLOCKS = 1024  # blocks between flushes at most (bounds crash recovery)


class _Tables:
    """Handles of the internal sub-databases."""

    __slots__ = _INTERNAL_TABLES

    def __init__(self, env: lmdb.Environment, txn) -> None:
        for name in _INTERNAL_TABLES:
            setattr(self, name, env.open_db(name.encode(), txn=txn, create=True))


class MetisDB:
    """Persistent ``StateDatabase`` (see the module docstring for the design)."""

    def __init__(
        self,
        path: Union[str, os.PathLike],
        *,
        retention: Optional[int] = None,
        map_size: int = DEFAULT_MAP_SIZE,
        sync: bool = True,
        cache_accounts: int = 200_000,
        cache_slots: int = 400_000,
        parsed_node_cache: int = 200_000,
        flat_overlay_limit: int = DEFAULT_FLAT_OVERLAY_LIMIT,
        flat_overlay_blocks: int = DEFAULT_FLAT_OVERLAY_BLOCKS,
    ) -> None:
        if retention is not None and (type(retention) is not int or retention < 0):
            raise ValueError(f"retention must be None (archive) or an int >= 0, got {retention!r}")
        if type(map_size) is not int or map_size < 1 << 16:
            raise ValueError(f"map_size must be an int >= 65536, got {map_size!r}")
        for name, value in (("flat_overlay_limit", flat_overlay_limit), ("flat_overlay_blocks", flat_overlay_blocks)):
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        self.path = Path(path)
        self.retention = retention
        self._pruning = retention is not None
        self._closed = True
        self._lock_file = _acquire_dir_lock(self.path)
        try:
            self._env = _open_env(self.path, map_size, sync)
        except BaseException:
            self._lock_file.close()
            raise
        self._map_size = map_size
        self._write_lock = threading.RLock()
        self._cache = StateCache(cache_accounts, cache_slots)
        self._readers: "weakref.WeakSet[Snapshot]" = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._chain_tables: dict[str, object] = {}
        # Commit-time trie merges; they keep branch and extension nodes (by id, never
        # stale; in the merger's own form) between commits so upper levels are not re-read.
        self._parsed_nodes = NodeCache()
        self._parsed_node_cache = parsed_node_cache
        self._generation = 0
        self._flat_overlay_limit = flat_overlay_limit
        self._flat_overlay_blocks = flat_overlay_blocks
        try:
            self._open_tables()
        except BaseException:
            self._env.close()
            self._lock_file.close()
            raise
        self._closed = False
        self._cache.generation = self._generation

    # -- opening -----------------------------------------------------------------------
    def _open_tables(self) -> None:
        env = self._env
        try:
            with env.begin(write=True) as txn:
                main = env.open_db(None, txn=txn)
                stored_format = txn.get(b"meta")  # sub-databases appear as keys of the main one
                is_new = stored_format is None and txn.stat(main)["entries"] == 0
                if not is_new and stored_format is None:
                    raise IncompatibleFormat(f"{self.path} holds an LMDB environment that is not MetisDB")
                self._tables = _Tables(env, txn)
                meta = self._tables.meta
                if is_new:
                    txn.put(_META_FORMAT, FORMAT_VERSION, db=meta)
                    txn.put(_META_PRUNING, b"1" if self._pruning else b"0", db=meta)
                else:
                    found = txn.get(_META_FORMAT, db=meta)
                    if found in _UPGRADABLE_FORMATS:
                        # Its accounts table is current: the upgrade is the marker saying so.
                        txn.put(_META_FORMAT, FORMAT_VERSION, db=meta)
                        latest_key = txn.get(_META_LATEST, db=meta)
                        if latest_key is not None:
                            txn.put(_META_FLAT, latest_key, db=meta)
                    elif found != FORMAT_VERSION:
                        raise IncompatibleFormat(
                            f"{self.path} was written in format {found!r}; this MetisDB reads "
                            f"{FORMAT_VERSION!r} (migrate or use a new data dir)"
                        )
                    stored_pruning = txn.get(_META_PRUNING, db=meta) == b"1"
                    if stored_pruning != self._pruning:
                        raise ConfigurationMismatch(
                            f"{self.path} was created in "
                            f"{'pruning' if stored_pruning else 'archive'} mode; open it with "
                            f"{'a retention window' if stored_pruning else 'retention=None'}"
                        )
                latest = txn.get(_META_LATEST, db=meta)
                oldest = txn.get(_META_OLDEST, db=meta)
                version = txn.get(_META_VERSION, db=meta)
                self._state_version = 0 if version is None else block_from_key(version)
                self._latest = None if latest is None else block_from_key(latest)
                self._oldest = None if oldest is None else block_from_key(oldest)
                next_node = txn.get(_META_NEXT_NODE, db=meta)
                self._next_node = 1 if next_node is None else block_from_key(next_node)
                if latest is None:
                    self._latest_root, self._latest_root_id = EMPTY_TRIE_ROOT, NO_ID
                else:
                    entry = txn.get(latest, db=self._tables.roots)
                    if entry is None:
                        raise CorruptDatabase(f"{self.path}: the latest block has no state root entry")
                    self._latest_root, self._latest_root_id, _ = decode_root_entry(entry)
                    flat = txn.get(_META_FLAT, db=meta)
                    if flat is None:
                        raise CorruptDatabase(f"{self.path}: no record of which block the accounts table holds")
                    if flat != latest:
                        # Killed before the accounts table caught up: bring it up to date.
                        self._recover_flat_table(txn, block_from_key(flat), self._latest)
                self._overlay = self._new_overlay(self._latest)
        except lmdb.MapFullError:
            raise DatabaseFull(f"{self.path}: no room to initialise the database (map_size too small)") from None
        except lmdb.ReadonlyError:
            raise DataDirReadOnly(f"{self.path} is read-only; MetisDB needs a writable data dir") from None

    # -- small queries -----------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed(f"MetisDB at {self.path} is closed")

    def latest_block_number(self) -> Optional[int]:
        """Highest committed block, or None for an empty database."""
        self._check_open()
        return self._latest

    def oldest_block_number(self) -> Optional[int]:
        """Lowest block whose state is retained."""
        self._check_open()
        return self._oldest

    def state_root(self, block_number: Optional[int] = None) -> bytes:
        """State root of a retained block (default latest)."""
        with self.reader(block_number) as snapshot:
            return snapshot.state_root

    # -- readers -----------------------------------------------------------------------
    def reader(self, block_number: Optional[int] = None) -> Snapshot:
        """MVCC snapshot as of ``block_number`` (default latest); close it when done.

        Raises ``StateUnavailable`` for a block outside the retained window.
        """
        self._check_open()
        cache = self._cache
        generation_before = cache.generation
        with self._readers_lock:  # no read transaction may start while the map is resized
            txn = self._env.begin(buffers=False)
            overlay = self._overlay  # the one that goes with the accounts table ``txn`` sees
        try:
            generation_after = cache.generation
            tables = self._tables
            latest_key = txn.get(_META_LATEST, db=tables.meta)
            if latest_key is None:
                raise StateUnavailable("the database holds no block yet")
            latest = block_from_key(latest_key)
            number = latest if block_number is None else block_number
            if type(number) is not int or number < 0:
                raise StateUnavailable(f"block number must be a non-negative int, got {number!r}")
            entry = txn.get(block_key(number), db=tables.roots) if number <= latest else None
            if entry is None:
                oldest_key = txn.get(_META_OLDEST, db=tables.meta)
                oldest = 0 if oldest_key is None else block_from_key(oldest_key)
                raise StateUnavailable(
                    f"state of block {number} is not retained (available: {oldest}..{latest})"
                )
            generation = generation_before if generation_before == generation_after else None
            version = txn.get(_META_VERSION, db=tables.meta)
            root, root_id, _ = decode_root_entry(entry)
            snapshot = Snapshot(self, txn, number, root, root_id, number == latest, generation,
                                0 if version is None else block_from_key(version), overlay)
        except BaseException:
            txn.abort()
            raise
        with self._readers_lock:
            self._readers.add(snapshot)
        return snapshot

    def _begin_read(self):
        """A short read transaction (not registered as a reader)."""
        with self._readers_lock:  # no read transaction may start while the map is resized
            return self._env.begin(buffers=False)

    def _reader_closed(self, snapshot: Snapshot) -> None:
        with self._readers_lock:
            self._readers.discard(snapshot)


    def pending(self, parent_block: Optional[int] = None) -> PendingState:
        """Writable state on top of ``parent_block`` (default latest; empty for a new database)."""
        self._check_open()
        if parent_block is None and self._latest is None:
            with self._readers_lock:
                txn = self._env.begin(buffers=False)
            version = txn.get(_META_VERSION, db=self._tables.meta)
            snapshot = Snapshot(self, txn, None, EMPTY_TRIE_ROOT, NO_ID, True, None,
                                0 if version is None else block_from_key(version), None)
            with self._readers_lock:
                self._readers.add(snapshot)
            return self.pending_on(snapshot)
        return self.pending_on(self.reader(parent_block))

    def pending_on(self, snapshot: Snapshot) -> PendingState:
        """Writable state layered over ``snapshot`` of this database (``Snapshot.pending`` comes here)."""
        return PendingState(snapshot)

    # -- writing -----------------------------------------------------------------------
    def _take_pending(self, pending: object) -> "_Extracted":
        if not isinstance(pending, PendingState) or pending._owner is not self:
            raise InvalidCommit("pending state was not created by this database")
        if pending._consumed:
            raise InvalidCommit("pending state was already committed")
        if pending.parent_block != self._latest:
            raise InvalidCommit(
                f"pending state is built on block {pending.parent_block}, "
                f"but the latest block is {self._latest}"
            )
        if pending.base_snapshot.state_version != self._state_version:
            raise InvalidCommit("pending state is stale: the latest state was amended or rolled "
                                "back after it was opened")
        extracted = _Extracted()
        extracted.changeset, extracted.changes = pending.commit_changes(
            extracted.rows, extracted.account_puts, extracted.code_puts, extracted.cached)
        extracted.plain_rows = len(extracted.rows)
        pending._consumed = True
        pending.base_snapshot.close()  # its changes are extracted; frees the read transaction
        return extracted

    def commit(
        self,
        pending: PendingState,
        block_number: int,
        chain_writes: Iterable[tuple[str, bytes, Optional[bytes]]] = (),
    ) -> bytes:
        """Persist ``pending`` as block ``block_number`` with ``chain_writes``, atomically.

        ``block_number`` must be latest + 1 (0 for the first block). The pending
        state is consumed, even when the write fails (re-execute to retry).
        Returns the new state root.
        """
        with self._write_lock:
            self._check_open()
            expected = 0 if self._latest is None else self._latest + 1
            if type(block_number) is not int or block_number != expected:
                raise InvalidCommit(f"expected block {expected}, got {block_number!r}")
            writes = validate_chain_writes(chain_writes)
            extracted = self._take_pending(pending)
            return self._write(lambda txn: self._write_block(txn, block_number, extracted, writes, False))

    def amend_latest(self, pending: PendingState) -> bytes:
        """Replace the latest block's state with ``pending`` (built on it) without a new
        block, e.g. for dev RPC state edits. Its changeset is merged so rollback stays exact."""
        with self._write_lock:
            self._check_open()
            if self._latest is None:
                raise InvalidCommit("there is no block to amend yet")
            extracted = self._take_pending(pending)
            latest = self._latest
            return self._write(lambda txn: self._write_block(txn, latest, extracted, [], True))

    def chain_put(self, table: str, key: bytes, value: Optional[bytes]) -> None:
        """Write (or with ``None`` delete) a chain record outside a block commit."""
        with self._write_lock:
            self._check_open()
            writes = validate_chain_writes([(table, key, value)])
            self._write(lambda txn: self._apply_chain_writes(txn, writes))

    def chain_get(self, table: str, key: bytes) -> Optional[bytes]:
        """A record written through ``commit(chain_writes=...)`` or ``chain_put``."""
        self._check_open()
        handle = self._chain_table(check_table_name(table), None)
        if handle is None:
            return None
        if not isinstance(key, (bytes, bytearray)) or not key:
            raise ValueError(f"chain key must be non-empty bytes, got {key!r}")
        with self._begin_read() as txn:
            return txn.get(bytes(key), db=handle)

    def chain_scan(self, table: str, start: bytes, stop: bytes, *, reverse: bool = False,
                   limit: Optional[int] = None) -> list[tuple[bytes, bytes]]:
        """Records with ``start <= key < stop`` in key order (or reversed), at most ``limit``,
        read from one snapshot (an LMDB cursor over ``chain.<table>``)."""
        self._check_open()
        handle = self._chain_table(check_table_name(table), None)
        if handle is None or not start < stop:
            return []
        found: list[tuple[bytes, bytes]] = []
        with self._begin_read() as txn:
            cursor = txn.cursor(db=handle)
            if reverse:
                # the last key below ``stop``: the first key at or above it, one step back
                positioned = cursor.prev() if cursor.set_range(stop) else cursor.last()
                while positioned:
                    key = cursor.key()
                    if key < start or (limit is not None and len(found) >= limit):
                        break
                    if key < stop:
                        found.append((bytes(key), bytes(cursor.value())))
                    positioned = cursor.prev()
            else:
                positioned = cursor.set_range(start)
                while positioned:
                    key = cursor.key()
                    if key >= stop or (limit is not None and len(found) >= limit):
                        break
                    found.append((bytes(key), bytes(cursor.value())))
                    positioned = cursor.next()
        return found

    def rollback(self, block_number: int) -> None:
        """Undo every block above ``block_number``; it must be retained."""
        with self._write_lock:
            self._check_open()
            latest = self._latest
            oldest = self._oldest
            if (latest is None or type(block_number) is not int
                    or not (oldest or 0) <= block_number <= latest):
                raise StateUnavailable(
                    f"cannot roll back to block {block_number!r} (retained: {oldest}..{latest})"
                )
            if block_number == latest:
                return
            self._write(lambda txn: self._undo_blocks(txn, latest, block_number), clear_cache=True)
            # The undone blocks' nodes are deleted (their ids are never handed out again).
            self._parsed_nodes.clear()

    # -- write transactions -----------------------------------------------------------
    def _write(self, work, clear_cache: bool = False):
        """Run ``work(txn)`` in a write transaction, growing the map when it is full.

        The read cache stops serving before the LMDB commit and is refreshed after
        it, so no reader ever mixes blocks. ``work`` returns its result and fills
        ``self._effects`` (cache updates and new in-memory markers).
        """
        cache = self._cache
        while True:
            with cache.lock:
                cache.retire()
            self._effects = _Effects()
            txn = self._env.begin(write=True)
            # A commit allocates many short-lived, acyclic objects next to a large
            # long-lived trie; cyclic GC passes over it would only cost time.
            collecting = gc.isenabled()
            gc.disable()
            try:
                result = work(txn)
                new_overlay = self._effects.overlay
                if new_overlay is _UNSET:
                    txn.commit()
                else:
                    # A reader must never pair the table this commit wrote with the old
                    # overlay's versions of an amended block, nor the new overlay with the
                    # old table: no reader starts between the commit and the swap.
                    with self._readers_lock:
                        txn.commit()
                        self._overlay = new_overlay
            except lmdb.MapFullError:
                txn.abort()
                self._restore_after_failure()
                self._grow_map()
                continue
            except lmdb.Error as exc:
                txn.abort()
                self._restore_after_failure()
                if _is_disk_full(exc):
                    raise DatabaseFull(
                        f"{self.path}: the disk is full ({exc}); free space and retry"
                    ) from None
                if isinstance(exc, lmdb.ReadonlyError):
                    raise DataDirReadOnly(f"{self.path} became read-only: {exc}") from None
                raise
            except BaseException:
                txn.abort()
                self._restore_after_failure()
                raise
            finally:
                if collecting:
                    gc.enable()
            self._publish(self._effects, clear_cache)
            return result

    def _restore_after_failure(self) -> None:
        """Nothing reached LMDB: forget write-side state, serve the cache again."""
        effects = self._effects
        if effects.overlay_added is not None:
            self._overlay.revert(effects.overlay_added, effects.account_puts, effects.overlay_first)
            effects.overlay_added = None
        for name in self._effects.new_tables:
            self._chain_tables.pop(name, None)
        # The aborted merge cached split forms of nodes under ids that were never
        # written (and will be handed out again): drop them.
        self._parsed_nodes.clear()
        with self._cache.lock:
            self._cache.generation = self._generation

    def _publish(self, effects: "_Effects", clear_cache: bool) -> None:
        if effects.latest is not _UNSET:
            self._latest, self._latest_root, self._latest_root_id = (
                effects.latest, effects.latest_root, effects.latest_root_id)
        if effects.oldest is not _UNSET:
            self._oldest = effects.oldest
        if effects.state_version is not _UNSET:
            self._state_version = effects.state_version
        if effects.next_node is not _UNSET:
            self._next_node = effects.next_node
        cache = self._cache
        with cache.lock:
            if clear_cache or effects.clear_slots:
                cache.slots.clear()
            if clear_cache:
                cache.accounts.clear()
            # Write-through: the accounts a block wrote are the likeliest to be read next.
            cache.put_accounts(effects.accounts)
            slots = cache.slots
            for key, value in effects.slots.items():
                if key in slots:
                    slots[key] = value
            self._generation += 1
            cache.generation = self._generation

    def _grow_map(self) -> None:
        """Double the LMDB map; only possible while this process has no read transaction."""
        new_size = self._map_size * 2
        with self._readers_lock:
            readers = len(self._readers)
            if readers or new_size > MAX_MAP_SIZE:
                raise DatabaseFull(
                    f"{self.path}: LMDB map of {self._map_size} bytes is full and cannot grow "
                    f"({f'{readers} readers are open' if readers else 'limit reached'}); "
                    f"reopen with a larger map_size"
                )
            try:
                self._env.set_mapsize(new_size)
            except lmdb.Error as exc:
                raise DatabaseFull(f"{self.path}: cannot grow the LMDB map: {exc}") from None
        self._map_size = new_size

    def _chain_table(self, table: str, txn):
        """Handle of ``chain.<table>``; created inside ``txn`` when given, else None if absent."""
        handle = self._chain_tables.get(table)
        if handle is not None:
            return handle
        name = f"chain.{table}".encode()
        if txn is None:
            try:
                handle = self._env.open_db(name, create=False)
            except lmdb.NotFoundError:
                return None
        else:
            handle = self._env.open_db(name, txn=txn, create=True)
            self._effects.new_tables.append(table)
        self._chain_tables[table] = handle
        return handle

    def _apply_chain_writes(self, txn, writes: list[tuple[str, bytes, Optional[bytes]]]) -> None:
        for table, key, value in writes:
            handle = self._chain_table(table, txn)
            if value is None:
                txn.delete(key, db=handle)
            else:
                txn.put(key, value, db=handle)

    def _trie_updater(self, txn, buffer) -> TrieMerger:
        """The commit's trie merger: reads ``nodes`` in ``txn``, appends (id, record) of new
        nodes to ``buffer`` (a ``NodeBatch``)."""
        return TrieMerger(trie_fetch(txn, self._tables.nodes), buffer, self._next_node, self._parsed_nodes,
                          self._parsed_node_cache)

    def _bump_state_version(self, txn) -> None:
        version = self._state_version + 1
        txn.put(_META_VERSION, block_key(version), db=self._tables.meta)
        self._effects.state_version = version

    def _write_block(self, txn, number: int, extracted: "_Extracted", writes: list, amend: bool) -> bytes:
        tables = self._tables
        effects = self._effects
        new_nodes = NodeBatch()
        trie = self._trie_updater(txn, new_nodes)
        stale: list[bytes] = []  # ids of nodes no longer in this block's tries
        rows = extracted.rows  # the account trie's changes
        rows.truncate(extracted.plain_rows)  # a retried transaction starts over
        account_puts = effects.account_puts
        account_puts.extend(extracted.account_puts)
        # The extraction's cached records (a retried transaction re-adds the same others).
        effects.accounts = extracted.cached
        code_puts = list(extracted.code_puts)
        leaves: list[tuple[bytes, bytes, bytes, bytes]] = []  # (address hash, new leaf, old leaf, storage id)
        storage_roots_db = tables.storage_roots
        get = txn.get

        def storage_id_of(address: bytes) -> bytes:
            return get(address, db=storage_roots_db) or NO_ID

        # Changes the pending state's plain pass left: those without storage work still
        # take one compiled call; storage work and deletions the general path.
        changeset, rest = account_rows(extracted.changes, storage_id_of, leaves, account_puts, code_puts,
                                       effects.accounts)
        changeset_parts = [extracted.changeset, changeset]
        # Replaced nodes matter to pruning and to an amend (it deletes what the block wrote).
        trie.replaced = stale if self._pruning or amend else None
        for change in rest:
            entry = self._apply_account(txn, change, leaves, trie, stale)
            changeset_parts.append(encode_changeset([entry]))
        code_db = tables.code
        for code_hash, code in code_puts:
            txn.put(code_hash, code, db=code_db, overwrite=False)
        rows.extend(leaves)
        root, root_id = trie.update_rows(self._latest_root, self._latest_root_id, rows)
        if len(new_nodes):
            # Ids only grow, so the new records go after every stored one.
            txn.cursor(db=tables.nodes).putmulti(new_nodes, append=True)
        if amend:
            # The table takes the amended block whole; readers of the block as it was
            # keep the overlay and the table their transactions hold.
            self._flush_flat(txn, number, account_puts)
        else:
            overlay = self._overlay
            effects.overlay_first = overlay.first_block
            effects.overlay_added = number
            overlay.add(number, account_puts)
            if self._flush_due(number):
                self._flush_flat(txn, number)
        next_node = trie.next_id
        txn.put(_META_NEXT_NODE, block_key(next_node), db=tables.meta)
        effects.next_node = next_node
        self._bump_state_version(txn)
        number_key = block_key(number)
        if amend:
            previous = txn.get(number_key, db=tables.changes)
            if previous is not None:
                changeset = _merge_changesets(decode_changeset(previous),
                                              decode_changeset(b"".join(changeset_parts)))
                changeset_parts = [encode_changeset(changeset)]
            # Nodes this block wrote and the amend replaced are in no block's trie now.
            first_of_block = self._node_counter_after(txn, number - 1)
            first_key = node_id(first_of_block)
            for record_id in [record_id for record_id in stale if record_id >= first_key]:
                txn.delete(record_id, db=tables.nodes)
            stale = [record_id for record_id in stale if record_id < first_key]
        txn.put(number_key, encode_root_entry(root, root_id, next_node), db=tables.roots)
        if self._pruning and stale:
            stale.sort()
            if amend:
                stale = sorted(set(stale) | set(_split_ids(txn.get(number_key, db=tables.stale) or b"")))
            txn.put(number_key, b"".join(stale), db=tables.stale)
        if number > 0 or amend:
            txn.put(number_key, b"".join(changeset_parts), db=tables.changes)
        self._apply_chain_writes(txn, writes)
        txn.put(_META_LATEST, number_key, db=tables.meta)
        if self._oldest is None:
            txn.put(_META_OLDEST, number_key, db=tables.meta)
            effects.oldest = number
        if self.retention is not None and not amend:
            self._release_old_blocks(txn, number)
        effects.latest, effects.latest_root, effects.latest_root_id = number, root, root_id
        return root

    # -- the flat accounts table (see ``overlay``) ---------------------------------------
    def _flush_flat(self, txn, number: int, amended: list = ()) -> None:
        """Write the overlay's newest records, then ``amended`` ones, to the accounts
        table (in ``txn``, which commits block ``number`` or amends or rolls back to
        it); a new overlay starts once it commits."""
        accounts_db = self._tables.accounts
        if amended:
            merged = self._overlay.newest()
            merged.update(amended)
            puts = sorted((address, flat) for address, flat in merged.items() if flat is not None)
            deletes = [address for address, flat in merged.items() if flat is None]
        else:
            puts, deletes = self._overlay.flush_rows()
        for address in deletes:
            txn.delete(address, db=accounts_db)
        if puts:
            txn.cursor(db=accounts_db).putmulti(puts)
        txn.put(_META_FLAT, block_key(number), db=self._tables.meta)
        self._effects.overlay = self._new_overlay(number)

    def _new_overlay(self, since: Optional[int]) -> FlatOverlay:
        return FlatOverlay(since, min(self._flat_overlay_limit + 1, DEFAULT_FLAT_OVERLAY_LIMIT))

    def _flush_due(self, number: int) -> bool:
        """Whether the commit of block ``number`` also writes the accounts table."""
        overlay = self._overlay
        if overlay.since is None:
            return True  # the first block: no changeset to recover it from
        if overlay.first_block is None:
            return False
        if overlay.entries > self._flat_overlay_limit or number - overlay.first_block >= self._flat_overlay_blocks:
            return True
        # Pruning drops changesets that leave the window; recovery needs those after the table's block.
        return self._pruning and number - self.retention > overlay.since

    def _recover_flat_table(self, txn, flat_block: int, latest: int) -> None:
        """After a crash: write the records of the accounts changed in blocks
        ``flat_block + 1 .. latest`` (their changesets say which) from the latest trie."""
        tables = self._tables
        addresses = set()
        for number in range(flat_block + 1, latest + 1):
            stored = txn.get(block_key(number), db=tables.changes)
            if stored is None:
                raise CorruptDatabase(f"{self.path}: changeset of block {number} is missing; cannot "
                                      "bring the accounts table up to date")
            addresses.update(entry[0] for entry in decode_changeset(stored))
        fetch = trie_fetch(txn, tables.nodes)
        puts = []
        for address in sorted(addresses):
            leaf = walk(fetch, self._latest_root_id, keccak256(address))[0] if self._latest_root_id else b""
            if not leaf:
                txn.delete(address, db=tables.accounts)
                continue
            _, _, storage_root, code_hash = decode_record(leaf)
            puts.append((address, flat_record(leaf, storage_root, code_hash)))
        if puts:
            txn.cursor(db=tables.accounts).putmulti(puts)
        txn.put(_META_FLAT, block_key(latest), db=tables.meta)

    def flush_flat(self) -> None:
        """Bring the accounts table up to date now (``close`` does it; benchmarks time it)."""
        with self._write_lock:
            self._check_open()
            if self._overlay.first_block is None:
                return
            latest = self._latest
            self._write(lambda txn: self._flush_flat(txn, latest))

    def _node_counter_after(self, txn, number: int) -> int:
        """The node counter after block ``number`` (1 before the first block)."""
        if number < 0:
            return 1
        entry = txn.get(block_key(number), db=self._tables.roots)
        return 1 if entry is None else decode_root_entry(entry)[2]

    def _apply_account(self, txn, change: AccountChange, leaves: list[tuple[bytes, bytes, bytes, bytes]],
                       trie: TrieMerger, stale: list[bytes]) -> list:
        """Write one account's flat records and storage trie, queue its account-trie leaf;
        returns its changeset entry. (Accounts without storage work or deletion take the
        inline path in ``_write_block`` instead.)"""
        tables = self._tables
        effects = self._effects
        address = change.address
        base = change.base_record
        old_record = None if base is None else encode_account(*base)
        old_storage_id = txn.get(address, db=tables.storage_roots) or NO_ID
        slot_log: list[list[bytes]] = []
        logged: set[bytes] = set()
        if change.wiped and old_record is not None:
            cursor = txn.cursor(db=tables.storage)
            if cursor.set_range(address):
                while True:
                    key = cursor.key()
                    if key[:20] != address:
                        break
                    slot_log.append([key[20:], cursor.value()])
                    logged.add(key[20:])
                    if not cursor.delete():
                        break
            effects.clear_slots = True
        if (change.wiped or change.record is None) and old_storage_id and self._pruning:
            stale.extend(subtree_ids(trie_fetch(txn, tables.nodes), old_storage_id, False))
        storage = tables.storage
        for slot, value in change.slots.items():
            slot_bytes = slot.to_bytes(32, "big")
            key = address + slot_bytes
            if slot_bytes not in logged:
                old_value = txn.get(key, db=storage)
                slot_log.append([slot_bytes, b"" if old_value is None else old_value])
            if value:
                txn.put(key, value.to_bytes((value.bit_length() + 7) // 8, "big"), db=storage)
            else:
                txn.delete(key, db=storage)
            effects.slots[(address, slot)] = value
        address_hash = keccak256(address)
        storage_id = NO_ID
        if change.record is None:
            effects.account_puts.append((address, None))
            leaves.append((address_hash, b"", old_record or b"", NO_ID))
            effects.accounts[address] = ABSENT_ACCOUNT
        else:
            if change.slots or change.wiped:
                if change.wiped:
                    base_root, base_id = EMPTY_TRIE_ROOT, NO_ID
                else:
                    base_root, base_id = change.base_storage_root, old_storage_id
                entries = sorted(
                    (keccak256(slot.to_bytes(32, "big")), storage_trie_value(value) if value else b"")
                    for slot, value in change.slots.items()
                )
                storage_root, storage_id = trie.update(base_root, base_id, [key for key, _ in entries],
                                                       [value for _, value in entries])
            else:
                storage_root, storage_id = change.base_storage_root, old_storage_id
            nonce, balance, code_hash = change.record
            record = encode_account(nonce, balance, storage_root, code_hash)
            effects.account_puts.append((address, flat_record(record, storage_root, code_hash)))
            leaves.append((address_hash, record, old_record or b"", storage_id))
            if code_hash != EMPTY_KECCAK:
                txn.put(code_hash, change.code, db=tables.code, overwrite=False)
            effects.accounts[address] = (nonce, balance, storage_root, code_hash)
        if storage_id:
            if storage_id != old_storage_id:
                txn.put(address, storage_id, db=tables.storage_roots)
        elif old_storage_id:
            txn.delete(address, db=tables.storage_roots)
        return [address, b"" if old_record is None else old_record, slot_log, old_storage_id]

    def _release_old_blocks(self, txn, latest: int) -> None:
        """Drop roots, changesets and nodes that only blocks outside the window needed."""
        tables = self._tables
        horizon = latest - self.retention
        oldest = self._effects.oldest if self._effects.oldest is not _UNSET else self._oldest
        if oldest is None or horizon <= oldest:
            return
        nodes_db = tables.nodes
        for number in range(oldest, horizon):
            txn.delete(block_key(number), db=tables.roots)
        for number in range(oldest + 1, horizon + 1):
            # Nodes replaced by block ``number`` were needed only by blocks before it.
            key = block_key(number)
            stale = txn.get(key, db=tables.stale)
            if stale is not None:
                for record_id in _split_ids(stale):
                    txn.delete(record_id, db=nodes_db)
                txn.delete(key, db=tables.stale)
        for number in range(oldest, horizon + 1):
            txn.delete(block_key(number), db=tables.changes)
        txn.put(_META_OLDEST, block_key(horizon), db=tables.meta)
        self._effects.oldest = horizon

    def _undo_blocks(self, txn, latest: int, target: int) -> None:
        tables = self._tables
        self._flush_flat(txn, latest)  # the changesets below undo a current table
        for number in range(latest, target, -1):
            key = block_key(number)
            stored = txn.get(key, db=tables.changes)
            if stored is None:
                raise StateUnavailable(f"changeset of block {number} is missing; cannot roll back")
            for address, old_record, slot_log, storage_id in reversed(decode_changeset(stored)):
                for slot_bytes, old_value in slot_log:
                    if old_value:
                        txn.put(address + slot_bytes, old_value, db=tables.storage)
                    else:
                        txn.delete(address + slot_bytes, db=tables.storage)
                if old_record:
                    txn.put(address, old_record, db=tables.accounts)
                else:
                    txn.delete(address, db=tables.accounts)
                if storage_id:
                    txn.put(address, storage_id, db=tables.storage_roots)
                else:
                    txn.delete(address, db=tables.storage_roots)
            txn.delete(key, db=tables.changes)
            txn.delete(key, db=tables.roots)
            txn.delete(key, db=tables.stale)  # what these blocks replaced is live again
        # Every node written after the target block is in no retained trie.
        cursor = txn.cursor(db=tables.nodes)
        if cursor.set_range(node_id(self._node_counter_after(txn, target))):
            while cursor.delete():
                pass
        target_key = block_key(target)
        txn.put(_META_LATEST, target_key, db=tables.meta)
        txn.put(_META_FLAT, target_key, db=tables.meta)
        self._effects.overlay = self._new_overlay(target)
        self._bump_state_version(txn)
        self._effects.latest = target
        self._effects.latest_root, self._effects.latest_root_id, _ = decode_root_entry(
            txn.get(target_key, db=tables.roots))

    # -- maintenance -------------------------------------------------------------------
    def check_integrity(self) -> "IntegrityReport":
        """Full consistency check (slow, O(state)): every retained root's trie is
        complete and every node matches the hash its parent names, stored nodes are
        exactly the reachable ones (pruning mode), and the flat view equals the
        latest trie."""
        self._check_open()
        tables = self._tables
        report = IntegrityReport()
        with self._readers_lock:
            txn = self._env.begin(buffers=False)
            overlay = self._overlay
        with txn:
            fetch = trie_fetch(txn, tables.nodes)
            reached = NodeHashes()
            latest_entry = None
            roots = []
            for key, entry in txn.cursor(db=tables.roots):
                root, root_id, _ = decode_root_entry(entry)
                latest_entry = (root, root_id)
                if root != EMPTY_TRIE_ROOT:
                    roots.append((root, root_id))
            # Every node of every retained trie, each read and hashed once (see verify_tries).
            report.missing_nodes, report.bad_nodes = verify_tries(fetch, roots, reached)
            report.reachable_nodes = len(reached)
            report.unreachable_nodes = sum(1 for key in txn.cursor(db=tables.nodes).iternext(keys=True, values=False)
                                           if key not in reached)
            if latest_entry is not None:
                try:
                    self._compare_flat_with_trie(txn, overlay, latest_entry[1], report)
                except (CorruptDatabase, TrieError):
                    report.missing_nodes += 1
        return report

    def _compare_flat_with_trie(self, txn, overlay: FlatOverlay, root_id: bytes, report: "IntegrityReport") -> None:
        """Count flat records (the table under the overlay) that differ from the state
        trie at ``root_id``."""
        tables = self._tables
        fetch = trie_fetch(txn, tables.nodes)
        trie = {nibbles_to_bytes(path): (value, value_id) for path, value, value_id in iterate(fetch, root_id)}
        flat = dict(txn.cursor(db=tables.accounts))
        flat.update(overlay.newest())
        flat_accounts = 0
        for address, record in sorted(flat.items()):
            if record is None:
                continue
            flat_accounts += 1
            storage_id = txn.get(address, db=tables.storage_roots) or NO_ID
            leaf, leaf_storage_id = trie.get(keccak256(address), (b"", NO_ID))
            if not leaf or decode_record(leaf) != decode_record(record) or leaf_storage_id != storage_id:
                report.flat_mismatches += 1
                continue
            flat_slots = {}
            cursor = txn.cursor(db=tables.storage)
            if cursor.set_range(address):
                for key, value in cursor.iternext():
                    if key[:20] != address:
                        break
                    flat_slots[keccak256(key[20:])] = storage_trie_value(int.from_bytes(value, "big"))
            trie_slots = {nibbles_to_bytes(path): value for path, value, _ in iterate(fetch, storage_id)}
            if trie_slots != flat_slots:
                report.flat_mismatches += 1
        if flat_accounts != len(trie):
            report.flat_mismatches += 1

    def clear_cache(self) -> None:
        """Empty the read cache (benchmarks, memory pressure); it refills on reads."""
        with self._cache.lock:
            self._cache.clear()

    def stats(self) -> dict[str, int]:
        """Entry counts of the internal tables (diagnostics and tests)."""
        self._check_open()
        with self._begin_read() as txn:
            return {name: txn.stat(getattr(self._tables, name))["entries"] for name in _INTERNAL_TABLES}

    def sync(self) -> None:
        """Flush committed transactions to disk (for a database opened with ``sync=False``).

        Without per-commit fsync a committed block already survives a killed
        process (it is in the OS page cache); ``sync`` makes it survive an OS
        crash too. Callers group many commits under one ``sync`` (group commit).
        """
        with self._write_lock:
            if not self._closed:
                self._env.sync(True)

    def close(self) -> None:
        """Close readers, the environment and the writer lock (idempotent)."""
        if self._closed:
            return
        with self._write_lock:
            try:
                if self._overlay.first_block is not None:
                    self.flush_flat()  # a clean reopen needs no recovery
            except (DatabaseFull, DataDirReadOnly):
                pass  # the table catches up from the changesets at the next open
            self._closed = True
            self._env.sync(True)
            with self._readers_lock:
                open_readers = list(self._readers)
            for snapshot in open_readers:
                snapshot.close()
            self._parsed_nodes.clear()
            self._env.close()
            self._lock_file.close()

    def __enter__(self) -> "MetisDB":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_UNSET = object()
_FIRST = itemgetter(0)
_ZERO_ID = bytes(ID_SIZE)


def _split_ids(data: bytes) -> list[bytes]:
    """The ids of a ``stale`` list."""
    return [data[position : position + ID_SIZE] for position in range(0, len(data), ID_SIZE)]


def trie_fetch(txn, nodes_db):
    """``fetch(id) -> record`` over a transaction (``KeyError`` when absent)."""
    get = txn.get

    def fetch(record_id: bytes) -> bytes:
        record = get(record_id, db=nodes_db)
        if record is None:
            raise KeyError(record_id)
        return record

    return fetch


class IntegrityReport:
    """Result of ``MetisDB.check_integrity``; ``ok`` when nothing is wrong."""

    __slots__ = ("missing_nodes", "unreachable_nodes", "reachable_nodes", "bad_nodes", "flat_mismatches")

    def __init__(self) -> None:
        self.missing_nodes = 0
        self.unreachable_nodes = 0
        self.reachable_nodes = 0
        self.bad_nodes = 0  # undecodable, or not the node its parent's hash names
        self.flat_mismatches = 0

    def ok(self, pruned: bool = True) -> bool:
        """No missing or bad node, flat == trie; with ``pruned`` also no garbage."""
        garbage = self.unreachable_nodes if pruned else 0
        return not (self.missing_nodes or self.bad_nodes or self.flat_mismatches or garbage)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)}" for name in self.__slots__)
        return f"IntegrityReport({fields})"


class _Extracted:
    """A pending state's changes as the commit takes them (``PendingState.commit_changes``)."""

    __slots__ = ("rows", "plain_rows", "account_puts", "code_puts", "cached", "changeset", "changes")

    def __init__(self) -> None:
        self.rows = AccountRows()
        self.plain_rows = 0
        self.account_puts: list[tuple[bytes, bytes]] = []
        self.code_puts: list[tuple[bytes, bytes]] = []
        self.cached: dict[bytes, tuple] = {}
        self.changeset = b""
        self.changes: list[AccountChange] = []


class _Effects:
    """What a write transaction changes outside LMDB, applied only after it commits."""

    __slots__ = ("accounts", "slots", "clear_slots", "latest", "latest_root", "latest_root_id", "oldest",
                 "new_tables", "state_version", "account_puts", "next_node", "overlay", "overlay_added",
                 "overlay_first")

    def __init__(self) -> None:
        self.accounts: dict[bytes, tuple] = {}
        self.slots: dict[tuple[bytes, int], int] = {}
        self.clear_slots = False
        self.latest = _UNSET
        self.latest_root = _UNSET
        self.latest_root_id = _UNSET
        self.next_node = _UNSET
        self.oldest = _UNSET
        self.new_tables: list[str] = []
        self.state_version = _UNSET
        self.account_puts: list[tuple[bytes, Optional[bytes]]] = []  # (address, flat record or None)
        self.overlay = _UNSET  # the overlay that starts when this transaction flushed the table
        self.overlay_added: Optional[int] = None  # the block whose versions went into the current overlay
        self.overlay_first = _UNSET  # its first_block before them


def _merge_changesets(older: list, newer: list) -> list:
    """Changeset of two successive edits of one block: the oldest value of each record wins."""
    merged = {address: (old_record, {slot: value for slot, value in slot_log}, storage_id)
              for address, old_record, slot_log, storage_id in older}
    for address, old_record, slot_log, storage_id in newer:
        if address not in merged:
            merged[address] = (old_record, dict(slot_log), storage_id)
            continue
        slots = merged[address][1]
        for slot, value in slot_log:
            slots.setdefault(slot, value)
    return [[address, record, [[slot, value] for slot, value in slots.items()], storage_id]
            for address, (record, slots, storage_id) in merged.items()]


def _is_disk_full(exc: lmdb.Error) -> bool:
    return isinstance(exc, lmdb.DiskError) or "No space left" in str(exc) or str(errno.ENOSPC) in str(exc)


def _acquire_dir_lock(path: Path):
    """Create the data dir if needed and take its exclusive writer lock."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise DataDirReadOnly(f"cannot create data dir {path}: permission denied") from None
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise DataDirReadOnly(f"cannot create data dir {path}: read-only file system") from None
        raise
    if not path.is_dir():
        raise NotADirectoryError(f"MetisDB data dir {path} is not a directory")
    if not os.access(path, os.W_OK):
        raise DataDirReadOnly(f"MetisDB data dir {path} is not writable")
    try:
        lock_file = open(path / _LOCK_FILE, "a+b")
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise DataDirReadOnly(f"MetisDB data dir {path} is not writable: {exc.strerror}") from None
        raise
    try:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.close()
        raise DatabaseLocked(f"MetisDB data dir {path} is in use by another process") from None
    return lock_file


def _open_env(path: Path, map_size: int, sync: bool) -> lmdb.Environment:
    try:
        return lmdb.open(
            str(path),
            map_size=map_size,
            max_dbs=128,
            max_readers=1024,
            subdir=True,
            sync=sync,
            metasync=sync,
            readahead=False,
            meminit=False,  # no zeroing of each dirty page's unused tail before it is written
        )
    except lmdb.InvalidError:
        raise IncompatibleFormat(f"{path} does not hold an LMDB environment MetisDB can read") from None
    except lmdb.VersionMismatchError as exc:
        raise IncompatibleFormat(f"{path} was written by an incompatible LMDB version: {exc}") from None
    except lmdb.Error as exc:
        if _is_disk_full(exc):
            raise DatabaseFull(f"cannot open {path}: disk full") from None
        if "Permission denied" in str(exc) or "Read-only" in str(exc):
            raise DataDirReadOnly(f"cannot open {path}: {exc}") from None
        raise
