"""MemoryStateDatabase: the state-database protocol kept in memory."""

from __future__ import annotations

import pytest

from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.database import DatabaseClosed, InvalidCommit, StateUnavailable
from hyperion.state.memory import MemoryState
from hyperion.state.memorydb import MemoryStateDatabase
from hyperion.trie import EMPTY_TRIE_ROOT, verify_proof

ALICE = b"\xaa" * 20
BOB = b"\xbb" * 20


def _genesis(db: MemoryStateDatabase) -> bytes:
    pending = db.pending()
    pending.set_account(ALICE, nonce=1, balance=100, code=b"\x60\x00", storage={1: 10})
    pending.set_account(BOB, balance=5)
    return db.commit(pending, 0, [("headers", b"\x00", b"genesis")])


def test_empty_database() -> None:
    db = MemoryStateDatabase()
    assert db.latest_block_number() is None
    with pytest.raises(StateUnavailable):
        db.reader()
    assert db.pending().state_root() == EMPTY_TRIE_ROOT


def test_commit_and_read_back() -> None:
    db = MemoryStateDatabase()
    root = _genesis(db)
    reference = MemoryState()
    reference.set_account(ALICE, nonce=1, balance=100, code=b"\x60\x00", storage={1: 10})
    reference.set_account(BOB, balance=5)
    assert root == reference.state_root() == db.state_root(0)
    assert db.latest_block_number() == 0
    with db.reader() as reader:
        assert reader.block_number == 0 and reader.state_root == root
        assert reader.get_balance(ALICE) == 100
        assert reader.get_nonce(ALICE) == 1
        assert reader.get_code(ALICE) == b"\x60\x00"
        assert reader.get_code_hash(ALICE) == keccak256(b"\x60\x00")
        assert reader.get_code_hash(b"\x01" * 20) == EMPTY_KECCAK
        assert reader.get_storage(ALICE, 1) == 10
        assert reader.account_exists(BOB) and not reader.account_exists(b"\x01" * 20)
    assert db.chain_get("headers", b"\x00") == b"genesis"
    assert db.chain_get("headers", b"\x01") is None
    assert db.chain_get("receipts", b"\x00") is None


def test_pending_is_isolated_from_committed_blocks() -> None:
    db = MemoryStateDatabase()
    _genesis(db)
    pending = db.pending()
    pending.begin_transaction()
    pending.set_balance(ALICE, 1)
    pending.set_storage(ALICE, 1, 0)
    pending.end_transaction()
    assert db.reader().get_balance(ALICE) == 100  # not committed yet
    root1 = db.commit(pending, 1)
    pending.set_balance(ALICE, 77)  # the committed block holds its own copy
    with db.reader(1) as reader:
        assert reader.get_balance(ALICE) == 1 and reader.get_storage(ALICE, 1) == 0
        assert reader.state_root == root1
    assert db.reader(0).get_balance(ALICE) == 100  # history


def test_reader_pending_is_writable_and_discarded() -> None:
    db = MemoryStateDatabase()
    root = _genesis(db)
    scratch = db.reader(0).pending()
    scratch.set_balance(BOB, 999)
    assert scratch.state_root() != root
    assert db.reader().get_balance(BOB) == 5


def test_commit_checks_block_number_and_parent() -> None:
    db = MemoryStateDatabase()
    _genesis(db)
    with pytest.raises(InvalidCommit):
        db.commit(db.pending(), 5)
    stale = db.pending()
    db.commit(db.pending(), 1)
    with pytest.raises(InvalidCommit):
        db.commit(stale, 2)  # built on block 0, latest is 1
    with pytest.raises(InvalidCommit):
        db.commit(MemoryState(), 2)
    with pytest.raises(InvalidCommit):
        db.commit(db.pending(), 2, [("bad name!", b"k", b"v")])
    assert db.latest_block_number() == 1  # nothing from the failed commits


def test_amend_latest_replaces_state_without_a_block() -> None:
    db = MemoryStateDatabase()
    _genesis(db)
    edit = db.pending()
    edit.set_balance(BOB, 12345)
    new_root = db.amend_latest(edit)
    assert db.latest_block_number() == 0
    assert db.state_root() == new_root
    assert db.reader().get_balance(BOB) == 12345
    with pytest.raises(InvalidCommit):
        MemoryStateDatabase().amend_latest(edit)


