"""The world-state interface MetisVM executes against.

The VM sits below the state layer, so it does not import any state
implementation; it only relies on this protocol (revm's ``Database`` +
``JournaledState`` boundary). ``hyperion.state.memory.MemoryState`` (in
memory) and MetisDB (on LMDB) both implement it.

Conventions: addresses are 20-byte ``bytes``; storage keys and values are
``int`` in [0, 2**256); code hashes are 32-byte ``bytes``. Every mutating
call is journaled so that ``revert(snapshot)`` undoes it exactly, including
transient storage and the warm access sets (EIP-2929/1153 semantics).
"""

from __future__ import annotations

from typing import Iterable, Protocol


class WorldState(Protocol):
    # -- accounts -------------------------------------------------------
    def account_exists(self, address: bytes) -> bool:
        """True if the account is present in the state (even if empty)."""

    def is_empty(self, address: bytes) -> bool:
        """EIP-161 emptiness: nonce 0, balance 0, no code (absent counts as empty)."""

    def is_alive(self, address: bytes) -> bool:
        """Exists and is not empty (what CALL's new-account gas and SELFDESTRUCT check)."""

    def get_balance(self, address: bytes) -> int: ...
    def set_balance(self, address: bytes, value: int) -> None:
        """Creates the account if absent."""

    def add_balance(self, address: bytes, amount: int) -> None:
        """``set_balance(address, get_balance(address) + amount)``: a credit that reads
        nothing, so a parallel executor may apply it lazily."""

    def get_nonce(self, address: bytes) -> int: ...
    def set_nonce(self, address: bytes, nonce: int) -> None: ...

    def get_code(self, address: bytes) -> bytes: ...
    def get_code_hash(self, address: bytes) -> bytes:
        """keccak(code); keccak(b'') for an existing account without code,
        and also for an absent account (callers check existence first)."""

    def set_code(self, address: bytes, code: bytes) -> None: ...

    def has_storage(self, address: bytes) -> bool:
        """True if any storage slot of the account is non-zero (EIP-7610)."""

    def destroy_account(self, address: bytes) -> None:
        """Remove the account with its balance, code and all storage."""

    def mark_created(self, address: bytes) -> None:
        """Record that the account was created in the current transaction (EIP-6780)."""

    def was_created(self, address: bytes) -> bool: ...

    def touch(self, address: bytes) -> None:
        """EIP-161 touch: an empty touched account is deleted at transaction end."""

    # -- storage ----------------------------------------------------------
    def get_storage(self, address: bytes, key: int) -> int: ...
    def get_original_storage(self, address: bytes, key: int) -> int:
        """Value of the slot at the start of the current transaction (EIP-2200)."""

    def set_storage(self, address: bytes, key: int, value: int) -> None: ...

    def get_transient(self, address: bytes, key: int) -> int: ...
    def set_transient(self, address: bytes, key: int, value: int) -> None: ...

    # -- EIP-2929 access sets (transaction scoped, journaled) -------------
    def warm_address(self, address: bytes) -> bool:
        """Mark the address warm; return True if it was cold before."""

    def warm_at_start(self, addresses: Iterable[bytes], *more: bytes) -> None:
        """Make a transaction's starting access set warm (``addresses`` and ``more``), not
        journaled: call it before the transaction's first frame, where no revert reaches."""

    def is_warm_address(self, address: bytes) -> bool: ...

    def warm_slot(self, address: bytes, key: int) -> bool:
        """Mark (address, key) warm; return True if it was cold before."""

    # -- journal ------------------------------------------------------------
    def snapshot(self) -> int:
        """Open a checkpoint; returns an id for ``revert``/``commit``."""

    def revert(self, snapshot_id: int) -> None:
        """Undo every change made since the checkpoint (and drop it)."""

    def commit(self, snapshot_id: int) -> None:
        """Keep the changes since the checkpoint (merge into the parent one)."""

    # -- transaction lifecycle ----------------------------------------------
    def begin_transaction(self) -> None:
        """Reset transaction-scoped data: original values, transient storage,
        access sets, created set, touched set, journal."""

    def end_transaction(self) -> None:
        """Delete touched empty accounts (EIP-161), clear transaction-scoped data."""
