"""One transaction run against a speculative view, recording what it read and wrote.

``RecordingState`` is a ``MemoryState`` (same journal, EIP-2200 originals,
warm sets, EIP-161 touches: the semantics are MemoryState's by
construction) whose accounts and slots load on first use from a ``View``
and are remembered in ``reads``:

- ``reads[address]``: the account's ``(nonce, code_hash)``, or ``None``
  when absent;
- ``reads[(address, BALANCE)]``: its balance, recorded only when the
  transaction looks at it (``get_balance``, an absolute ``set_balance``);
  ``reads[(address, ZERO_BALANCE)]``: only whether it was zero (EIP-161
  emptiness);
- ``reads[(address, slot)]``: a slot's value (``HAS_STORAGE``: whether the
  account had any storage, EIP-7610).

Everything the transaction's outcome depends on in the state is in
``reads`` (the block environment and the transaction are fixed), so the
outcome is exact whenever every read still holds on the true state before
the transaction: that is the coordinator's validation, by value.

Credits are lazy: ``add_balance`` records a delta, not a read. To an
account the transaction has not loaded it is kept in ``credits``; to a
loaded one whose balance it has not looked at, the account's final
balance is written back as a delta too. That is what keeps the coinbase,
the base-fee vault and the recipients of transfers from serialising a
block (pevm's lazy updates). Looking at the balance later in the same
transaction records the balance as it was before the transaction (the
credits so far are its own).
"""

from __future__ import annotations

from typing import Optional

from hyperion.primitives.keccak import EMPTY_KECCAK
from hyperion.state.account import Account
from hyperion.state.lazy import LazyAccountMap
from hyperion.state.memory import _WARM_SLOT, MemoryState

HAS_STORAGE = -1  # the slot key under which "had any storage" is recorded
BALANCE = -2  # ... the balance
ZERO_BALANCE = -3  # ... whether the balance was zero


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

    __slots__ = ("view", "reads", "credits", "folded", "dirty", "balances", "observed")

    def __init__(self, view: View, dirty: set) -> None:
        self.view = view
        self.reads: dict = {}
        self.credits: dict[bytes, list] = {}  # address -> [amount, number of credits]
        self.folded: set[bytes] = set()  # lazily credited, then loaded: the credit is in the account now
        self.dirty = dirty  # the state's dirty-account set
        self.balances: dict[bytes, int] = {}  # balance at load, of accounts loaded from the view
        self.observed: set[bytes] = set()  # accounts whose balance the transaction looked at


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


