"""MVCC: readers see one block, unaffected by a writer committing concurrently."""

from __future__ import annotations

import threading

import pytest

from hyperion.state.metisdb import MetisDB

ACCOUNTS = [bytes([index]) * 20 for index in range(1, 33)]


def _run_together(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def _commit_block(db: MetisDB, number: int) -> None:
    """Block ``n`` sets every balance to n and slot 0 to n (so a mix is detectable)."""
    pending = db.pending()
    for address in ACCOUNTS:
        pending.set_balance(address, number + 1)
        pending.set_storage(address, 0, number + 1)
    db.commit(pending, number)


@pytest.mark.parametrize("flat_overlay_limit", [131072, 40, 0])
def test_readers_see_a_consistent_block_while_a_writer_commits(tmp_path, flat_overlay_limit: int) -> None:
    """Also while the accounts table is flushed from the flat overlay (every block,
    every other block, or not at all during the test)."""
    with MetisDB(tmp_path / "db", retention=None, sync=False, flat_overlay_limit=flat_overlay_limit) as db:
        _commit_block(db, 0)
        blocks = 60
        errors: list[str] = []
        done = threading.Event()

        def writer() -> None:
            try:
                for number in range(1, blocks):
                    _commit_block(db, number)
            except Exception as exc:  # reported by the main thread
                errors.append(f"writer: {exc!r}")
            finally:
                done.set()

        def reader(worker: int) -> None:
            seen = 0
            while not done.is_set() or seen < 3:
                if worker % 2 and seen % 3 == 0:
                    db.clear_cache()  # reads go to the overlay and the table
                with db.reader() as snapshot:
                    expected = snapshot.block_number + 1
                    for round_ in range(2):  # second round is served by the cache
                        for address in ACCOUNTS:
                            balance = snapshot.get_balance(address)
                            slot = snapshot.get_storage(address, 0)
                            if balance != expected or slot != expected:
                                errors.append(f"reader {worker}: block {snapshot.block_number} "
                                              f"saw balance {balance}, slot {slot}")
                                return
                seen += 1

        _run_together([threading.Thread(target=reader, args=(index,)) for index in range(6)]
                      + [threading.Thread(target=writer)])
        assert not errors, errors[:5]
        assert db.latest_block_number() == blocks - 1


def test_snapshot_held_across_many_commits(tmp_path) -> None:
    with MetisDB(tmp_path / "db", retention=2, sync=False) as db:
        _commit_block(db, 0)
        held = db.reader()
        for number in range(1, 10):
            _commit_block(db, number)
        # Block 0 left the window, but the open read transaction still pins it.
        assert held.block_number == 0
        assert all(held.get_balance(address) == 1 for address in ACCOUNTS)
        assert held.account_proof(ACCOUNTS[0], [0])["balance"] == 1
        held.close()
        with db.reader() as latest:
            assert latest.get_balance(ACCOUNTS[3]) == 10


def test_historical_readers_in_threads(tmp_path) -> None:
    with MetisDB(tmp_path / "db", sync=False) as db:
        for number in range(8):
            _commit_block(db, number)
        failures: list[int] = []

        def read_block(number: int) -> None:
            with db.reader(number) as snapshot:
                if any(snapshot.get_storage(address, 0) != number + 1 for address in ACCOUNTS):
                    failures.append(number)

        threads = [threading.Thread(target=read_block, args=(number % 8,)) for number in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures


def test_readers_never_mix_an_amended_block_with_its_first_version(tmp_path) -> None:
    """An amend rewrites the latest block (and flushes the accounts table): a reader
    sees the block wholly as it was or wholly as amended."""
    with MetisDB(tmp_path / "db", retention=None, sync=False, flat_overlay_limit=1000) as db:
        _commit_block(db, 0)
        errors: list[str] = []
        done = threading.Event()

        def writer() -> None:
            try:
                for number in range(1, 40):
                    _commit_block(db, number)
                    pending = db.pending()
                    for address in ACCOUNTS:
                        pending.set_balance(address, 1000 + number)
                        pending.set_storage(address, 0, 1000 + number)
                    db.amend_latest(pending)
            except Exception as exc:  # reported by the main thread
                errors.append(f"writer: {exc!r}")
            finally:
                done.set()

        def reader(worker: int) -> None:
            while not done.is_set():
                if worker % 2:
                    db.clear_cache()
                with db.reader() as snapshot:
                    number = snapshot.block_number
                    values = {snapshot.get_balance(address) for address in ACCOUNTS}
                    values |= {snapshot.get_storage(address, 0) for address in ACCOUNTS}
                    if len(values) != 1 or values.pop() not in (number + 1, 1000 + number):
                        errors.append(f"reader {worker}: block {number} mixed versions")
                        return

        _run_together([threading.Thread(target=reader, args=(index,)) for index in range(4)]
                      + [threading.Thread(target=writer)])
        assert not errors, errors[:5]
