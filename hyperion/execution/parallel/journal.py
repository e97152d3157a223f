"""What a transaction the coordinator ran directly on the true state wrote, for the workers' views.

The coordinator runs its own share of a block plainly (``apply_transaction``
on the true state: no recording, as cheap as sequential execution). The
workers still need its writes in their views, or every later transaction
that reads them (a contended contract, a sender's next nonce) would be
re-executed. The state's own journal already lists every surviving write of
the transaction (reverted ones are popped), so the write set is read from
it, then from the state: a few dictionary reads per transaction.

``MemoryState.end_transaction`` drops the journal, so for the block the
state's class is swapped for a subclass with the same layout that keeps the
last transaction's journal (``capture_journals``/``release``): the state
itself is untouched, and no ``WorldState`` implementation needs a hook.
"""

from __future__ import annotations

from typing import Optional

from hyperion.primitives.keccak import EMPTY_KECCAK
from hyperion.state.memory import (
    _ACCOUNT_CREATED,
    _ACCOUNT_DESTROYED,
    _BALANCE,
    _CODE,
    _NONCE,
    _STORAGE,
    _TOUCH,
    MemoryState,
)

_LAST_JOURNAL: dict[int, list] = {}  # id(state) -> the journal its last transaction ended with
_CAPTURING: dict[type, type] = {}  # state class -> its capturing subclass


def _capturing_class(cls: type) -> type:
    found = _CAPTURING.get(cls)
    if found is None:
        base_end = cls.end_transaction

        def end_transaction(self) -> None:
            _LAST_JOURNAL[id(self)] = self._journal  # (replaced, not cleared, by begin_transaction)
            base_end(self)

        found = _CAPTURING[cls] = type(f"JournalCapturing{cls.__name__}", (cls,),
                                       {"__slots__": (), "end_transaction": end_transaction,
                                        "__module__": __name__})
    return found


def capture_journals(state) -> bool:
    """Make ``state`` keep each transaction's journal; False when it is not a ``MemoryState``
    (its writes then stay unknown to the workers: their reads of them are re-executed, never wrong)."""
    if not isinstance(state, MemoryState) or type(state).__name__.startswith("JournalCapturing"):
        return False
    try:
        state.__class__ = _capturing_class(type(state))
    except TypeError:
        return False
    _LAST_JOURNAL.pop(id(state), None)
    return True


def release(state) -> None:
    """Undo ``capture_journals``."""
    cls = type(state)
    if cls.__name__.startswith("JournalCapturing") and cls.__module__ == __name__:
        state.__class__ = cls.__bases__[0]
    _LAST_JOURNAL.pop(id(state), None)


def last_writes(state, skip: tuple = ()) -> Optional[list]:
    """The account writes of the last transaction run on ``state``, in the workers' format
    (``recording.RecordingState.writes``, balances always absolute): ``(address, (nonce, balance,
    code_hash) or None when deleted, code or None, storage wiped first, {slot: value} or None)``.
    ``skip``: addresses whose balance-only writes are left out (the coinbase and the fee vault,
    which every transaction credits and almost none reads). None when no journal was kept."""
    journal = _LAST_JOURNAL.pop(id(state), None)
    if journal is None:
        return None
    slots_of: dict[bytes, set] = {}
    fresh: set = set()  # created or destroyed in the transaction: storage starts afresh
    new_code: set = set()
    for entry in journal:
        op = entry[0]
        if op == _STORAGE:
            slots_of.setdefault(entry[4], set()).add(entry[2])
        elif op == _BALANCE or op == _NONCE:
            slots_of.setdefault(entry[3], set())
        elif op == _CODE:
            slots_of.setdefault(entry[4], set())
            new_code.add(entry[4])
        elif op == _ACCOUNT_CREATED or op == _ACCOUNT_DESTROYED:
            slots_of.setdefault(entry[1], set())
            fresh.add(entry[1])
        elif op == _TOUCH:  # (may have been deleted at the end as empty: EIP-161)
            slots_of.setdefault(entry[1], set())
    written = []
    for address, keys in slots_of.items():
        if not state.account_exists(address):
            written.append((address, None, None, True, None))
            continue
        wiped = address in fresh
        if address in skip and not keys and not wiped and address not in new_code:
            continue
        code_hash = state.get_code_hash(address)
        record = (state.get_nonce(address), state.get_balance(address), code_hash)
        code = state.get_code(address) if code_hash != EMPTY_KECCAK and (wiped or address in new_code) else None
        if wiped:
            slots = {key: value for key, value in state.get_storage_items(address).items() if value} or None
        else:
            slots = {key: state.get_storage(address, key) for key in keys} or None
        written.append((address, record, code, wiped, slots))
    return written


__all__ = ["capture_journals", "last_writes", "release"]
