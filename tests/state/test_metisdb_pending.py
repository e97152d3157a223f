"""PendingState behaves exactly like MemoryState (the reference) over committed data.

Random operation sequences (writes, snapshots, reverts, destroys, touches,
transaction boundaries) run on a MemoryState and on a PendingState reading
from MetisDB; every read must agree, and committed roots must equal the
reference's roots, block after block.
"""

from __future__ import annotations

import random

import pytest

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.database import InvalidCommit
from hyperion.state.memory import MemoryState
from hyperion.state.metisdb import MetisDB

ADDRESSES = [bytes([index]) * 20 for index in range(1, 9)]
SLOTS = [0, 1, 2, 3, 2**255 + 7]


def _random_step(rng: random.Random, states: list, open_snapshots: list[list[int]]) -> None:
    """Apply one random operation to every state in ``states`` (same arguments)."""
    address = rng.choice(ADDRESSES)
    slot = rng.choice(SLOTS)
    operation = rng.randrange(14)
    if operation == 0:
        value = rng.choice([0, 1, 5, 2**200])
        for state in states:
            state.set_balance(address, value)
    elif operation == 1:
        nonce = rng.randrange(3)
        for state in states:
            state.set_nonce(address, nonce)
    elif operation in (2, 3, 4):
        value = rng.choice([0, 0, 1, 9, 2**256 - 1])
        for state in states:
            state.set_storage(address, slot, value)
    elif operation == 5:
        code = rng.choice([b"", b"\x60\x00", bytes(40)])
        for state in states:
            state.set_code(address, code)
    elif operation == 6:
        for state in states:
            state.destroy_account(address)
    elif operation == 7:
        for state in states:
            state.touch(address)
    elif operation == 8:
        for state in states:
            state.mark_created(address)
    elif operation == 9:
        value = rng.randrange(4)
        for state in states:
            state.set_transient(address, slot, value)
    elif operation == 10:
        ids = [state.snapshot() for state in states]
        open_snapshots.append(ids)
    elif operation == 11 and open_snapshots:
        ids = open_snapshots.pop()
        for state, snapshot_id in zip(states, ids):
            state.revert(snapshot_id)
    elif operation == 12 and open_snapshots:
        ids = open_snapshots.pop()
        for state, snapshot_id in zip(states, ids):
            state.commit(snapshot_id)
    elif operation == 13:
        results = [(state.warm_address(address), state.warm_slot(address, slot)) for state in states]
        assert len(set(results)) == 1


def _assert_same_reads(reference: MemoryState, pending) -> None:
    for address in ADDRESSES:
        assert pending.account_exists(address) == reference.account_exists(address)
        assert pending.is_empty(address) == reference.is_empty(address)
        assert pending.is_alive(address) == reference.is_alive(address)
        assert pending.get_balance(address) == reference.get_balance(address)
        assert pending.get_nonce(address) == reference.get_nonce(address)
        assert pending.get_code(address) == reference.get_code(address)
        assert pending.get_code_hash(address) == reference.get_code_hash(address)
        assert pending.has_storage(address) == reference.has_storage(address)
        assert pending.was_created(address) == reference.was_created(address)
        assert pending.is_warm_address(address) == reference.is_warm_address(address)
        for slot in SLOTS:
            assert pending.get_storage(address, slot) == reference.get_storage(address, slot)
            assert pending.get_original_storage(address, slot) == reference.get_original_storage(address, slot)
            assert pending.get_transient(address, slot) == reference.get_transient(address, slot)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("retention", [None, 1])
