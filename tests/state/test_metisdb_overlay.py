"""MetisDB's flat overlay: the accounts table is written in batches (``overlay``), yet
every reader sees exactly its block, a crash loses nothing, and rollback, amend,
pruning and an upgrade from the previous format keep the table right."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import lmdb
import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.state.memory import MemoryState
from hyperion.state.metisdb import MetisDB
from hyperion.state.metisdb.codec import ABSENT_ACCOUNT, block_from_key, decode_record

REPO = Path(__file__).resolve().parents[2]
ADDRESSES = [keccak256(b"overlay%d" % index)[:20] for index in range(60)]


def _apply_block(state, number: int, seed: int = 7) -> None:
    """Block ``number``'s changes (the same on any WorldState): balances, nonces, code,
    storage and deletions of accounts drawn from ``ADDRESSES``."""
    rng = random.Random(seed * 1_000_003 + number)
    state.begin_transaction()
    for address in rng.sample(ADDRESSES, rng.randrange(1, 20)):
        choice = rng.randrange(10)
        if choice < 5:
            state.set_balance(address, rng.randrange(1, 10**22))
        elif choice < 7:
            state.set_nonce(address, rng.randrange(1, 50))
        elif choice == 7:
            state.set_storage(address, rng.randrange(4), rng.randrange(3))
        elif choice == 8:
            state.set_code(address, bytes([0x60, rng.randrange(256)]))
        else:
            state.destroy_account(address)
    state.end_transaction()


def _commit_blocks(db: MetisDB, first: int, last: int, reference: MemoryState, history: dict) -> None:
    for number in range(first, last + 1):
        pending = db.pending()
        _apply_block(pending, number)
        _apply_block(reference, number)
        assert db.commit(pending, number) == reference.state_root()
        history[number] = reference.copy()


def _assert_reads(snapshot, expected: MemoryState) -> None:
    assert snapshot.state_root == expected.state_root()
    for address in ADDRESSES:
        assert snapshot.account_exists(address) == expected.account_exists(address), address.hex()
        assert snapshot.get_balance(address) == expected.get_balance(address)
        assert snapshot.get_nonce(address) == expected.get_nonce(address)
        assert snapshot.get_code(address) == expected.get_code(address)
        assert snapshot.storage_root(address) == expected.storage_root(address)


def _meta(path: Path, key: bytes):
    env = lmdb.open(str(path), max_dbs=128, readonly=True, lock=False, subdir=True)
    try:
        with env.begin() as txn:
            return txn.get(key, db=env.open_db(b"meta", txn=txn, create=False))
    finally:
        env.close()


def _table_matches_trie(db: MetisDB) -> None:
    report = db.check_integrity()
    assert report.ok(pruned=db.retention is not None), report


@pytest.mark.parametrize("limit,blocks", [(0, 1), (5, 3), (40, 1000)])
def test_readers_see_their_block_across_flushes(tmp_path, limit: int, blocks: int) -> None:
    """Readers opened at every block keep reading that block while later commits add
    versions and flush them into the table (every commit, every few, or never)."""
    with MetisDB(tmp_path / "db", sync=False, flat_overlay_limit=limit, flat_overlay_blocks=blocks) as db:
        reference, history = MemoryState(), {}
        readers = {}
        for number in range(30):
            _commit_blocks(db, number, number, reference, history)
            readers[number] = db.reader()
            db.clear_cache()  # reads below go to the overlay and the table, not the cache
            for held, snapshot in readers.items():
                if held % 7 == number % 7:
                    _assert_reads(snapshot, history[held])
        for held, snapshot in readers.items():
            _assert_reads(snapshot, history[held])
            snapshot.close()
        _table_matches_trie(db)
        pending = db.pending()  # built on the latest block through the overlay
        for address in ADDRESSES:
            assert pending.get_balance(address) == reference.get_balance(address)
            assert pending.get_code(address) == reference.get_code(address)


def test_clean_close_flushes_and_reopen_reads_the_table(tmp_path) -> None:
    path = tmp_path / "db"
    reference, history = MemoryState(), {}
    with MetisDB(path, sync=False) as db:
        _commit_blocks(db, 0, 12, reference, history)
        assert db._overlay.first_block is not None  # versions still only in memory
    assert block_from_key(_meta(path, b"flat-block")) == 12
    with MetisDB(path) as db:
        with db.reader() as snapshot:
            _assert_reads(snapshot, history[12])
        _table_matches_trie(db)


def _write_without_close(path: Path, blocks: int, retention: str) -> None:
    """Subprocess: commit ``blocks`` blocks and exit without closing (nothing flushed)."""
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from hyperion.state.metisdb import MetisDB\n"
        "from test_metisdb_overlay import _apply_block\n"
        f"db = MetisDB({str(path)!r}, retention={retention}, sync=True)\n"
        "start = 0 if db.latest_block_number() is None else db.latest_block_number() + 1\n"
        f"for number in range(start, start + {blocks}):\n"
        "    pending = db.pending(); _apply_block(pending, number); db.commit(pending, number)\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=120)


@pytest.mark.parametrize("retention", ["None", "4"])
def test_killed_writer_reopens_with_the_table_caught_up(tmp_path, retention: str) -> None:
    """Blocks committed after the last flush are recovered from their changesets and
    the latest trie when the store is reopened."""
    path = tmp_path / "db"
    _write_without_close(path, 1, retention)  # block 0 is always flushed
    _write_without_close(path, 15, retention)
    flat = block_from_key(_meta(path, b"flat-block"))
    latest = block_from_key(_meta(path, b"latest"))
    assert latest == 15
    if retention == "None":
        assert flat < latest  # the table is behind: recovery has work to do
    else:
        assert flat >= latest - 4  # pruning never lets a needed changeset go
    reference, history = MemoryState(), {}
    for number in range(16):
        _apply_block(reference, number)
    with MetisDB(path, retention=None if retention == "None" else 4) as db:
        with db._env.begin() as txn:
            assert block_from_key(txn.get(b"flat-block", db=db._tables.meta)) == 15
        db.clear_cache()
        with db.reader() as snapshot:
            _assert_reads(snapshot, reference)
        _table_matches_trie(db)
        reference_next = reference.copy()
        _commit_blocks(db, 16, 18, reference_next, history)


def test_rollback_below_and_above_the_flushed_block(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False, flat_overlay_limit=10**6, flat_overlay_blocks=6) as db:
        reference, history = MemoryState(), {}
        _commit_blocks(db, 0, 20, reference, history)
        flushed = db._overlay.since
        assert 0 < flushed < 20
        for target in (18, flushed + 1, flushed - 2, 3):
            db.rollback(target)
            db.clear_cache()
            with db.reader() as snapshot:
                _assert_reads(snapshot, history[target])
            _table_matches_trie(db)
        reference = history[3].copy()
        _commit_blocks(db, 4, 9, reference, history)
        with db.reader() as snapshot:
            _assert_reads(snapshot, reference)


def test_amend_keeps_old_readers_on_the_block_as_it_was(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db:
        reference, history = MemoryState(), {}
        _commit_blocks(db, 0, 5, reference, history)
        before = db.reader()
        pending = db.pending()
        pending.set_balance(ADDRESSES[0], 123)
        pending.set_nonce(ADDRESSES[1], 77)
        db.amend_latest(pending)
        reference.set_balance(ADDRESSES[0], 123)
        reference.set_nonce(ADDRESSES[1], 77)
        db.clear_cache()
        _assert_reads(before, history[5])
        with db.reader() as after:
            _assert_reads(after, reference)
        before.close()
        _table_matches_trie(db)
        db.rollback(4)
        with db.reader() as snapshot:
            _assert_reads(snapshot, history[4])


def test_previous_format_is_upgraded_in_place(tmp_path) -> None:
    path = tmp_path / "db"
    reference, history = MemoryState(), {}
    with MetisDB(path, sync=False) as db:
        _commit_blocks(db, 0, 6, reference, history)
    env = lmdb.open(str(path), max_dbs=128, subdir=True)
    with env.begin(write=True) as txn:  # what a metisdb/2 store looks like
        meta = env.open_db(b"meta", txn=txn)
        txn.put(b"format", b"metisdb/2", db=meta)
        txn.delete(b"flat-block", db=meta)
    env.close()
    with MetisDB(path) as db:
        with db.reader() as snapshot:
            _assert_reads(snapshot, history[6])
        _commit_blocks(db, 7, 8, reference, history)
    assert _meta(path, b"format") == b"metisdb/3"


def test_bad_overlay_settings_are_refused(tmp_path) -> None:
    for settings in ({"flat_overlay_limit": -1}, {"flat_overlay_blocks": "9"}):
        with pytest.raises(ValueError):
            MetisDB(tmp_path / "db", **settings)


def test_flat_records_of_the_overlay_decode_like_the_table(tmp_path) -> None:
    """What a flush writes is exactly what the overlay served."""
    with MetisDB(tmp_path / "db", sync=False) as db:
        reference, history = MemoryState(), {}
        _commit_blocks(db, 0, 8, reference, history)
        served = {address: db._overlay.record(address, 8) for address in ADDRESSES}
        db.flush_flat()
        with db._env.begin() as txn:
            for address, record in served.items():
                if record is None:
                    continue
                stored = txn.get(address, db=db._tables.accounts)
                if record is ABSENT_ACCOUNT:
                    assert stored is None and not reference.account_exists(address)
                else:
                    assert decode_record(stored) == record
