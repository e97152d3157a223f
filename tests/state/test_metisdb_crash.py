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
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
POOL = [(index * 7919 + 1).to_bytes(20, "big") for index in range(300)]
SLOTS = range(8)
KILL_PATIENCE = 120  # seconds a writer gets to reach its kill point (a few commits: milliseconds when quiet)


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
        # A pause between blocks: a kill may land there too, not only inside commits.
        time.sleep(0.001)


def _kill_during_a_commit(writer: subprocess.Popen, blocks: int, delay: float) -> bytes:
    """Let the writer commit ``blocks`` blocks, then SIGKILL it ``delay`` seconds after it starts the next.

    Counted in the writer's own reports, not in time, so that every life makes
    progress however slowly a loaded machine runs it (a kill at a random time
    could land before the first commit of every life). A short ``delay`` lands
    the kill inside the commit or just after it. Returns what was read.
    """
    read: list[bytes] = []
    target = None  # the block at whose commit the kill comes
    watchdog = threading.Timer(KILL_PATIENCE, writer.kill)  # a writer that stopped committing: fail, don't hang
    watchdog.start()
    try:
        for line in iter(writer.stdout.readline, b""):
            read.append(line)
            if line.startswith(b"commit "):
                number = int(line.split()[1])
                target = number + blocks if target is None else target
                if number == target:
                    time.sleep(delay)
                    break
    finally:
        watchdog.cancel()
    assert read[:1] == [b"ready\n"], b"".join(read) + writer.stderr.read()[-2000:]
    assert target is not None and read[-1] == b"commit %d\n" % target, (
        f"the writer did not reach block {target} of this life in {KILL_PATIENCE} s: {read[-3:]}")
    writer.send_signal(signal.SIGKILL)
    return b"".join(read)


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
        read = _kill_during_a_commit(writer, rng.randrange(30), rng.uniform(0.0, 0.01))
        out, err = writer.communicate(timeout=30)
        assert writer.returncode == -signal.SIGKILL, err.decode()[-2000:]
        lines = (read + out).decode().split("\n")
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
