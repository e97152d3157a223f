"""Read cache for the latest state: hot accounts and storage slots.

Entries hold the values of the latest committed block only, tagged with a
``generation`` that changes on every commit, amend and rollback. A reader
records the generation its LMDB snapshot belongs to and uses the cache only
while it still matches, so an old snapshot never sees a newer block's values.

Concurrency (readers in many threads, one writer): the writer sets
``generation`` to ``None`` before its LMDB commit, then updates the changed
entries and publishes the new generation. A reader's hit path reads the
entry between two generation checks and needs no lock; misses insert under
``lock`` only while the generation still matches. Eviction drops the oldest
eighth of the entries once a map is full (insertion order; cheap, no
per-hit bookkeeping).
"""

from __future__ import annotations

import threading
from itertools import islice
from typing import Optional


class StateCache:
    """Latest-block accounts (decoded records) and slots, bounded in size."""

    __slots__ = ("generation", "accounts", "slots", "lock", "max_accounts", "max_slots")

    def __init__(self, max_accounts: int = 200_000, max_slots: int = 400_000) -> None:
        self.generation: Optional[int] = None
        self.accounts: dict[bytes, tuple] = {}
        self.slots: dict[tuple[bytes, int], int] = {}
        self.lock = threading.Lock()
        self.max_accounts = max_accounts
        self.max_slots = max_slots

    def insert_account(self, generation: int, address: bytes, record: tuple) -> None:
        """Add a record read from a snapshot of ``generation`` (ignored if stale)."""
        with self.lock:
            if self.generation != generation:
                return
            accounts = self.accounts
            if len(accounts) >= self.max_accounts:
                _evict(accounts)
            accounts[address] = record

    def insert_slot(self, generation: int, key: tuple[bytes, int], value: int) -> None:
        with self.lock:
            if self.generation != generation:
                return
            slots = self.slots
            if len(slots) >= self.max_slots:
                _evict(slots)
            slots[key] = value

    # -- writer side (call with ``lock`` held) --------------------------------------
    def retire(self) -> None:
        """Stop serving entries: a new block is about to become the latest."""
        self.generation = None

    def put_accounts(self, records: dict[bytes, tuple]) -> None:
        """Store the records a commit wrote (write-through; call with ``lock`` held)."""
        accounts = self.accounts
        limit = self.max_accounts
        while accounts and len(accounts) + len(records) > limit:
            _evict(accounts)
        if len(records) > limit:
            records = dict(islice(records.items(), len(records) - limit, None))
        accounts.update(records)

    def clear(self) -> None:
        self.accounts.clear()
        self.slots.clear()


def _evict(entries: dict) -> None:
    for key in list(islice(entries, max(1, len(entries) // 8))):
        del entries[key]
