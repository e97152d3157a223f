"""One transaction run against a speculative view, recording what it read and wrote.

``RecordingState`` is a ``MemoryState`` (same journal, EIP-2200 originals,
warm sets, EIP-161 touches: the semantics are MemoryState's by
construction) whose accounts and slots load on first use from a ``View``
and are remembered in ``reads``:

- ``reads[address]``: the account as the transaction found it,
  ``(nonce, balance, code_hash)`` or ``None`` when absent;
- ``reads[(address, slot)]``: a slot's value (``slot = -1``: whether the
  account had any storage, EIP-7610).

Everything the transaction's outcome depends on in the state is in
``reads`` (the block environment and the transaction are fixed), so the
outcome is exact whenever every read still holds on the true state before
the transaction: that is the coordinator's validation, by value.

Credits are lazy: ``add_balance`` on an account the transaction has not
looked at records a delta in ``credits`` instead of a read and a write.
That is what keeps the coinbase, the base-fee vault and the recipients of
plain transfers from serialising a block (pevm's lazy updates). Looking at
the account later in the same transaction loads it and folds the delta in.
"""

from __future__ import annotations

from typing import Optional

from hyperion.primitives.keccak import EMPTY_KECCAK
from hyperion.state.account import Account
from hyperion.state.memory import _WARM_SLOT, MemoryState

HAS_STORAGE = -1  # the slot key under which "had any storage" is recorded


class Unparallelizable(Exception):
    """This transaction cannot be run speculatively; the coordinator runs it itself."""


class View:
    """Where a speculative run reads the state before its transaction (see ``worker``)."""

    def account(self, address: bytes) -> Optional[tuple[int, int, bytes]]:
        """``(nonce, balance, code_hash)``, or None when absent."""
        raise NotImplementedError

    def code(self, code_hash: bytes) -> bytes:
        raise NotImplementedError

    def slot(self, address: bytes, key: int) -> int:
        raise NotImplementedError

    def has_storage(self, address: bytes) -> bool:
        raise NotImplementedError


class _Credit:
    """Journal payload of a lazy credit (undone by ``RecordingState.revert``).

    It rides in a warm-slot entry, whose undo in ``MemoryState.revert`` is a
    no-op for an object that is never a warm slot.
    """

    __slots__ = ("address", "amount")

    def __init__(self, address: bytes, amount: int) -> None:
        self.address = address
        self.amount = amount


class Recorder:
    """What one run read and credited; the lazy maps point here, never back at the
    state (so a finished run leaves no reference cycle for the garbage collector)."""

    __slots__ = ("view", "reads", "credits", "folded", "dirty")

    def __init__(self, view: View, dirty: set) -> None:
        self.view = view
        self.reads: dict = {}
        self.credits: dict[bytes, list] = {}  # address -> [amount, number of credits]
        self.folded: set[bytes] = set()  # lazily credited, then loaded: the credit is in the account now
        self.dirty = dirty  # the state's dirty-account set


class ViewStorage(dict):
    """Slot -> non-zero value; a miss reads the view once and records it."""

    __slots__ = ("_state", "_address", "_absent", "written", "cleared")

    def __init__(self, state: Recorder, address: bytes) -> None:
        self._state = state
        self._address = address
        self._absent: set[int] = set()  # slots known to be zero now
        self.written: set[int] = set()
        self.cleared: set[int] = set()  # slots this transaction set to zero

    def get(self, key: int, default: int = 0) -> int:
        value = dict.get(self, key)
        if value is not None:
            return value
        if key in self._absent:
            return default
        state = self._state
        value = state.view.slot(self._address, key)
        state.reads.setdefault((self._address, key), value)
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
        self.get(key)
        dict.__setitem__(self, key, value)
        self._absent.discard(key)
        self.written.add(key)
        self.cleared.discard(key)

    def __delitem__(self, key: int) -> None:
        self.pop(key)

    def pop(self, key: int, default: Optional[int] = None) -> Optional[int]:  # type: ignore[override]
        self.get(key)
        value = dict.pop(self, key, None)
        self._absent.add(key)
        self.written.add(key)
        if value is not None:
            self.cleared.add(key)
        return default if value is None else value

    def __bool__(self) -> bool:
        if any(dict.values(self)):
            return True
        state = self._state
        key = (self._address, HAS_STORAGE)
        found = state.reads.get(key)
        if found is None:
            found = state.reads[key] = state.view.has_storage(self._address)
        if not found:
            return False
        if self.cleared:
            # It had storage and this transaction cleared some: whether any is left is not
            # something the view answers cheaply.
            raise Unparallelizable("storage emptiness asked after deleting slots")
        return True  # every slot not looked at is as it was, and some was non-zero


