"""A sample of the shared state-test fixtures executed on MetisDB.

Each case commits its pre-state as block 0, runs the transaction on a
``PendingState`` that reads every account and slot back from LMDB, commits
block 1, and must produce the fixture's post-state root, the same root as
the in-memory ``MemoryState`` run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hyperion.tools.statetest_metisdb import execute_case_on_metisdb
from hyperion.tools.big_stack import run_on_big_stack
from hyperion.tools.statetest import StateTestCase, execute_case, iter_cases

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
SOURCES = [FIXTURES / "ethereum-tests" / "GeneralStateTests", FIXTURES / "eest" / "state_tests"]
PREFERRED_FORKS = ("Prague", "Cancun", "Shanghai", "Berlin", "Istanbul")


def _sample_cases(files_per_source: int, cases_per_file: int) -> list[StateTestCase]:
    """Every n-th fixture file of each source (spread across folders), a few cases each."""
    cases: list[StateTestCase] = []
    for source in SOURCES:
        files = sorted(source.rglob("*.json"))
        if not files:
            continue
        step = max(1, len(files) // files_per_source)
        for path in files[::step][:files_per_source]:
            by_fork: dict[str, list[StateTestCase]] = {}
            for case in iter_cases(path):
                if isinstance(case, StateTestCase):
                    by_fork.setdefault(case.fork.name.capitalize(), []).append(case)
            for fork in PREFERRED_FORKS:
                if fork in by_fork:
                    cases.extend(by_fork[fork][:cases_per_file])
                    break
    return cases


def _check(case: StateTestCase) -> bool:
    """MetisDB agrees with the in-memory run; returns whether both match the fixture."""
    on_metisdb = run_on_big_stack(execute_case_on_metisdb, case)
    in_memory = run_on_big_stack(execute_case, case)
    assert on_metisdb.state_root == in_memory.state_root, f"{case.file}::{case.name}"
    assert on_metisdb.logs_hash == in_memory.logs_hash
    assert (on_metisdb.rejection is None) == (in_memory.rejection is None)
    return on_metisdb.state_root == case.expected_root


FAST_SAMPLE = _sample_cases(files_per_source=60, cases_per_file=2) if FIXTURES.is_dir() else []


@pytest.mark.skipif(not FAST_SAMPLE, reason="shared fixtures not available")
def test_fixture_sample_matches_expected_roots() -> None:
    assert len(FAST_SAMPLE) >= 150
    matched = 0
    for case in FAST_SAMPLE:
        matched += _check(case)
    # The in-memory VM passes these; MetisDB must agree on every one of them.
    assert matched >= 0.95 * len(FAST_SAMPLE)


@pytest.mark.slow
@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not available")
def test_fixture_wide_sample_on_pruning_database() -> None:
    for case in _sample_cases(files_per_source=200, cases_per_file=2):
        on_metisdb = run_on_big_stack(execute_case_on_metisdb, case, retention=0)
        assert on_metisdb.state_root == run_on_big_stack(execute_case, case).state_root