def test_rollback_and_retention() -> None:
    db = MemoryStateDatabase(retention=2)
    _genesis(db)
    for number in range(1, 6):
        pending = db.pending()
        pending.set_balance(BOB, number)
        db.commit(pending, number)
    assert db.oldest_block_number() == 3
    with pytest.raises(StateUnavailable):
        db.reader(2)
    db.rollback(4)
    assert db.latest_block_number() == 4 and db.reader().get_balance(BOB) == 4
    with pytest.raises(StateUnavailable):
        db.reader(5)
    with pytest.raises(StateUnavailable):
        db.rollback(1)
    pending = db.pending()
    pending.set_balance(BOB, 50)
    db.commit(pending, 5)
    assert db.reader(5).get_balance(BOB) == 50


def test_chain_put_and_delete() -> None:
    db = MemoryStateDatabase()
    db.chain_put("meta", b"k", b"v")
    assert db.chain_get("meta", b"k") == b"v"
    db.chain_put("meta", b"k", None)
    assert db.chain_get("meta", b"k") is None
    with pytest.raises(InvalidCommit):
        db.chain_put("meta", "not-bytes", b"v")  # type: ignore[arg-type]


def test_account_proof_verifies() -> None:
    db = MemoryStateDatabase()
    root = _genesis(db)
    proof = db.reader().account_proof(ALICE, [1, 2])
    leaf = verify_proof(root, keccak256(ALICE), proof["accountProof"])
    assert leaf is not None
    assert proof["storageProof"][0]["value"] == 10
    assert verify_proof(proof["storageHash"], keccak256((1).to_bytes(32, "big")),
                        proof["storageProof"][0]["proof"]) == b"\x0a"
    assert verify_proof(proof["storageHash"], keccak256((2).to_bytes(32, "big")),
                        proof["storageProof"][1]["proof"]) is None


def test_closed_database_refuses_use() -> None:
    db = MemoryStateDatabase()
    db.close()
    with pytest.raises(DatabaseClosed):
        db.latest_block_number()
    with pytest.raises(ValueError):
        MemoryStateDatabase(retention=-1)


def test_large_storages_are_frozen_per_block_and_read_back_exactly(monkeypatch) -> None:
    """Blocks keep large storages without copying them; every block reads back, roots stay exact."""
    import hyperion.state.memorydb as memorydb

    monkeypatch.setattr(memorydb, "FROZEN_STORAGE_MIN_SLOTS", 4)
    db = MemoryStateDatabase()
    _genesis(db)
    expected: dict[int, dict[int, int]] = {0: {1: 10}}
    current = {1: 10}
    for number in range(1, 9):
        pending = db.pending()
        pending.begin_transaction()
        for slot in range(number, number + 3):
            pending.set_storage(ALICE, slot, number * 100 + slot)
            current[slot] = number * 100 + slot
        pending.set_storage(ALICE, 1, 0 if number % 2 else 7)
        current.pop(1, None) if number % 2 else current.__setitem__(1, 7)
        pending.end_transaction()
        root = db.commit(pending, number)
        reference = MemoryState()
        reference.set_account(ALICE, nonce=1, balance=100, code=b"\x60\x00", storage=dict(current))
        reference.set_account(BOB, balance=5)
        assert root == reference.state_root()
        expected[number] = dict(current)
    assert isinstance(db.reader(3)._state._accounts[ALICE].storage,
                      memorydb.FrozenStorage)  # the path under test was taken
    for number, slots in expected.items():
        with db.reader(number) as reader:
            for slot in range(0, 13):
                assert reader.get_storage(ALICE, slot) == slots.get(slot, 0), (number, slot)
    # a pending state on an older block copies the frozen storage out of its trie
    old = db.reader(3).pending()
    old.begin_transaction()
    old.set_storage(ALICE, 2, 5)
    assert old.get_storage_items(ALICE) == {**expected[3], 2: 5}
    assert db.reader(3).get_storage(ALICE, 2) == expected[3][2]
    db.rollback(5)
    pending = db.pending()
    pending.begin_transaction()
    pending.set_storage(ALICE, 12, 1)
    pending.end_transaction()
    root = db.commit(pending, 6)
    reference = MemoryState()
    reference.set_account(ALICE, nonce=1, balance=100, code=b"\x60\x00", storage={**expected[5], 12: 1})
    reference.set_account(BOB, balance=5)
    assert root == reference.state_root()
    with db.reader(5) as reader:
        assert reader.get_storage(ALICE, 12) == 0