class ViewAccounts(dict):
    """Address -> ``Account``; a miss loads from the view once and records the read."""

    __slots__ = ("_state", "absent", "loaded")

    def __init__(self, state: Recorder) -> None:
        super().__init__()
        self._state = state
        self.absent: set[bytes] = set()
        self.loaded: dict[bytes, Account] = {}  # the object made at load: "not created by this tx"

    def _load(self, address: bytes) -> Optional[Account]:
        state = self._state
        record = state.view.account(address)
        state.reads.setdefault(address, record)
        credit = state.credits.pop(address, None)
        if record is None:
            if credit is None:
                self.absent.add(address)
                return None
            account = Account(0, 0)  # created by a lazy credit made earlier in this transaction
        else:
            nonce, balance, code_hash = record
            account = Account(nonce, balance, b"" if code_hash == EMPTY_KECCAK else state.view.code(code_hash),
                              code_hash, ViewStorage(state, address))
            self.loaded[address] = account
        if credit is not None:
            account.balance += credit[0]
            state.folded.add(address)
            state.dirty.add(address)
        dict.__setitem__(self, address, account)
        return account

    def get(self, address: bytes, default=None):  # type: ignore[override]
        account = dict.get(self, address)
        if account is not None:
            return account
        if address in self.absent or address in self.loaded:
            return default
        account = self._load(address)
        return default if account is None else account

    def __getitem__(self, address: bytes) -> Account:
        account = self.get(address)
        if account is None:
            raise KeyError(address)
        return account

    def __contains__(self, address: object) -> bool:
        return self.get(address) is not None  # type: ignore[arg-type]

    def __setitem__(self, address: bytes, account: Account) -> None:
        dict.__setitem__(self, address, account)
        self.absent.discard(address)

    def __delitem__(self, address: bytes) -> None:
        if self.get(address) is None:
            raise KeyError(address)
        dict.__delitem__(self, address)
        self.absent.add(address)

    def pop(self, address: bytes, default=None):  # type: ignore[override]
        account = self.get(address)
        if account is None:
            return default
        dict.__delitem__(self, address)
        self.absent.add(address)
        return account


