"""MetisDB: commits, history reads, rollback, retention and pruning, cache, chain records, errors."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import lmdb
import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.state.database import DatabaseClosed, InvalidCommit, StateUnavailable
from hyperion.state.memory import MemoryState
from hyperion.state.metisdb import (
    ConfigurationMismatch,
    DatabaseFull,
    DatabaseLocked,
    DataDirReadOnly,
    IncompatibleFormat,
    MetisDB,
)

ADDRESSES = [keccak256(bytes([index]))[:20] for index in range(40)]


def _run_blocks(db: MetisDB, blocks: int, seed: int = 1, start: int = 0) -> list[MemoryState]:
    """Commit ``blocks`` random blocks; returns the reference state after each (copies)."""
    rng = random.Random(seed)
    reference = MemoryState()
    if start:
        raise ValueError("only from genesis")
    history = []
    for number in range(blocks):
        pending = db.pending()
        for state in (pending, reference):
            state.begin_transaction()
        for _ in range(rng.randrange(1, 12)):
            address = rng.choice(ADDRESSES)
            choice = rng.randrange(5)
            value = rng.randrange(0, 1000)
            slot = rng.randrange(6)
            for state in (pending, reference):
                if choice == 0:
                    state.set_balance(address, value)
                elif choice in (1, 2):
                    state.set_storage(address, slot, value % 3)
                elif choice == 3:
                    state.set_nonce(address, value)
                else:
                    state.destroy_account(address)
        for state in (pending, reference):
            state.end_transaction()
        assert db.commit(pending, number) == reference.state_root()
        history.append(reference.copy())
    return history


def _assert_snapshot_equals(snapshot, reference: MemoryState) -> None:
    assert snapshot.state_root == reference.state_root()
    for address in ADDRESSES:
        assert snapshot.account_exists(address) == reference.account_exists(address)
        assert snapshot.get_balance(address) == reference.get_balance(address)
        assert snapshot.get_nonce(address) == reference.get_nonce(address)
        assert snapshot.storage_root(address) == reference.storage_root(address)
        for slot in range(6):
            assert snapshot.get_storage(address, slot) == reference.get_storage(address, slot)


def _assert_integrity(db: MetisDB) -> None:
    report = db.check_integrity()
    assert report.ok(pruned=db.retention is not None), report


def test_history_reads_every_block_in_archive_mode(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db:
        history = _run_blocks(db, 25)
        assert db.oldest_block_number() == 0 and db.latest_block_number() == 24
        for number in (0, 3, 11, 24):
            with db.reader(number) as snapshot:
                assert snapshot.block_number == number
                _assert_snapshot_equals(snapshot, history[number])
        with pytest.raises(StateUnavailable):
            db.reader(25)


def test_rollback_restores_flat_view_and_roots(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db:
        history = _run_blocks(db, 20, seed=7)
        with db.reader() as snapshot:
            snapshot.get_balance(ADDRESSES[0])  # warm the cache with block 19 values
        db.rollback(12)
        assert db.latest_block_number() == 12
        with db.reader() as snapshot:
            _assert_snapshot_equals(snapshot, history[12])
        with pytest.raises(StateUnavailable):
            db.reader(13)
        pending = db.pending()
        pending.set_balance(ADDRESSES[0], 424242)
        db.commit(pending, 13)
        with db.reader() as snapshot:
            assert snapshot.get_balance(ADDRESSES[0]) == 424242
        with db.reader(12) as snapshot:
            _assert_snapshot_equals(snapshot, history[12])
        with pytest.raises(StateUnavailable):
            db.rollback(14)


def test_pruning_keeps_window_and_deletes_unreachable_nodes(tmp_path) -> None:
    with MetisDB(tmp_path / "db", retention=4, sync=False) as db:
        history = _run_blocks(db, 30, seed=3)
        assert db.oldest_block_number() == 25
        with pytest.raises(StateUnavailable):
            db.reader(24)
        for number in range(25, 30):
            with db.reader(number) as snapshot:
                _assert_snapshot_equals(snapshot, history[number])
        # Stale lists leave exactly the nodes the retained roots reach.
        _assert_integrity(db)
        stats = db.stats()
        assert stats["roots"] == 5 and stats["changes"] == 4
        db.rollback(25)
        _assert_integrity(db)
        with pytest.raises(StateUnavailable):
            db.rollback(24)
        with db.reader() as snapshot:
            _assert_snapshot_equals(snapshot, history[25])


def test_archive_keeps_all_nodes_and_pruned_mode_is_smaller(tmp_path) -> None:
    with MetisDB(tmp_path / "archive", sync=False) as archive:
        _run_blocks(archive, 30, seed=5)
        _assert_integrity(archive)
        archived = archive.stats()["nodes"]
    with MetisDB(tmp_path / "pruned", retention=0, sync=False) as pruned:
        _run_blocks(pruned, 30, seed=5)
        assert pruned.stats()["nodes"] < archived
        _assert_integrity(pruned)


def _node_ids(db: MetisDB) -> list[bytes]:
    with db._env.begin() as txn:
        return list(txn.cursor(db=db._tables.nodes).iternext(keys=True, values=False))


@pytest.mark.parametrize("retention", [None, 2])
def test_new_nodes_are_appended_and_rollback_leaves_no_garbage(tmp_path, retention) -> None:
    with MetisDB(tmp_path / "db", retention=retention, sync=False) as db:
        history = _run_blocks(db, 12, seed=17)
        before = _node_ids(db)
        pending = db.pending()
        for index, address in enumerate(ADDRESSES[:10]):
            pending.set_balance(address, 10**9 + index)
        db.commit(pending, 12)
        new = sorted(set(_node_ids(db)) - set(before))
        assert new and new[0] > max(before)  # a commit only appends to the node log
        db.rollback(10)
        # Nodes written after block 10 are deleted with the blocks, in both modes.
        assert max(_node_ids(db)) < new[0]
        assert db.check_integrity().ok(pruned=True)
        with db.reader() as snapshot:
            _assert_snapshot_equals(snapshot, history[10])
        pending = db.pending()
        pending.set_balance(ADDRESSES[0], 5)
        db.commit(pending, 11)
        assert min(set(_node_ids(db)) - set(before)) > new[-1]  # ids are never reused
        _assert_integrity(db)


def test_reopen_keeps_everything(tmp_path) -> None:
    with MetisDB(tmp_path / "db", retention=10) as db:
        history = _run_blocks(db, 8, seed=11)
        db.commit(db.pending(), 8, [("headers", b"\x08", b"header-8")])
    with MetisDB(tmp_path / "db", retention=10) as db:
        assert db.latest_block_number() == 8
        assert db.chain_get("headers", b"\x08") == b"header-8"
        with db.reader(7) as snapshot:
            _assert_snapshot_equals(snapshot, history[7])
        with db.reader() as snapshot:
            assert snapshot.state_root == history[7].state_root()  # block 8 was empty


def test_chain_records_commit_atomically_with_state(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db:
        pending = db.pending()
        pending.set_balance(ADDRESSES[0], 1)
        db.commit(pending, 0, [("blocks", b"\x00", b"genesis"), ("receipts", b"\x00", b"r0")])
        assert db.chain_get("blocks", b"\x00") == b"genesis"
        assert db.chain_get("nothing", b"\x00") is None
        db.chain_put("meta", b"head", b"\x00")
        db.chain_put("meta", b"head", None)
        assert db.chain_get("meta", b"head") is None
        with pytest.raises(InvalidCommit):
            db.commit(db.pending(), 1, [("blocks", b"", b"empty key")])
        with pytest.raises(InvalidCommit):
            db.commit(db.pending(), 1, [("bad table", b"k", b"v")])
        assert db.latest_block_number() == 0


def test_amend_latest_changes_state_and_keeps_rollback_exact(tmp_path) -> None:
    with MetisDB(tmp_path / "db", retention=3, sync=False) as db:
        history = _run_blocks(db, 5, seed=13)
        edit = db.pending()
        edit.set_balance(ADDRESSES[1], 10**18)
        edit.set_storage(ADDRESSES[2], 1, 77)
        expected = history[4].copy()
        expected.set_balance(ADDRESSES[1], 10**18)
        expected.set_storage(ADDRESSES[2], 1, 77)
        root = db.amend_latest(edit)
        assert root == expected.state_root() == db.state_root()
        assert db.latest_block_number() == 4
        with db.reader() as snapshot:
            assert snapshot.get_balance(ADDRESSES[1]) == 10**18
        _assert_integrity(db)  # what the amend replaced in block 4's own nodes is gone
        db.rollback(3)
        with db.reader() as snapshot:
            _assert_snapshot_equals(snapshot, history[3])
        _assert_integrity(db)


def test_cache_is_invalidated_by_commit_and_rollback(tmp_path) -> None:
    address = ADDRESSES[5]
    with MetisDB(tmp_path / "db", sync=False) as db:
        for number, balance in enumerate((10, 20, 30)):
            pending = db.pending()
            pending.set_balance(address, balance)
            pending.set_storage(address, 1, balance)
            db.commit(pending, number)
            with db.reader() as snapshot:
                assert snapshot.get_balance(address) == balance  # miss, then cached
                assert snapshot.get_balance(address) == balance  # hit
                assert snapshot.get_storage(address, 1) == balance
                assert snapshot.get_storage(address, 1) == balance
        assert address in db._cache.accounts
        db.rollback(1)
        with db.reader() as snapshot:
            assert snapshot.get_balance(address) == 20
            assert snapshot.get_storage(address, 1) == 20


def test_old_snapshot_never_uses_newer_cache_entries(tmp_path) -> None:
    address = ADDRESSES[6]
    with MetisDB(tmp_path / "db", sync=False) as db:
        pending = db.pending()
        pending.set_balance(address, 1)
        db.commit(pending, 0)
        old = db.reader()
        assert old.get_balance(address) == 1
        pending = db.pending()
        pending.set_balance(address, 2)
        db.commit(pending, 1)
        with db.reader() as new:
            assert new.get_balance(address) == 2
        assert old.get_balance(address) == 1
        assert old.block_number == 0
        old.close()
        with pytest.raises(DatabaseClosed):
            old.get_balance(address)


def test_map_grows_when_full(tmp_path) -> None:
    with MetisDB(tmp_path / "db", map_size=1 << 17, sync=False) as db:
        pending = db.pending()
        for index in range(3000):
            pending.set_storage(ADDRESSES[index % 40], index, index + 1)
        db.commit(pending, 0)
        assert db._map_size > 1 << 17
        with db.reader() as snapshot:
            assert snapshot.get_storage(ADDRESSES[0], 0) == 1


def test_full_map_with_open_readers_is_a_clear_error(tmp_path) -> None:
    with MetisDB(tmp_path / "db", map_size=1 << 17, sync=False) as db:
        db.commit(db.pending(), 0)
        reader = db.reader()
        pending = db.pending()
        for index in range(3000):
            pending.set_storage(ADDRESSES[index % 40], index, index + 1)
        with pytest.raises(DatabaseFull, match="map_size"):
            db.commit(pending, 1)
        reader.close()
        assert db.latest_block_number() == 0
        with db.reader() as snapshot:
            assert snapshot.get_storage(ADDRESSES[0], 0) == 0


def test_second_process_is_refused(tmp_path) -> None:
    path = tmp_path / "db"
    with MetisDB(path, sync=False):
        script = (
            "import sys\nfrom hyperion.state.metisdb import MetisDB, DatabaseLocked\n"
            "try:\n    MetisDB(sys.argv[1])\nexcept DatabaseLocked as exc:\n    print('locked:', exc)\n"
        )
        result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                                text=True, timeout=60, cwd=os.getcwd())
        assert "locked:" in result.stdout and "in use" in result.stdout
        with pytest.raises(DatabaseLocked):
            MetisDB(path)  # a second opener in the same process too


def test_read_only_data_dir(tmp_path, monkeypatch) -> None:
    path = tmp_path / "db"
    MetisDB(path, sync=False).close()
    if os.geteuid() == 0:  # root ignores permission bits: simulate what access(2) reports
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    path.chmod(0o500)
    try:
        with pytest.raises(DataDirReadOnly, match="not writable"):
            MetisDB(path)
    finally:
        path.chmod(0o700)


def test_incompatible_format_and_mode(tmp_path) -> None:
    path = tmp_path / "db"
    MetisDB(path, sync=False).close()
    with pytest.raises(ConfigurationMismatch):
        MetisDB(path, retention=5)
    env = lmdb.open(str(path), max_dbs=16)
    with env.begin(write=True) as txn:
        txn.put(b"format", b"metisdb/0", db=env.open_db(b"meta", txn=txn))
    env.close()
    with pytest.raises(IncompatibleFormat, match="format"):
        MetisDB(path)
    foreign = tmp_path / "foreign"
    env = lmdb.open(str(foreign))
    with env.begin(write=True) as txn:
        txn.put(b"hello", b"world")
    env.close()
    with pytest.raises(IncompatibleFormat, match="not MetisDB"):
        MetisDB(foreign)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "data.mdb").write_bytes(b"\x00not an lmdb file" * 512)
    with pytest.raises(IncompatibleFormat):
        MetisDB(garbage)


def test_closed_database_and_bad_arguments(tmp_path) -> None:
    db = MetisDB(tmp_path / "db", sync=False)
    db.close()
    db.close()
    with pytest.raises(DatabaseClosed):
        db.pending()
    with pytest.raises(ValueError):
        MetisDB(tmp_path / "x", retention=-2)
    with MetisDB(tmp_path / "y", sync=False) as fresh:
        with pytest.raises(StateUnavailable):
            fresh.reader()
        with pytest.raises(InvalidCommit):
            fresh.amend_latest(fresh.pending())
        fresh.commit(fresh.pending(), 0)
        with fresh.reader() as snapshot:
            with pytest.raises(ValueError):
                snapshot.get_storage(ADDRESSES[0], -1)
            with pytest.raises(ValueError):
                snapshot.get_balance("not bytes")  # type: ignore[arg-type]


def test_integrity_check_notices_damage(tmp_path) -> None:
    with MetisDB(tmp_path / "db", retention=2, sync=False) as db:
        _run_blocks(db, 5, seed=21)
        _assert_integrity(db)
        with db._env.begin(write=True) as txn:
            key, _ = next(iter(txn.cursor(db=db._tables.nodes)))
            txn.delete(key, db=db._tables.nodes)
        report = db.check_integrity()
        assert not report.ok() and (report.missing_nodes or report.bad_nodes)


def test_pending_opened_before_amend_or_rollback_is_stale(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db:
        _run_blocks(db, 3, seed=2)
        stale = db.pending()
        edit = db.pending()
        edit.set_balance(ADDRESSES[0], 5)
        db.amend_latest(edit)
        with pytest.raises(InvalidCommit, match="stale"):
            db.commit(stale, 3)
        stale = db.pending(1)
        db.rollback(1)
        with pytest.raises(InvalidCommit, match="stale"):
            db.commit(stale, 2)
        fresh = db.pending()
        fresh.set_balance(ADDRESSES[0], 6)
        db.commit(fresh, 2)
        _assert_integrity(db)


def test_tiny_parse_cache_stays_exact(tmp_path) -> None:
    reference = MemoryState()
    with MetisDB(tmp_path / "db", sync=False, parsed_node_cache=8) as db:
        for number in range(4):
            pending = db.pending()
            for index in range(40 * (number + 1)):
                address = keccak256(b"big" + index.to_bytes(4, "big"))[:20]
                pending.set_balance(address, number + index)
                reference.set_balance(address, number + index)
            assert db.commit(pending, number) == reference.state_root()
        _assert_integrity(db)


@pytest.mark.parametrize("nonce,balance", [(0, 0), (1, 127), (128, 10**18), (2**64 - 1, 2**256 - 1)])
def test_flat_records_are_slim_only_without_storage_and_code(nonce, balance) -> None:
    from hyperion.primitives.keccak import EMPTY_KECCAK
    from hyperion.state.account import encode_account
    from hyperion.state.metisdb.codec import decode_record, flat_record
    from hyperion.trie import EMPTY_TRIE_ROOT

    leaf = encode_account(nonce, balance, EMPTY_TRIE_ROOT, EMPTY_KECCAK)
    slim = flat_record(leaf, EMPTY_TRIE_ROOT, EMPTY_KECCAK)
    assert len(slim) == len(leaf) - 65  # two empty strings instead of two hashes; a 1-byte header
    assert decode_record(slim) == decode_record(leaf) == (nonce, balance, EMPTY_TRIE_ROOT, EMPTY_KECCAK)
    contract = encode_account(nonce, balance, keccak256(b"root"), keccak256(b"code"))
    assert flat_record(contract, keccak256(b"root"), keccak256(b"code")) == contract


def test_damaged_slim_record_is_reported() -> None:
    from hyperion.state.metisdb.codec import decode_record
    from hyperion.state.metisdb.errors import CorruptDatabase

    for damaged in (b"\xc4\xb9\x01\x80\x80", b"\xc3\x01\x80\x80\x80"[:4] + b"\x80", b"\xc5\x01\x01\x01\x80\x80"):
        with pytest.raises(CorruptDatabase):
            decode_record(damaged)
