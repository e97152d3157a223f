"""``MemoryStateDatabase``: the state-database protocol kept entirely in memory.

For ``--in-memory`` nodes and tests. Every committed block keeps its own
``MemoryState``; block states and pending states share their account records
copy-on-write (a state clones a record on its first write to it), and the
trie nodes of all of them live in one content-addressed dict, so a commit
costs O(accounts touched) plus the re-hashing of the changed trie paths.
The caller may keep using or drop a committed pending state: committing
hands its records to the block, and its later writes clone them.

Large storages (system contracts' ring buffers, big tokens) would still cost
a dict copy per block and per retained block. A committed block therefore
keeps such an account with a ``FrozenStorage``: it reads from the account's
dict while that dict is unchanged, and from the block's storage trie after
the next block's pending state has taken the dict over (without copying).

Retention: ``retention=None`` keeps every block (archive); ``retention=R``
keeps blocks ``latest - R .. latest``, which also bounds ``rollback``.
"""

from __future__ import annotations

import bisect

import threading
from typing import Iterable, Iterator, Mapping, Optional

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.state.account import Account

from hyperion.state.database import (
    DatabaseClosed,
    InvalidCommit,
    StateUnavailable,
    check_table_name,
    validate_chain_writes,
)
from hyperion.state.memory import MemoryState
from hyperion.trie.codec import EMPTY_TRIE_ROOT
from hyperion.trie.hexary import HexaryTrie

# Storages with at least this many slots are frozen (not copied) when a block is committed.
FROZEN_STORAGE_MIN_SLOTS = 512


class FrozenStorage(Mapping):
    """Read-only slot map of one account in a committed block.

    While ``live`` is set it is the very dict the block committed (reads are
    dict lookups); ``detach()`` is called before the next pending state starts
    writing that dict, after which reads walk the block's storage trie (its
    nodes and slot preimages are kept by the database).
    """

    __slots__ = ("_live", "_root", "_nodes", "_preimages", "_lock")

    def __init__(self, live: dict[int, int], root: bytes, nodes: dict, preimages: dict[bytes, int]) -> None:
        self._live: Optional[dict[int, int]] = live
        self._root = root
        self._nodes = nodes
        self._preimages = preimages
        self._lock = threading.Lock()

    def detach(self) -> None:
        """Stop reading the live dict: its owner is about to change it."""
        with self._lock:
            self._live = None

    def get(self, key: object, default=None):
        with self._lock:
            live = self._live
            if live is not None:
                return live.get(key, default)
        if type(key) is not int or not 0 <= key < 1 << 256:
            return default
        raw = HexaryTrie(self._nodes, self._root).get(keccak256(key.to_bytes(32, "big")))
        return int.from_bytes(rlp.decode(raw), "big") if raw else default

    def __getitem__(self, key: object) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def items(self) -> list[tuple[int, int]]:  # type: ignore[override]
        """Every ``(slot, value)``, in one pass over the dict or the trie."""
        with self._lock:
            live = self._live
            if live is not None:
                return list(live.items())
        preimages = self._preimages
        return [(preimages[hashed], int.from_bytes(rlp.decode(raw), "big"))
                for hashed, raw in HexaryTrie(self._nodes, self._root).items()]

    def __iter__(self) -> Iterator[int]:
        return iter([slot for slot, _ in self.items()])

    def __len__(self) -> int:
        return len(self.items())

    def __bool__(self) -> bool:
        return self._root != EMPTY_TRIE_ROOT


class MemoryPendingState(MemoryState):
    """A ``MemoryState`` that remembers which block it was built on."""

    __slots__ = ("parent_block", "_owner")

    def __init__(self, parent_block: Optional[int] = None, owner: object = None) -> None:
        super().__init__()
        self.parent_block = parent_block
        self._owner = owner


def _copy_accounts_into(target: MemoryState, source: MemoryState) -> MemoryState:
    """Give ``target`` ``source``'s accounts, shared copy-on-write (journal and tx sets stay empty)."""
    target.share_from(source)
    return target


def _freeze(pending: MemoryState) -> tuple[MemoryState, bytes, dict[bytes, Account]]:
    """A block state sharing ``pending``'s records, its root, and the large-storage records handed off.

    ``pending`` gives up ownership of everything. Each written account with a
    large storage is replaced (in both states) by a copy reading through a
    ``FrozenStorage``; the original record is returned for the next pending state.
    """
    root = pending.state_root()
    owned = pending._owned
    candidates = pending._accounts.items() if owned is None else owned.items()
    accounts = pending._accounts
    bases = pending._storage_bases
    handoff: dict[bytes, Account] = {}
    for address, account in list(candidates):
        storage = account.storage
        if (accounts.get(address) is not account or type(storage) is not dict
                or len(storage) < FROZEN_STORAGE_MIN_SLOTS or bases.get(address) != account.storage_root):
            continue
        frozen = Account(account.nonce, account.balance, account.code, account.code_hash,
                         FrozenStorage(storage, account.storage_root, pending._trie_nodes, pending._slot_preimages))
        frozen.storage_root = account.storage_root
        frozen.address_hash = account.address_hash
        accounts[address] = frozen
        handoff[address] = account
    stored = _copy_accounts_into(MemoryState(), pending)
    pending.release_ownership()
    return stored, root, handoff


