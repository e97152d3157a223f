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
"""

from __future__ import annotations

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
               chain_writes: Iterable[tuple[str, bytes, bytes]] = ()) -> bytes:
        """Atomically persist ``pending`` as the state of ``block_number`` (must
        be latest + 1, or 0 for genesis) together with ``chain_writes``
        (sub-database name, key, value). Returns the state root."""

    def chain_get(self, table: str, key: bytes) -> Optional[bytes]:
        """Read a record written through ``commit(chain_writes=...)``."""

    def chain_put(self, table: str, key: bytes, value: bytes) -> None:
        """Write a chain record outside a block commit (e.g. metadata)."""

    def rollback(self, block_number: int) -> None:
        """Drop every block above ``block_number`` (state and chain records
        the caller deletes through ``chain_writes`` of a later commit)."""

    def close(self) -> None: ...


class StateUnavailable(LookupError):
    """The requested block's state is not retained (pruned or in the future)."""