class ViewAccounts(LazyAccountMap):
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
        credit = state.credits.pop(address, None)
        if record is None:
            state.reads.setdefault(address, None)
            if credit is None:
                self.absent.add(address)
                return None
            account = Account(0, 0)  # created by a lazy credit made earlier in this transaction
        else:
            nonce, balance, code_hash = record
            state.reads.setdefault(address, (nonce, code_hash))
            state.balances[address] = balance
            account = Account(nonce, balance, b"" if code_hash == EMPTY_KECCAK else state.view.code(code_hash),
                              code_hash, ViewStorage(state, address))
            self.loaded[address] = account
        if credit is not None:
            account.balance += credit[0]
            state.folded.add(address)
            state.dirty.add(address)
        dict.__setitem__(self, address, account)
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

    # -- balances: observed or lazily credited ----------------------------------------------
    def _observe(self, address: bytes) -> None:
        """The transaction looks at ``address``'s balance: record it as it was before the transaction."""
        recorder = self.recorder
        if address in recorder.balances and address not in recorder.observed:
            recorder.observed.add(address)
            self.reads.setdefault((address, BALANCE), recorder.balances[address])

    def get_balance(self, address: bytes) -> int:
        account = self._accounts.get(address)
        if account is None:
            return 0
        self._observe(address)
        return account.balance

    def set_balance(self, address: bytes, value: int) -> None:
        if self._accounts.get(address) is not None:
            self._observe(address)  # (an absolute write whose undo would bring the old balance back)
        MemoryState.set_balance(self, address, value)

    def _zero_balance_matters(self, address: bytes, account: Account) -> None:
        """EIP-161 emptiness looks at "balance is zero" only; with no credit of its own that is
        a fact about the balance before the transaction."""
        recorder = self.recorder
        base = recorder.balances.get(address)
        if base is not None and address not in recorder.observed and account.balance == base:
            self.reads.setdefault((address, ZERO_BALANCE), base == 0)

    def is_empty(self, address: bytes) -> bool:
        account = self._accounts.get(address)
        if account is None:
            return True
        if not account.nonce and not account.code:
            self._zero_balance_matters(address, account)
        return not account.nonce and not account.balance and not account.code

    def is_alive(self, address: bytes) -> bool:
        return self.account_exists(address) and not self.is_empty(address)

    def end_transaction(self) -> None:
        accounts = self._accounts
        for address in self._touched:
            account = dict.get(accounts, address)
            if account is not None and not account.nonce and not account.code:
                self._zero_balance_matters(address, account)
        MemoryState.end_transaction(self)

    def add_balance(self, address: bytes, amount: int) -> None:
        accounts = self._accounts
        account = dict.get(accounts, address)
        if account is not None:
            MemoryState.set_balance(self, address, account.balance + amount)  # (not a look at it)
            return
        if address in accounts.absent or address in accounts.loaded:
            MemoryState.add_balance(self, address, amount)  # absent (or deleted): it is created
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
                    account = dict.get(self._accounts, payload.address)
                    if account is None or payload.address in self.recorder.observed:
                        raise Unparallelizable("a reverted credit to an account looked at after it")
                    account.balance -= payload.amount  # (folded into the account when it was loaded)
                    continue
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

        ``accounts``: ``(address, (nonce, balance or None when only credited, code_hash) or None
        for deleted, new code or None, storage wiped first, {slot: value} or None)``;
        ``credits``: ``(address, amount)`` added on commit.
        """
        accounts = self._accounts
        loaded = accounts.loaded
        reads = self.reads
        balances = self.recorder.balances
        observed = self.recorder.observed
        changed: list = []
        credits = [(address, credit[0]) for address, credit in self.credits.items()] if self.credits else []
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
            before = reads.get(address)
            if wiped or address in observed:
                balance = account.balance
            else:
                balance = None  # looked at only by credits: their sum goes as a credit
                delta = account.balance - balances[address]
                if delta:
                    credits.append((address, delta))
                if slots is None and before == (account.nonce, account.code_hash):
                    continue
            code = account.code if account.code and (wiped or before is None or before[1] != account.code_hash) \
                else None
            changed.append((address, (account.nonce, balance, account.code_hash), code, wiped, slots))
        return changed, credits


def apply_writes(state, accounts: list, reads: dict) -> None:
    """Apply a validated transaction's account writes (``writes()[0]``) to the true state (any
    ``WorldState``). ``reads`` are its validated reads: what each account was before it."""
    for address, record, code, wiped, slots in accounts:
        if record is None:
            state.destroy_account(address)
            continue
        nonce, balance, code_hash = record
        before = reads.get(address)
        if wiped:
            if before is not None:
                state.destroy_account(address)
            state.set_nonce(address, nonce)  # (creates it afresh)
            before = (nonce, EMPTY_KECCAK)
        elif before is None:  # (not produced by ``writes``: kept general)
            before = (-1, EMPTY_KECCAK)
        if nonce != before[0]:
            state.set_nonce(address, nonce)
        if balance is not None:
            state.set_balance(address, balance)
        if code is not None:
            state.set_code(address, code)
        elif code_hash != before[1]:
            state.set_code(address, b"")  # (the only code a write leaves out is none at all)
        if slots:
            for key, value in slots.items():
                state.set_storage(address, key, value)


def read_holds(state, key, observed) -> bool:
    """Whether one recorded read gives the same answer on ``state`` (the validation step)."""
    if type(key) is tuple:
        address, slot = key
        if slot >= 0:
            return state.get_storage(address, slot) == observed
        if slot == BALANCE:
            return state.get_balance(address) == observed
        if slot == ZERO_BALANCE:
            return (state.get_balance(address) == 0) == observed
        return state.has_storage(address) == observed
    if not state.account_exists(key):
        return observed is None
    return observed is not None and observed == (state.get_nonce(key), state.get_code_hash(key))


__all__ = ["BALANCE", "HAS_STORAGE", "Recorder", "RecordingState", "Unparallelizable", "View", "ZERO_BALANCE",
           "apply_writes", "read_holds"]
