"""``MemoryStateDatabase``: the state-database protocol kept entirely in memory.

For ``--in-memory`` nodes and tests. Every committed block keeps its own
``MemoryState`` (the pending state is copied at commit, so the caller may
keep using or drop its object); a ``pending()`` state is a copy of its parent
block's state. Copies cost O(state), which is fine for the small states of a
dev node; MetisDB is the database for anything large.

Retention: ``retention=None`` keeps every block (archive); ``retention=R``
keeps blocks ``latest - R .. latest``, which also bounds ``rollback``.
"""

from __future__ import annotations

from typing import Iterable, Optional

from hyperion.state.database import (
    DatabaseClosed,
    InvalidCommit,
    StateUnavailable,
    check_table_name,
    validate_chain_writes,
)
from hyperion.state.memory import MemoryState


class MemoryPendingState(MemoryState):
    """A ``MemoryState`` that remembers which block it was built on."""

    __slots__ = ("parent_block", "_owner")

    def __init__(self, parent_block: Optional[int] = None, owner: object = None) -> None:
        super().__init__()
        self.parent_block = parent_block
        self._owner = owner


def _copy_accounts_into(target: MemoryState, source: MemoryState) -> MemoryState:
    """Give ``target`` an independent copy of ``source``'s accounts (journal and tx sets empty)."""
    target._accounts = {address: account.copy() for address, account in source._accounts.items()}
    return target


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
        self._latest: Optional[int] = None
        self._closed = False

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
        return _copy_accounts_into(MemoryPendingState(number, self), self._states[number])

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
        stored = _copy_accounts_into(MemoryState(), pending)
        root = stored.state_root()
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
        stored = _copy_accounts_into(MemoryState(), pending)
        root = stored.state_root()
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

    def rollback(self, block_number: int) -> None:
        """Drop every block above ``block_number`` (which must be retained)."""
        self._check_open()
        if self._latest is None or block_number not in self._states:
            raise StateUnavailable(f"cannot roll back to block {block_number!r}: not retained")
        for number in [n for n in self._states if n > block_number]:
            del self._states[number]
            del self._roots[number]
        self._latest = block_number

    def close(self) -> None:
        """Release everything; further calls raise ``DatabaseClosed``."""
        self._closed = True
        self._states.clear()
        self._roots.clear()
        self._chain.clear()

    def __enter__(self) -> "MemoryStateDatabase":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------
    def _apply_chain_writes(self, writes: list[tuple[str, bytes, Optional[bytes]]]) -> None:
        for table, key, value in writes:
            records = self._chain.setdefault(table, {})
            if value is None:
                records.pop(key, None)
            else:
                records[key] = value

    def _prune(self) -> None:
        if self.retention is None or self._latest is None:
            return
        horizon = self._latest - self.retention
        for number in [n for n in self._states if n < horizon]:
            del self._states[number]
            del self._roots[number]


__all__ = ["MemoryStateDatabase", "MemoryStateReader", "MemoryPendingState"]
