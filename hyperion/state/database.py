"""The contract between the chain and a state database.

Two implementations exist: ``hyperion.state.metisdb.MetisDB`` (LMDB,
persistent, MVCC snapshots, history) and
``hyperion.state.memorydb.MemoryStateDatabase`` (everything in memory, for
``--in-memory`` nodes and tests). The chain layer only talks to this
protocol.

Model: the database holds the state as of each committed block. The block
builder asks for a ``PendingState`` on top of the latest block, executes
transactions against it (it is a full ``WorldState``), then commits it as
block N together with the chain's own records (block, receipts, indexes),
all in one atomic write, so a crash never leaves a block without its state
or the other way round.

Refinements to the original contract (all backwards compatible):
- ``amend_latest(pending)``: replace the latest block's state without a new
  block (dev RPC methods such as anvil_setBalance); returns the new root.
- ``chain_writes`` / ``chain_put`` accept ``value=None`` to delete a record.
  Table names are non-empty identifiers (letters, digits, ``_ - .``).
- ``rollback(block_number)`` keeps blocks ``<= block_number``; the target
  must still be retained (``StateUnavailable`` otherwise).
- ``StateReader.storage_root(address)`` and ``close()``/context manager;
  readers hold a snapshot until closed (MetisDB: an LMDB read transaction).
- ``state_root(block_number=None)`` on the database: the root of a
  retained block; ``oldest_block_number()``: the lowest retained block.
- Errors: ``InvalidCommit`` (ValueError) for a commit that does not fit
  (wrong block number, stale or foreign pending state, bad chain writes),
  ``DatabaseClosed`` (ValueError) after ``close()``.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional, Protocol


class StateReader(Protocol):
    """Read-only view of the state as of one block (MVCC snapshot)."""

    block_number: int
    state_root: bytes

    def get_balance(self, address: bytes) -> int: ...
    def get_nonce(self, address: bytes) -> int: ...
    def get_code(self, address: bytes) -> bytes: ...
    def get_code_hash(self, address: bytes) -> bytes: ...
    def get_storage(self, address: bytes, key: int) -> int: ...
    def storage_root(self, address: bytes) -> bytes: ...
    def account_exists(self, address: bytes) -> bool: ...
    def account_proof(self, address: bytes, slots: Iterable[int]) -> dict:
        """EIP-1186 proof: {address, accountProof[list[bytes]], balance, codeHash,
        nonce, storageHash, storageProof[{key, value, proof[list[bytes]]}]}."""

    def pending(self) -> "PendingState":
        """A writable WorldState layered on this snapshot (for eth_call,
        eth_estimateGas, tracing); discarded, never committed."""

    def close(self) -> None: ...


class PendingState(Protocol):
    """A writable ``hyperion.vm.state_interface.WorldState`` on top of a block,
    plus ``state_root()`` of the changes so far."""

    def state_root(self) -> bytes: ...


class StateDatabase(Protocol):
    def latest_block_number(self) -> Optional[int]:
        """Highest committed block, or None for an empty database."""

    def reader(self, block_number: Optional[int] = None) -> StateReader:
        """Snapshot as of ``block_number`` (default: latest). Raises
        ``StateUnavailable`` if the block is outside the retained window."""

    def pending(self, parent_block: Optional[int] = None) -> PendingState:
        """Writable state on top of ``parent_block`` (default latest)."""

    def commit(self, pending: PendingState, block_number: int,
               chain_writes: Iterable[tuple[str, bytes, Optional[bytes]]] = ()) -> bytes:
        """Atomically persist ``pending`` as the state of ``block_number`` (must
        be latest + 1, or 0 for genesis) together with ``chain_writes``
        (sub-database name, key, value; value None deletes). Returns the state root.
        ``pending`` must have been built on the current latest block."""

    def amend_latest(self, pending: PendingState) -> bytes:
        """Replace the latest block's state with ``pending`` (built on it); returns the new root."""

    def state_root(self, block_number: Optional[int] = None) -> bytes:
        """State root of a retained block (default latest)."""

    def oldest_block_number(self) -> Optional[int]:
        """Lowest block whose state is retained (None when empty)."""

    def chain_get(self, table: str, key: bytes) -> Optional[bytes]:
        """Read a record written through ``commit(chain_writes=...)``."""

    def chain_put(self, table: str, key: bytes, value: Optional[bytes]) -> None:
        """Write a chain record outside a block commit (e.g. metadata)."""

    def chain_scan(self, table: str, start: bytes, stop: bytes, *, reverse: bool = False,
                   limit: Optional[int] = None) -> list[tuple[bytes, bytes]]:
        """The records of ``table`` with ``start <= key < stop``, in key order (or
        reversed), at most ``limit`` of them: the range reads an index needs."""

    def rollback(self, block_number: int) -> None:
        """Drop every block above ``block_number`` (state and chain records
        the caller deletes through ``chain_writes`` of a later commit)."""

    def close(self) -> None: ...


class StateUnavailable(LookupError):
    """The requested block's state is not retained (pruned or in the future)."""


class InvalidCommit(ValueError):
    """A commit that does not fit the database: wrong block number, a pending
    state built on another block or by another database, malformed chain writes."""


class DatabaseClosed(ValueError):
    """The database (or reader) was used after ``close()``."""


_TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def check_table_name(table: object) -> str:
    """Validate a chain table name (it becomes an LMDB sub-database name in MetisDB)."""
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise InvalidCommit(f"chain table name must be 1-64 chars of [A-Za-z0-9_.-], got {table!r}")
    return table


def validate_chain_writes(
    chain_writes: Iterable[tuple[str, bytes, Optional[bytes]]],
) -> list[tuple[str, bytes, Optional[bytes]]]:
    """Check every chain write before applying any, so a bad one changes nothing."""
    writes = []
    try:
        for table, key, value in chain_writes:
            check_table_name(table)
            if not isinstance(key, (bytes, bytearray)) or not key or len(key) > 511:
                raise InvalidCommit(f"chain key must be 1-511 bytes, got {key!r}")
            if value is not None and not isinstance(value, (bytes, bytearray)):
                raise InvalidCommit(f"chain value must be bytes or None, got {type(value).__name__}")
            writes.append((table, bytes(key), None if value is None else bytes(value)))
    except InvalidCommit:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidCommit(f"chain_writes must be (table, key, value) triples: {exc}") from None
    return writes
