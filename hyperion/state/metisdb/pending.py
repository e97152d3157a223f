"""``PendingState``: a writable ``WorldState`` layered over a ``Snapshot``.

It *is* a ``MemoryState`` (same journal, snapshots, original/transient
storage, warm sets, touch and EIP-161 rules, so the semantics are identical
by construction); only its account map and each loaded account's storage
map are lazy: a miss reads the snapshot once and keeps the result. Writes
stay in memory until ``MetisDB.commit``.

What changed is read back at commit time:
- an account object loaded from the snapshot and still present keeps its
  storage map, which records the slots written (``written``) and their values
  at load (``base``); only those slots can differ from the snapshot;
- any other account object present (created, re-created after a destroy,
  or replaced by ``set_account``) means "storage starts empty";
- an address known absent that existed in the snapshot was deleted.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Iterator, NamedTuple, Optional

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.account import Account, encode_account, storage_trie_key, storage_trie_value
from hyperion.state.lazy import LazyAccountMap
from hyperion.state.memory import _BALANCE, MemoryState
from hyperion.state.metisdb.codec import ABSENT_ACCOUNT
from hyperion.state.metisdb.native import TrieMerger, plain_changes, plain_rows
from hyperion.state.metisdb.native import load_account as compiled_load_account
from hyperion.state.metisdb.nodelog import NO_ID
from hyperion.trie.codec import EMPTY_TRIE_ROOT

if TYPE_CHECKING:
    from hyperion.state.metisdb.snapshot import Snapshot


class LazyStorage(dict):
    """Slot -> non-zero value; a miss reads the snapshot. Tracks written slots."""

    __slots__ = ("_snapshot", "_address", "_absent", "base", "written")

    def __init__(self, snapshot: "Snapshot", address: bytes) -> None:
        # (dict.__new__ already made the empty mapping; no dict.__init__ call needed)
        self._snapshot = snapshot
        self._address = address
        self._absent: set[int] = set()  # slots known to be zero now
        self.base: dict[int, int] = {}  # value in the snapshot of every slot looked at
        self.written: set[int] = set()

    def get(self, key: int, default: int = 0) -> int:
        value = dict.get(self, key)
        if value is not None:
            return value
        if key in self._absent:
            return default
        value = self._snapshot.slot_value(self._address, key)
        self.base[key] = value
        if value:
            dict.__setitem__(self, key, value)
            return value
        self._absent.add(key)
        return default

    def __getitem__(self, key: int) -> int:
        value = self.get(key)
        if not value:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return bool(self.get(key))  # type: ignore[arg-type]

    def __setitem__(self, key: int, value: int) -> None:
        if key not in self.base:
            self.get(key)
        dict.__setitem__(self, key, value)
        self._absent.discard(key)
        self.written.add(key)

    def __delitem__(self, key: int) -> None:
        self.pop(key)

    def pop(self, key: int, default: Optional[int] = None) -> Optional[int]:  # type: ignore[override]
        if key not in self.base:
            self.get(key)
        value = dict.pop(self, key, None)
        self._absent.add(key)
        self.written.add(key)
        return default if value is None else value

    def __bool__(self) -> bool:
        if dict.__len__(self):
            return True
        return self._snapshot.has_storage_besides(self._address, self._absent)

    def changes(self) -> dict[int, int]:
        """Written slots whose value differs from the snapshot (0 = deleted)."""
        base = self.base
        changed = {}
        for key in self.written:
            value = dict.get(self, key, 0)
            if value != base.get(key, 0):
                changed[key] = value
        return changed


_new_account = object.__new__


class LazyAccounts(LazyAccountMap):
    """Address -> ``Account``; a miss reads the snapshot once, absence is remembered."""

    __slots__ = ("_snapshot", "absent", "loaded")

    def __init__(self, snapshot: "Snapshot") -> None:
        super().__init__()
        self._snapshot = snapshot
        self.absent: set[bytes] = set()
        # address -> (the Account object made at load, its snapshot record
        # (nonce, balance, storage_root, code_hash)): what the account was in the snapshot.
        self.loaded: dict[bytes, tuple[Account, tuple]] = {}

    def _load(self, address: bytes) -> Optional[Account]:
        if compiled_load_account is not None:  # the same steps in one C call
            return compiled_load_account(self, address)
        return self._load_python(address)

    def _load_python(self, address: bytes) -> Optional[Account]:
        """The reference of the compiled loader: read the snapshot's record, make the Account."""
        snapshot = self._snapshot
        # The read cache's hit path inline (Snapshot.get_balance's rule: the entry counts
        # only while the cache is at the snapshot's generation, checked before and after).
        cache = snapshot._cache
        generation = snapshot._generation
        record = cache.accounts.get(address) if cache.generation == generation else None
        if record is None or cache.generation != generation:
            record = snapshot.account_record(address)
        if record is ABSENT_ACCOUNT:
            self.absent.add(address)
            return None
        nonce, balance, storage_root, code_hash = record
        # Every field set here, without Account.__init__ (it would build a storage dict
        # only to replace it, and test the lazy storage for emptiness): one per account read.
        account = _new_account(Account)
        account.nonce = nonce
        account.balance = balance
        account.code = b"" if code_hash == EMPTY_KECCAK else snapshot.code(code_hash)
        account.code_hash = code_hash
        # An account with an empty storage root has no slot to load: a plain dict serves
        # (its non-zero entries are exactly the changes), and most accounts are such.
        account.storage = {} if storage_root == EMPTY_TRIE_ROOT else LazyStorage(snapshot, address)
        account.storage_root = storage_root
        account.address_hash = None
        self.loaded[address] = (account, record)
        dict.__setitem__(self, address, account)
        return account