def test_random_blocks_match_memory_state(tmp_path, seed: int, retention) -> None:
    rng = random.Random(seed)
    reference = MemoryState()
    with MetisDB(tmp_path / "db", retention=retention, sync=False) as db:
        for number in range(6):
            pending = db.pending()
            for _ in range(rng.randrange(1, 4)):  # transactions
                reference.begin_transaction()
                pending.begin_transaction()
                open_snapshots: list[list[int]] = []
                for _ in range(rng.randrange(1, 30)):
                    _random_step(rng, [reference, pending], open_snapshots)
                _assert_same_reads(reference, pending)
                reference.end_transaction()
                pending.end_transaction()
                _assert_same_reads(reference, pending)
            expected = reference.state_root()
            assert pending.state_root() == expected
            assert db.commit(pending, number) == expected
            with db.reader() as snapshot:
                for address in ADDRESSES:
                    assert snapshot.get_balance(address) == reference.get_balance(address)
                    assert snapshot.storage_root(address) == reference.storage_root(address)
                    for slot in SLOTS:
                        assert snapshot.get_storage(address, slot) == reference.get_storage(address, slot)


def test_storage_wiped_by_destroy_and_recreate(tmp_path) -> None:
    address = ADDRESSES[0]
    with MetisDB(tmp_path / "db", sync=False) as db:
        genesis = db.pending()
        genesis.set_account(address, balance=1, storage={1: 1, 2: 2, 3: 3})
        db.commit(genesis, 0)
        pending = db.pending()
        pending.begin_transaction()
        assert pending.has_storage(address)
        pending.destroy_account(address)
        pending.end_transaction()
        pending.begin_transaction()
        pending.set_balance(address, 7)
        pending.set_storage(address, 2, 20)
        pending.end_transaction()
        reference = MemoryState()
        reference.set_account(address, balance=7, storage={2: 20})
        assert db.commit(pending, 1) == reference.state_root()
        with db.reader() as snapshot:
            assert [snapshot.get_storage(address, slot) for slot in (1, 2, 3)] == [0, 20, 0]
        db.rollback(0)
        with db.reader() as snapshot:
            assert [snapshot.get_storage(address, slot) for slot in (1, 2, 3)] == [1, 2, 3]


def test_has_storage_sees_unread_slots(tmp_path) -> None:
    address = ADDRESSES[1]
    with MetisDB(tmp_path / "db", sync=False) as db:
        genesis = db.pending()
        genesis.set_account(address, nonce=1, storage={5: 1})
        db.commit(genesis, 0)
        pending = db.pending()
        assert pending.has_storage(address)
        pending.set_storage(address, 5, 0)
        assert not pending.has_storage(address)
        assert pending.get_code_hash(address) == EMPTY_KECCAK
        assert pending.get_storage_items(address) == {}


def test_pending_is_consumed_and_checked(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db, MetisDB(tmp_path / "other", sync=False) as other:
        pending = db.pending()
        pending.set_balance(ADDRESSES[0], 1)
        db.commit(pending, 0)
        with pytest.raises(InvalidCommit):
            db.commit(pending, 1)  # already committed
        stale = db.pending()
        db.commit(db.pending(), 1)
        with pytest.raises(InvalidCommit):
            db.commit(stale, 2)
        with pytest.raises(InvalidCommit):
            db.commit(other.pending(), 2)
        with pytest.raises(InvalidCommit):
            db.commit(db.pending(), 7)
        assert db.latest_block_number() == 1
        stale.base_snapshot.close()


def test_historical_pending_for_calls(tmp_path) -> None:
    address = ADDRESSES[2]
    with MetisDB(tmp_path / "db", sync=False) as db:
        for number in range(3):
            pending = db.pending()
            pending.set_balance(address, 100 + number)
            pending.set_storage(address, 1, number + 1)
            db.commit(pending, number)
        with db.reader(1) as snapshot:
            scratch = snapshot.pending()
            assert scratch.get_balance(address) == 101
            assert scratch.get_storage(address, 1) == 2
            assert scratch.has_storage(address)
            scratch.set_storage(address, 1, 0)
            assert not scratch.has_storage(address)
            reference = MemoryState()
            reference.set_account(address, balance=101)
            assert scratch.state_root() == reference.state_root()
        assert keccak256(address)  # database untouched:
        with db.reader() as snapshot:
            assert snapshot.get_storage(address, 1) == 3
