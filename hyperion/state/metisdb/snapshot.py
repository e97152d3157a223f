"""``Snapshot``: the state as of one block, over an LMDB read transaction (MVCC).

The latest block is read from the flat tables (through the read cache); an
older retained block is read through its state trie (``roots`` gives the
root's node id, ``nodes`` the trie, walked by id: ``nodelog``), which is
slower but needs no per-block copy of the flat view. Either way the read transaction pins what the reader sees,
whatever the writer commits meanwhile.
"""

from __future__ import annotations

from typing import Iterable, Optional

import lmdb

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.account import check_uint, storage_trie_key
from hyperion.state.database import DatabaseClosed, PendingState
from hyperion.state.metisdb.codec import ABSENT_ACCOUNT, decode_record, decode_slot_leaf
from hyperion.state.metisdb.errors import CorruptDatabase
from hyperion.state.metisdb.nodelog import NO_ID, iterate, walk
from hyperion.state.metisdb.overlay import FlatOverlay
from hyperion.trie.nibbles import nibbles_to_bytes


_NO_CACHE = -1  # a generation no cache ever has


class Snapshot:
    """Read-only state as of ``block_number`` (a ``StateReader``); close it when done.

    ``db`` is the ``MetisDB`` that opened it: the snapshot reads its cache and
    tables, reports its closing, and asks it for pending states.
    """

    __slots__ = (
        "block_number",
        "state_root",
        "root_id",
        "_db",
        "_txn",
        "_cache",
        "_generation",
        "_flat",
        "_tables",
        "_fetch",
        "_overlay",
        "state_version",
        "__weakref__",
    )

    def __init__(self, db, txn, block_number: Optional[int], state_root: bytes, root_id: bytes,
                 flat: bool, generation: Optional[int], state_version: int = 0,
                 overlay: Optional[FlatOverlay] = None) -> None:
        self.block_number = block_number
        self.state_version = state_version  # changes with every commit, amend and rollback
        self.state_root = state_root
        self.root_id = root_id
        self._db = db
        self._txn = txn
        self._cache = db._cache
        self._generation = _NO_CACHE if generation is None or not flat else generation
        self._flat = flat
        # Account records newer than the accounts table this transaction sees (latest only).
        self._overlay = overlay if flat and block_number is not None else None
        self._tables = db._tables
        get = txn.get
        nodes_db = db._tables.nodes

        def fetch(record_id: bytes) -> bytes:
            record = get(record_id, db=nodes_db)
            if record is None:
                raise KeyError(record_id)
            return record

        self._fetch = fetch  # a node record by id, for trie walks

    # -- hot paths ---------------------------------------------------------------------
    def get_balance(self, address: bytes) -> int:
        cache = self._cache
        generation = self._generation
        if cache.generation == generation:
            record = cache.accounts.get(address)
            if record is not None and cache.generation == generation:
                return record[1]
        return self.account_record(address)[1]

    def get_nonce(self, address: bytes) -> int:
        cache = self._cache
        generation = self._generation
        if cache.generation == generation:
            record = cache.accounts.get(address)
            if record is not None and cache.generation == generation:
                return record[0]
        return self.account_record(address)[0]

    def get_storage(self, address: bytes, key: int) -> int:
        cache = self._cache
        generation = self._generation
        if cache.generation == generation:
            value = cache.slots.get((address, key))
            if value is not None and cache.generation == generation:
                return value
        return self.slot_value(address, key)

    def get_code_hash(self, address: bytes) -> bytes:
        return self.account_record(address)[3]

    def get_code(self, address: bytes) -> bytes:
        return self.code(self.account_record(address)[3])

    def account_exists(self, address: bytes) -> bool:
        return self.account_record(address) is not ABSENT_ACCOUNT

    def storage_root(self, address: bytes) -> bytes:
        return self.account_record(address)[2]

    # -- loading -------------------------------------------------------------------------
    def _live_txn(self):
        txn = self._txn
        if txn is None:
            raise DatabaseClosed("this state snapshot is closed")
        return txn

    def _account_leaf(self, address: bytes) -> tuple[bytes, bytes, list[bytes]]:
        """(account record or b"", storage root id, proof) from the account trie."""
        self._live_txn()
        if not isinstance(address, bytes):
            raise ValueError(f"address must be bytes, got {address!r}")
        return walk(self._fetch, self.root_id, keccak256(address))

    def storage_root_id(self, address: bytes) -> bytes:
        """Node id of the account's storage trie root (b"" when it has no storage)."""
        if self._flat:
            return self._live_txn().get(address, db=self._tables.storage_roots) or NO_ID
        return self._account_leaf(address)[1]

    def account_record(self, address: bytes) -> tuple[int, int, bytes, bytes]:
        """(nonce, balance, storage_root, code_hash); ``ABSENT_ACCOUNT`` if missing."""
        txn = self._txn
        if txn is None:
            raise DatabaseClosed("this state snapshot is closed")
        if self._flat:
            generation = self._generation
            cache = self._cache
            if cache.generation == generation:
                record = cache.accounts.get(address)
                if record is not None and cache.generation == generation:
                    return record
            overlay = self._overlay
            record = None if overlay is None else overlay.record(address, self.block_number)
            if record is None:
                try:
                    data = txn.get(address, db=self._tables.accounts)
                except (TypeError, lmdb.BadValsizeError):
                    raise ValueError(f"address must be bytes, got {address!r}") from None
                record = ABSENT_ACCOUNT if data is None else decode_record(data)
            if generation != _NO_CACHE:
                cache.insert_account(generation, address, record)
            return record
        data = self._account_leaf(address)[0]
        return ABSENT_ACCOUNT if not data else decode_record(data)

    def slot_value(self, address: bytes, slot: int) -> int:
        """Value of a storage slot (0 if unset or the account is absent)."""
        txn = self._live_txn()
        try:
            slot_bytes = slot.to_bytes(32, "big")
        except (AttributeError, OverflowError, TypeError):
            raise ValueError(f"storage key must be an int in [0, 2**256), got {slot!r}") from None
        if self._flat:
            generation = self._generation
            try:
                data = txn.get(address + slot_bytes, db=self._tables.storage)
            except TypeError:
                raise ValueError(f"address must be bytes, got {address!r}") from None
            value = 0 if data is None else int.from_bytes(data, "big")
            if generation != _NO_CACHE:
                self._cache.insert_slot(generation, (address, slot), value)
            return value
        storage_id = self._account_leaf(address)[1]
        leaf = walk(self._fetch, storage_id, keccak256(slot_bytes))[0] if storage_id else b""
        return decode_slot_leaf(leaf) if leaf else 0

    def code(self, code_hash: bytes) -> bytes:
        """Code by hash (b"" for the empty code hash)."""
        if code_hash == EMPTY_KECCAK:
            return b""
        data = self._live_txn().get(code_hash, db=self._tables.code)
        if data is None:
            raise CorruptDatabase(f"code {code_hash.hex()} is referenced but not stored")
        return data

    def has_storage_besides(self, address: bytes, cleared: set[int]) -> bool:
        """True if some non-zero slot of the account is not among ``cleared`` (EIP-7610)."""
        txn = self._live_txn()
        if self._flat:
            cursor = txn.cursor(db=self._tables.storage)
            if not cursor.set_range(address):
                return False
            for key in cursor.iternext(keys=True, values=False):
                if key[:20] != address:
                    return False
                if int.from_bytes(key[20:], "big") not in cleared:
                    return True
            return False
        storage_id = self._account_leaf(address)[1]
        cleared_hashes = {keccak256(storage_trie_key(slot)) for slot in cleared}
        for path, _, _ in iterate(self._fetch, storage_id):
            if nibbles_to_bytes(path) not in cleared_hashes:
                return True
        return False

    def storage_items(self, address: bytes) -> dict[int, int]:
        """Every non-zero slot of the account (flat snapshots only: the trie keeps hashed keys)."""
        if not self._flat:
            raise ValueError("slot enumeration needs the latest block (tries store hashed keys)")
        cursor = self._live_txn().cursor(db=self._tables.storage)
        items: dict[int, int] = {}
        if cursor.set_range(address):
            for key, value in cursor.iternext():
                if key[:20] != address:
                    break
                items[int.from_bytes(key[20:], "big")] = int.from_bytes(value, "big")
        return items

    # -- proofs ---------------------------------------------------------------------------
    def account_proof(self, address: bytes, slots: Iterable[int] = ()) -> dict:
        """EIP-1186 proof: {address, accountProof, balance, codeHash, nonce, storageHash,
        storageProof[{key, value, proof}]}; proofs are lists of RLP nodes, root first."""
        self._live_txn()
        if not isinstance(address, bytes) or len(address) != 20:
            raise ValueError(f"address must be 20 bytes, got {address!r}")
        nonce, balance, storage_root, code_hash = self.account_record(address)
        _, storage_id, account_proof = self._account_leaf(address)
        storage_proofs = []
        for slot in slots:
            check_uint(slot, 256, "storage key")
            _, _, proof = walk(self._fetch, storage_id, keccak256(storage_trie_key(slot)))
            storage_proofs.append({"key": slot, "value": self.slot_value(address, slot), "proof": proof})
        return {
            "address": address,
            "accountProof": account_proof,
            "balance": balance,
            "codeHash": code_hash,
            "nonce": nonce,
            "storageHash": storage_root,
            "storageProof": storage_proofs,
        }

    # -- lifecycle -----------------------------------------------------------------------
    def pending(self) -> PendingState:
        """A writable ``WorldState`` on top of this snapshot (eth_call, estimates, tracing).

        The database that opened the snapshot makes it: the engine owns both
        kinds of state, and this module knows neither the engine nor the pending layer.
        """
        self._live_txn()
        return self._db.pending_on(self)

    def close(self) -> None:
        """End the read transaction (idempotent)."""
        txn = self._txn
        if txn is not None:
            self._txn = None
            self._generation = _NO_CACHE - 1
            try:
                txn.abort()
            except lmdb.Error:
                pass
            self._db._reader_closed(self)

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
