"""Crash safety: a writer process killed with SIGKILL at random moments, many times.

The writer commits a deterministic chain of blocks (each block's changes are
a function of its number), printing each block number once committed. After
every kill the store is reopened and must be at a committed block
(>= the last one reported) whose root and flat view match a replay of the
same blocks in ``MemoryState``, with no half-written trie nodes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POOL = [(index * 7919 + 1).to_bytes(20, "big") for index in range(300)]
SLOTS = range(8)


def apply_block(state, number: int) -> None:
    """The changes of block ``number`` (identical on any WorldState)."""
    rng = random.Random(number * 1_000_003 + 17)
    state.begin_transaction()
    for address in rng.sample(POOL, 120):
        operation = rng.randrange(10)
        if operation == 0:
            state.destroy_account(address)
        elif operation < 4:
            state.set_storage(address, rng.choice(SLOTS), rng.randrange(3))
        else:
            state.set_balance(address, rng.randrange(1, 10**24))
            state.set_nonce(address, number)
    state.end_transaction()


def run_writer(path: str, retention: str) -> None:
    """Subprocess entry: continue the chain forever, reporting each committed block."""
    from hyperion.state.metisdb import MetisDB

    db = MetisDB(path, retention=None if retention == "archive" else int(retention), sync=False)
    number = 0 if db.latest_block_number() is None else db.latest_block_number() + 1
    print("ready", flush=True)
    while True:
        pending = db.pending()
        apply_block(pending, number)
        print(f"commit {number}", flush=True)
        db.commit(pending, number, [("blocks", number.to_bytes(8, "big"), b"block %d" % number)])
        print(f"done {number}", flush=True)
        number += 1
        # A pause between blocks keeps the archive's history (which every reopen
        # checks whole) growing by about a hundred blocks per life, however fast
        # commits are; kills still land inside commits often.
        time.sleep(0.001)


def _crash_loop(tmp_path: Path, kills: int, retention: str, seed: int) -> int:
    """Kill the writer ``kills`` times; returns how many kills landed inside ``commit``."""
    from hyperion.state.memory import MemoryState
    from hyperion.state.metisdb import MetisDB

    rng = random.Random(seed)
    path = tmp_path / "db"
    reference = MemoryState()
    roots: list[bytes] = []
    states: dict[int, MemoryState] = {}

    def expected_state(block: int) -> MemoryState:
        while len(roots) <= block:
            apply_block(reference, len(roots))
            roots.append(reference.state_root())
            states[len(roots) - 1] = reference.copy()
            states.pop(len(roots) - 3, None)
        return states[block]

    env = dict(os.environ, PYTHONPATH=str(REPO))
    last_reported = -1
    inside_commit = 0
    for _ in range(kills):
        writer = subprocess.Popen(
            [sys.executable, __file__, str(path), retention],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=env,
        )
        # Kill at a random moment after the writer has opened the store, however
        # long the interpreter took to start on a loaded machine.
        first = writer.stdout.readline()
        assert first == b"ready\n", first + writer.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.0, 0.6))
        writer.send_signal(signal.SIGKILL)
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, err.decode()[-2000:]
        lines = out.decode().split("\n")
        reported = [int(line.split()[1]) for line in lines if line.startswith("done ")]
        if reported:
            last_reported = max(last_reported, reported[-1])
        started = [line for line in lines if line]
        inside_commit += bool(started) and started[-1].startswith("commit ")
        with MetisDB(path, retention=None if retention == "archive" else int(retention)) as db:
            latest = db.latest_block_number()
            if latest is None:
                assert last_reported == -1
                continue
            assert last_reported <= latest <= last_reported + 1
            expected = expected_state(latest)
            assert db.chain_get("blocks", latest.to_bytes(8, "big")) == b"block %d" % latest
            assert db.chain_get("blocks", (latest + 1).to_bytes(8, "big")) is None
            with db.reader() as snapshot:
                assert snapshot.state_root == roots[latest]
                for address in POOL:
                    assert snapshot.get_balance(address) == expected.get_balance(address)
                    assert snapshot.get_nonce(address) == expected.get_nonce(address)
                    for slot in SLOTS:
                        assert snapshot.get_storage(address, slot) == expected.get_storage(address, slot)
            report = db.check_integrity()
            assert report.ok(pruned=retention != "archive"), report
            # The reopened store takes new blocks (the rebuilt chain continues from here).
            last_reported = latest
    assert last_reported > 0, "the writer never got to commit"
    return inside_commit


def test_sigkill_during_commits_never_loses_or_tears_a_block(tmp_path) -> None:
    _crash_loop(tmp_path, kills=18, retention="3", seed=1)


@pytest.mark.slow
def test_sigkill_many_times_archive_and_pruned(tmp_path) -> None:
    in_commit = _crash_loop(tmp_path / "archive", kills=80, retention="archive", seed=2)
    in_commit += _crash_loop(tmp_path / "pruned", kills=80, retention="0", seed=3)
    assert in_commit >= 5, f"only {in_commit} of 160 kills landed inside commit()"


if __name__ == "__main__":
    run_writer(sys.argv[1], sys.argv[2])