class RecordingState(MemoryState):
    """A ``MemoryState`` over a ``View`` for one transaction (see the module docstring)."""

    __slots__ = ("recorder", "reads", "credits", "folded", "_destroyed_storage")

    def __init__(self, view: View) -> None:
        super().__init__()
        recorder = self.recorder = Recorder(view, self._dirty_accounts)
        self.reads = recorder.reads
        self.credits = recorder.credits
        self.folded = recorder.folded
        self._accounts = ViewAccounts(recorder)
        self._destroyed_storage: dict[bytes, ViewStorage] = {}

    # -- lazy credits ------------------------------------------------------------------
    def add_balance(self, address: bytes, amount: int) -> None:
        accounts = self._accounts
        if (dict.__contains__(accounts, address) or address in accounts.absent
                or address in accounts.loaded):
            MemoryState.add_balance(self, address, amount)
            return
        credit = self.credits.get(address)
        if credit is None:
            self.credits[address] = [amount, 1]
        else:
            credit[0] += amount
            credit[1] += 1
        self._journal.append((_WARM_SLOT, _Credit(address, amount)))

    def revert(self, snapshot_id: int) -> None:
        journal = self._journal
        for index in range(len(journal) - 1, snapshot_id - 1, -1):
            entry = journal[index]
            if entry[0] == _WARM_SLOT and type(entry[1]) is _Credit:
                payload = entry[1]
                if payload.address in self.folded:
                    raise Unparallelizable("a reverted credit to an account read after it")
                credit = self.credits[payload.address]
                credit[0] -= payload.amount
                credit[1] -= 1
                if not credit[1]:
                    del self.credits[payload.address]
        MemoryState.revert(self, snapshot_id)

    # -- storage of accounts destroyed in this transaction (as metisdb's PendingState) --
    def destroy_account(self, address: bytes) -> None:
        account = self._accounts.get(address)
        if account is not None and type(account.storage) is ViewStorage:
            self._destroyed_storage.setdefault(address, account.storage)
        MemoryState.destroy_account(self, address)

    def set_storage(self, address: bytes, key: int, value: int) -> None:
        destroyed = self._destroyed_storage
        if destroyed and address in destroyed:
            slot = (address, key)
            if slot not in self._original_storage:
                self._original_storage[slot] = destroyed[address].get(key, 0)
        MemoryState.set_storage(self, address, key, value)

    def get_original_storage(self, address: bytes, key: int) -> int:
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

    def begin_transaction(self) -> None:
        MemoryState.begin_transaction(self)
        self._destroyed_storage = {}

    # -- what the transaction did ------------------------------------------------------
    def writes(self) -> tuple[list, list]:
        """The net effect on the state, to apply on top of the state it read: ``(accounts, credits)``.

        ``accounts``: ``(address, (nonce, balance, code_hash) or None for deleted, new code or
        None, storage wiped first, {slot: value} or None)``; ``credits``: lazy ``(address, amount)``.
        """
        accounts = self._accounts
        loaded = accounts.loaded
        reads = self.reads
        changed: list = []
        for address in self._dirty_accounts:
            account = dict.get(accounts, address)
            base = loaded.get(address)
            if account is None:
                if base is not None or address in self.folded or reads.get(address) is not None:
                    changed.append((address, None, None, True, None))
                continue
            wiped = account is not base
            storage = account.storage
            if wiped:
                slots = {key: value for key, value in dict.items(storage) if value} or None
            elif storage.written:
                slots = {key: dict.get(storage, key, 0) for key in storage.written}
            else:
                slots = None
            record = (account.nonce, account.balance, account.code_hash)
            before = reads.get(address)
            if not wiped and slots is None and record == before:
                continue
            code = account.code if account.code and (wiped or before is None or before[2] != account.code_hash) \
                else None
            changed.append((address, record, code, wiped, slots))
        credits = self.credits
        return changed, [(address, credit[0]) for address, credit in credits.items()] if credits else []


def apply_writes(state, accounts: list, credits: list) -> None:
    """Apply a validated transaction's ``writes()`` to the true state (any ``WorldState``)."""
    for address, record, code, wiped, slots in accounts:
        if record is None:
            state.destroy_account(address)
            continue
        if wiped and state.account_exists(address):
            state.destroy_account(address)
        nonce, balance, code_hash = record
        if wiped or state.get_nonce(address) != nonce:
            state.set_nonce(address, nonce)
        state.set_balance(address, balance)
        if code is not None:
            state.set_code(address, code)
        elif state.get_code_hash(address) != code_hash:
            state.set_code(address, b"")  # (the only code a write leaves out is none at all)
        if slots:
            for key, value in slots.items():
                state.set_storage(address, key, value)
    for address, amount in credits:
        state.add_balance(address, amount)


def read_holds(state, key, observed) -> bool:
    """Whether one recorded read gives the same answer on ``state`` (the validation step)."""
    if type(key) is tuple:
        address, slot = key
        if slot == HAS_STORAGE:
            return state.has_storage(address) == observed
        return state.get_storage(address, slot) == observed
    if not state.account_exists(key):
        return observed is None
    return observed is not None and observed == (
        state.get_nonce(key), state.get_balance(key), state.get_code_hash(key))


__all__ = ["HAS_STORAGE", "Recorder", "RecordingState", "Unparallelizable", "View", "apply_writes", "read_holds"]
