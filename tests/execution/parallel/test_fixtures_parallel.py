"""Fixtures through the parallel executor: ``hyperion blocktest --parallel 2`` and ``hyperion statetest
--parallel 2`` (real processes) give the fixtures' roots, i.e. the sequential results.

The default tests run a sample (CI); the ``slow`` ones every fixture (``make parallel-fixtures``: the
same runs as ``make blocktests statetests`` with ``--parallel 2`` instead of ``--jobs``).
A fixture file that is a Git-LFS pointer is reported skipped by the runners, never passed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

BLOCKTEST_SAMPLE = (
    "ethereum-tests/BlockchainTests/ValidBlocks/bcStateTests/testOpcode_f0.json",
    "ethereum-tests/BlockchainTests/ValidBlocks/bcExample",
    "ethereum-tests/BlockchainTests/ValidBlocks/bcEIP1559/intrinsic.json",
    "eest-v5.4/blockchain_tests/prague/eip7702_set_code_tx/test_eoa_tx_after_set_code.json",
    "eest-v5.4/blockchain_tests/prague/eip7702_set_code_tx/test_tx_into_self_delegating_set_code.json",
    "eest-v5.4/blockchain_tests/cancun/eip4844_blobs/test_blob_type_tx_pre_fork.json",
)
STATETEST_SAMPLE = (
    "ethereum-tests/GeneralStateTests/Cancun/stEIP1153-transientStorage",
    "ethereum-tests/GeneralStateTests/stSStoreTest/sstore_0to0.json",
    "ethereum-tests/GeneralStateTests/stRefundTest",
)


def _run(fixtures_dir: Path, command: str, paths, timeout: int) -> subprocess.CompletedProcess:
    existing = [str(fixtures_dir / path) for path in paths if (fixtures_dir / path).exists()]
    if not existing:
        pytest.skip("none of the sample fixtures is present")
    return subprocess.run([sys.executable, "-m", "hyperion", command, "--parallel", "2", *existing],
                          capture_output=True, text=True, cwd=REPO, timeout=timeout)


def _tally(done: subprocess.CompletedProcess) -> tuple[int, int]:
    match = re.search(r"(\d+) passed, (\d+) failed", done.stdout + done.stderr)
    assert match, (done.stdout + done.stderr)[-2000:]
    return int(match.group(1)), int(match.group(2))


def test_blocktest_sample_with_two_workers(fixtures_dir):
    done = _run(fixtures_dir, "blocktest", BLOCKTEST_SAMPLE, timeout=900)
    passed, failed = _tally(done)
    assert failed == 0 and passed > 0, done.stdout[-3000:]
    executed = re.search(r"executor: (\d+) parallel\b", done.stderr)
    assert executed is not None, done.stderr[-500:]
    assert int(executed.group(1)) > 0  # the parallel path really ran


def test_statetest_sample_with_two_workers(fixtures_dir):
    done = _run(fixtures_dir, "statetest", STATETEST_SAMPLE, timeout=900)
    passed, failed = _tally(done)
    assert failed == 0 and passed > 0, done.stdout[-3000:]


@pytest.mark.slow
def test_every_blockchain_fixture_with_two_workers(fixtures_dir):
    done = _run(fixtures_dir, "blocktest", ("eest-v5.4/blockchain_tests", "ethereum-tests/BlockchainTests"),
                timeout=6 * 3600)
    passed, failed = _tally(done)
    assert failed == 0 and passed > 4000, done.stdout[-3000:]


@pytest.mark.slow
def test_every_state_fixture_with_two_workers(fixtures_dir):
    done = _run(fixtures_dir, "statetest", ("eest-v5.4/state_tests", "eest/state_tests",
                                            "ethereum-tests/GeneralStateTests"), timeout=12 * 3600)
    passed, failed = _tally(done)
    assert failed == 0 and passed > 0, done.stdout[-3000:]