class MemoryStateReader:
    """Read-only view of one block's ``MemoryState`` (the object is never mutated again)."""

    __slots__ = ("block_number", "state_root", "_state", "_owner")

    def __init__(self, block_number: int, state_root: bytes, state: MemoryState, owner: object) -> None:
        self.block_number = block_number
        self.state_root = state_root
        self._state = state
        self._owner = owner

    def get_balance(self, address: bytes) -> int:
        return self._state.get_balance(address)

    def get_nonce(self, address: bytes) -> int:
        return self._state.get_nonce(address)

    def get_code(self, address: bytes) -> bytes:
        return self._state.get_code(address)

    def get_code_hash(self, address: bytes) -> bytes:
        return self._state.get_code_hash(address)

    def get_storage(self, address: bytes, key: int) -> int:
        return self._state.get_storage(address, key)

    def account_exists(self, address: bytes) -> bool:
        return self._state.account_exists(address)

    def storage_root(self, address: bytes) -> bytes:
        return self._state.storage_root(address)

    def account_proof(self, address: bytes, slots: Iterable[int] = ()) -> dict:
        """EIP-1186 proof of the account and ``slots`` against ``state_root``."""
        return self._state.account_proof(address, tuple(slots))

    def pending(self) -> MemoryPendingState:
        """A writable copy on top of this block (for eth_call and friends)."""
        return _copy_accounts_into(MemoryPendingState(self.block_number, self._owner), self._state)

    def close(self) -> None:
        """Nothing to release: the block's state is immutable."""

    def __enter__(self) -> "MemoryStateReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MemoryStateDatabase:
    """In-memory ``StateDatabase``: per-block state copies and dict-backed chain tables."""

    def __init__(self, retention: Optional[int] = None) -> None:
        if retention is not None and (type(retention) is not int or retention < 0):
            raise ValueError(f"retention must be None (archive) or an int >= 0, got {retention!r}")
        self.retention = retention
        self._states: dict[int, MemoryState] = {}
        self._roots: dict[int, bytes] = {}
        self._chain: dict[str, dict[bytes, bytes]] = {}
        self._sorted_keys: dict[str, list[bytes]] = {}   # tables read by chain_scan, keys kept sorted
        self._latest: Optional[int] = None
        self._closed = False
        # the latest block's large-storage records, for the next pending state to take over
        self._handoff: dict[bytes, Account] = {}

    # -- helpers ------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed("the state database is closed")

    def _resolve(self, block_number: Optional[int]) -> int:
        self._check_open()
        if block_number is None:
            if self._latest is None:
                raise StateUnavailable("the database holds no block yet")
            return self._latest
        if block_number not in self._states:
            raise StateUnavailable(
                f"state of block {block_number} is not retained "
                f"(available: {self.oldest_block_number()}..{self._latest})"
            )
        return block_number

    def _check_pending(self, pending: object) -> MemoryPendingState:
        if not isinstance(pending, MemoryPendingState) or pending._owner is not self:
            raise InvalidCommit("pending state was not created by this database")
        if pending.parent_block != self._latest:
            raise InvalidCommit(
                f"pending state is built on block {pending.parent_block}, "
                f"but the latest block is {self._latest}"
            )
        return pending

    # -- protocol -------------------------------------------------------------------
    def latest_block_number(self) -> Optional[int]:
        """Highest committed block, or None for an empty database."""
        self._check_open()
        return self._latest

    def oldest_block_number(self) -> Optional[int]:
        """Lowest block whose state is still retained."""
        return min(self._states) if self._states else None

    def state_root(self, block_number: Optional[int] = None) -> bytes:
        """State root of a retained block (default latest)."""
        return self._roots[self._resolve(block_number)]

    def reader(self, block_number: Optional[int] = None) -> MemoryStateReader:
        """Snapshot as of ``block_number`` (default latest); ``StateUnavailable`` if not retained."""
        number = self._resolve(block_number)
        return MemoryStateReader(number, self._roots[number], self._states[number], self)

    def pending(self, parent_block: Optional[int] = None) -> MemoryPendingState:
        """Writable state on top of ``parent_block`` (default latest; empty for a new database)."""
        self._check_open()
        if parent_block is None and self._latest is None:
            return MemoryPendingState(None, self)
        number = self._resolve(parent_block)
        pending = _copy_accounts_into(MemoryPendingState(number, self), self._states[number])
        if number == self._latest and self._handoff:
            handoff, self._handoff = self._handoff, {}
            self._take_over(pending, handoff)
        return pending

    @staticmethod
    def _take_over(pending: MemoryPendingState, handoff: dict[bytes, Account]) -> None:
        """Give ``pending`` the latest block's large-storage records, uncopied."""
        accounts = pending._accounts
        owned = pending._owned
        for address, account in handoff.items():
            frozen = accounts.get(address)
            if frozen is None or not isinstance(frozen.storage, FrozenStorage):
                continue
            frozen.storage.detach()
            accounts[address] = account
            owned[address] = account

    def commit(
        self,
        pending: MemoryPendingState,
        block_number: int,
        chain_writes: Iterable[tuple[str, bytes, Optional[bytes]]] = (),
    ) -> bytes:
        """Store ``pending`` as block ``block_number`` (latest + 1, or 0 for genesis)."""
        self._check_open()
        pending = self._check_pending(pending)
        expected = 0 if self._latest is None else self._latest + 1
        if block_number != expected:
            raise InvalidCommit(f"expected block {expected}, got {block_number!r}")
        writes = validate_chain_writes(chain_writes)
        stored, root, handoff = _freeze(pending)
        self._handoff = handoff
        self._apply_chain_writes(writes)
        self._states[block_number] = stored
        self._roots[block_number] = root
        self._latest = block_number
        self._prune()
        return root

    def amend_latest(self, pending: MemoryPendingState) -> bytes:
        """Replace the latest block's state with ``pending`` (dev RPC state edits without mining)."""
        self._check_open()
        if self._latest is None:
            raise InvalidCommit("there is no block to amend yet")
        pending = self._check_pending(pending)
        stored, root, handoff = _freeze(pending)
        self._handoff = handoff
        self._states[self._latest] = stored
        self._roots[self._latest] = root
        return root

    def chain_get(self, table: str, key: bytes) -> Optional[bytes]:
        """A chain record, or None."""
        self._check_open()
        records = self._chain.get(check_table_name(table))
        return None if records is None else records.get(key)

    def chain_put(self, table: str, key: bytes, value: Optional[bytes]) -> None:
        """Write (or with ``None`` delete) a chain record outside a block commit."""
        self._check_open()
        self._apply_chain_writes(validate_chain_writes([(table, key, value)]))

    def chain_scan(self, table: str, start: bytes, stop: bytes, *, reverse: bool = False,
                   limit: Optional[int] = None) -> list[tuple[bytes, bytes]]:
        """Records with ``start <= key < stop`` in key order (or reversed), at most ``limit``."""
        self._check_open()
        records = self._chain.get(check_table_name(table))
        if not records:
            return []
        keys = self._sorted_keys.get(table)
        if keys is None:  # first scan of this table: sort once, then keep sorted on writes
            keys = self._sorted_keys[table] = sorted(records)
        lo, hi = bisect.bisect_left(keys, start), bisect.bisect_left(keys, stop)
        chosen = keys[lo:hi]
        if reverse:
            chosen.reverse()
        if limit is not None:
            chosen = chosen[:limit]
        return [(key, records[key]) for key in chosen]

    def rollback(self, block_number: int) -> None:
        """Drop every block above ``block_number`` (which must be retained)."""
        self._check_open()
        if self._latest is None or block_number not in self._states:
            raise StateUnavailable(f"cannot roll back to block {block_number!r}: not retained")
        for number in [n for n in self._states if n > block_number]:
            del self._states[number]
            del self._roots[number]
        if block_number != self._latest:
            self._handoff = {}
        self._latest = block_number

    def close(self) -> None:
        """Release everything; further calls raise ``DatabaseClosed``."""
        self._closed = True
        self._handoff = {}
        self._states.clear()
        self._roots.clear()
        self._chain.clear()
        self._sorted_keys.clear()

    def __enter__(self) -> "MemoryStateDatabase":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------
    def _apply_chain_writes(self, writes: list[tuple[str, bytes, Optional[bytes]]]) -> None:
        for table, key, value in writes:
            records = self._chain.setdefault(table, {})
            keys = self._sorted_keys.get(table)
            if value is None:
                if records.pop(key, None) is not None and keys is not None:
                    del keys[bisect.bisect_left(keys, key)]
            else:
                if keys is not None and key not in records:
                    bisect.insort(keys, key)
                records[key] = value

    def _prune(self) -> None:
        if self.retention is None or self._latest is None:
            return
        horizon = self._latest - self.retention
        for number in [n for n in self._states if n < horizon]:
            del self._states[number]
            del self._roots[number]


__all__ = ["MemoryStateDatabase", "MemoryStateReader", "MemoryPendingState"]