class AccountChange(NamedTuple):
    """Net change of one account against the snapshot."""

    address: bytes
    record: Optional[tuple[int, int, bytes]]  # (nonce, balance, code_hash); None = deleted
    code: bytes
    wiped: bool  # storage starts empty (deleted, created or replaced)
    slots: dict[int, int]  # slot -> new value (0 = delete), applied after a wipe
    base_storage_root: bytes  # storage root in the snapshot (empty if absent)
    base_record: Optional[tuple[int, int, bytes, bytes]]  # the snapshot's record; None if absent


_address_of = itemgetter(0)
_NO_SLOTS: dict[int, int] = {}  # shared by every change without slot writes; never mutated  # sort key of an AccountChange (addresses are distinct)


class PendingState(MemoryState):
    """Journaled writable state over a snapshot; ``MetisDB.commit`` persists it."""

    __slots__ = ("base_snapshot", "parent_block", "_owner", "_consumed", "_destroyed_storage")

    def __init__(self, snapshot: "Snapshot") -> None:
        super().__init__()
        self._accounts = LazyAccounts(snapshot)
        self.base_snapshot = snapshot
        self.parent_block = snapshot.block_number
        self._owner = snapshot._db
        self._consumed = False
        # Storage maps of accounts destroyed in the current transaction: their
        # unread slots still hold the values the transaction started with.
        self._destroyed_storage: dict[bytes, LazyStorage] = {}

    # -- where lazily loaded storage needs care ------------------------------------------
    def destroy_account(self, address: bytes) -> None:
        """As ``MemoryState``; slots never read keep their original value via the old map."""
        account = self._accounts.get(address)
        if account is not None and isinstance(account.storage, LazyStorage):
            self._destroyed_storage.setdefault(address, account.storage)
        super().destroy_account(address)

    def set_storage(self, address: bytes, key: int, value: int) -> None:
        """As ``MemoryState``; a slot of an account destroyed in this transaction keeps
        the original value it had (``MemoryState`` records those at destroy time)."""
        destroyed = self._destroyed_storage
        if destroyed and address in destroyed:
            slot = (address, key)
            if slot not in self._original_storage:
                self._original_storage[slot] = destroyed[address].get(key, 0)
        MemoryState.set_storage(self, address, key, value)

    def get_original_storage(self, address: bytes, key: int) -> int:
        """Value of the slot at the start of the current transaction (EIP-2200)."""
        if address in self._created:
            return 0
        original = self._original_storage.get((address, key))
        if original is not None:
            return original
        destroyed = self._destroyed_storage.get(address)
        if destroyed is not None:
            return destroyed.get(key, 0)
        account = self._accounts.get(address)
        return 0 if account is None else account.storage.get(key, 0)

    def set_balance(self, address: bytes, value: int) -> None:
        """As ``MemoryState`` (same journal entry), without its generic lookup chain when
        the account exists: a balance write is the most frequent state write. (Replaced
        below by the same steps in C when built; this is their reference.)"""
        if self._owned is None:
            accounts = self._accounts
            account = dict.get(accounts, address)
            if account is None and address not in accounts.loaded and address not in accounts.absent:
                account = accounts._load(address)
            if account is not None:
                # (No ``_dirty_accounts`` entry: this state's roots come from the
                # commit-time merge, which never reads it.)
                self._journal.append((_BALANCE, account, account.balance, address))
                account.balance = value
                return
        MemoryState.set_balance(self, address, value)

    def begin_transaction(self) -> None:
        super().begin_transaction()
        if self._destroyed_storage:
            self._destroyed_storage = {}

    # -- overrides where MemoryState would walk every account --------------------------
    def accounts(self) -> Iterator[tuple[bytes, Account]]:
        """Only the accounts this pending state has loaded or written."""
        return iter(list(dict.items(self._accounts)))

    def get_storage_items(self, address: bytes) -> dict[int, int]:
        """Non-zero slots of the account (needs a snapshot of the latest block)."""
        account = self._accounts.get(address)
        if account is None:
            return {}
        storage = account.storage
        if not isinstance(storage, LazyStorage):
            return dict(storage)
        items = self.base_snapshot.storage_items(address)
        for key in storage.written:
            value = dict.get(storage, key, 0)
            if value:
                items[key] = value
            else:
                items.pop(key, None)
        return items

    def copy(self) -> "MemoryState":
        raise NotImplementedError("a PendingState cannot be copied; open another one")

    # -- change extraction ---------------------------------------------------------------
    def changes(self) -> list[AccountChange]:
        """Net account changes against the snapshot, sorted by address."""
        changes = self.unordered_changes()
        changes.sort(key=_address_of)
        return changes

    def unordered_changes(self) -> list[AccountChange]:
        """``changes`` in no particular order (the commit sorts what it writes itself)."""
        accounts = self._accounts
        # Accounts loaded without storage and only given a new balance, nonce or code: in
        # one compiled pass when built (most accounts of most blocks).
        changes, others = plain_changes(accounts, accounts.loaded, _NO_SLOTS, AccountChange)
        changes.extend(self._general_changes(others))
        return changes

    def commit_changes(self, rows, account_puts: list, code_puts: list, cached: dict) -> tuple[bytes, list]:
        """What ``MetisDB.commit`` writes: the common case (accounts loaded without storage
        and given a new balance, nonce or code) goes straight into the commit's trie
        ``rows``, flat records, code and cached records (``native.plain_rows``), with
        their changeset entries returned; every other change as an ``AccountChange``."""
        accounts = self._accounts
        changeset, others = plain_rows(accounts, accounts.loaded, rows, account_puts, code_puts, cached)
        return changeset, self._general_changes(others)

    def _general_changes(self, others: list) -> list[AccountChange]:
        """Changes of the ``(address, account)`` pairs the plain pass left, and of
        deleted accounts."""
        accounts = self._accounts
        loaded = accounts.loaded
        changes: list[AccountChange] = []
        snapshot = self.base_snapshot
        new_change = tuple.__new__  # AccountChange(...) without the generated __new__ (hot loop)
        for address, account in others:
            base = loaded.get(address)
            if base is not None:
                base_account, base_record = base
                if base_account is account:
                    storage = account.storage
                    if type(storage) is dict:  # loaded with no storage (see LazyAccounts._load)
                        slots = {key: value for key, value in storage.items() if value} if storage else _NO_SLOTS
                    else:
                        slots = storage.changes() if storage.written else _NO_SLOTS
                    if (not slots and account.balance == base_record[1] and account.nonce == base_record[0]
                            and account.code_hash == base_record[3]):
                        continue
                    changes.append(new_change(AccountChange, (
                        address, (account.nonce, account.balance, account.code_hash), account.code,
                        False, slots, base_record[2], base_record)))
                    continue
            else:
                base_record = snapshot.account_record(address)
                if base_record is ABSENT_ACCOUNT:
                    base_record = None
            base_root = EMPTY_TRIE_ROOT if base_record is None else base_record[2]
            slots = {key: value for key, value in account.storage.items() if value}
            record = (account.nonce, account.balance, account.code_hash)
            changes.append(AccountChange(address, record, account.code, True, slots, base_root, base_record))
        for address in accounts.absent:
            base = loaded.get(address)
            if base is not None:
                base_record = base[1]
                changes.append(AccountChange(address, None, b"", True, {}, base_record[2], base_record))
        return changes

    def state_root(self) -> bytes:
        """State root with the changes so far (new nodes stay in memory)."""
        trie = self._scratch_trie()
        leaves = sorted((keccak256(change.address), *self._leaf(trie, change)) for change in self.changes())
        if not leaves:
            return self.base_snapshot.state_root
        root, _ = trie.update(self.base_snapshot.state_root, self.base_snapshot.root_id,
                              [key for key, _, _ in leaves], [leaf for _, leaf, _ in leaves],
                              value_ids=[storage_id for _, _, storage_id in leaves])
        return root

    def storage_root(self, address: bytes) -> bytes:
        """Storage root of one account with the changes so far."""
        for change in self.changes():
            if change.address == address:
                if change.record is None:
                    return EMPTY_TRIE_ROOT
                return self._storage_root(self._scratch_trie(), change)[0]
        return self.base_snapshot.account_record(address)[2]

    def _scratch_trie(self) -> TrieMerger:
        """A trie merger over the snapshot's nodes that keeps new nodes in memory."""
        fetch = self.base_snapshot._fetch
        new: dict[bytes, bytes] = {}

        def read(record_id: bytes) -> bytes:
            record = new.get(record_id)
            return fetch(record_id) if record is None else record

        # Ids far above any stored one: these nodes are never written.
        return TrieMerger(read, new.__setitem__, next_id=1 << 62)

    def _storage_root(self, trie: TrieMerger, change: AccountChange) -> tuple[bytes, bytes]:
        """(storage root, its node id) of a changed account."""
        snapshot = self.base_snapshot
        if not change.slots and not change.wiped:
            if change.base_storage_root == EMPTY_TRIE_ROOT:
                return EMPTY_TRIE_ROOT, NO_ID
            return change.base_storage_root, snapshot.storage_root_id(change.address)
        if change.wiped:
            base_root, base_id = EMPTY_TRIE_ROOT, NO_ID
        else:
            base_root, base_id = change.base_storage_root, snapshot.storage_root_id(change.address)
        entries = sorted((keccak256(storage_trie_key(slot)), storage_trie_value(value) if value else b"")
                         for slot, value in change.slots.items())
        return trie.update(base_root, base_id, [key for key, _ in entries], [value for _, value in entries])

    def _leaf(self, trie: TrieMerger, change: AccountChange) -> tuple[bytes, bytes]:
        """(account-trie leaf or b"" when deleted, storage root id) of a changed account."""
        if change.record is None:
            return b"", NO_ID
        storage_root, storage_id = self._storage_root(trie, change)
        nonce, balance, code_hash = change.record
        return encode_account(nonce, balance, storage_root, code_hash), storage_id

    def account_proof(self, address: bytes, slots=()) -> dict:
        raise NotImplementedError("proofs are served by committed snapshots (MetisDB.reader)")


PendingState._set_balance_python = PendingState.set_balance

if compiled_load_account is not None:
    from hyperion.state.memory import MemoryState as _MemoryState
    from hyperion.state.metisdb import native as _native
    from hyperion.state.metisdb.cache import StateCache as _StateCache
    from hyperion.state.metisdb.snapshot import Snapshot as _Snapshot

    # The compiled loader and set_balance reach these classes' __slots__ directly.
    _native.bind_layout(account=Account, snapshot=_Snapshot, cache=_StateCache, lazy_accounts=LazyAccounts,
                        pending=PendingState, lazy_storage=LazyStorage, absent=ABSENT_ACCOUNT,
                        balance_tag=_BALANCE, generic_set_balance=_MemoryState.set_balance)
    PendingState.set_balance = _native.pending_methods()["set_balance"]
