"""Conformance: the GeneralStateTests (ethereum/tests) and execution-spec-tests
state fixtures (2025-02 Prague fill and the v5.4 fill with Frontier .. Osaka
posts), run through ``hyperion statetest``'s runner.

One pytest item per fixture file (collection stays fast). The unmarked
``test_state_fixture_sample`` covers every fixture folder with its
``SAMPLE_FILES_PER_FOLDER`` smallest files (minus a few slow ones); ``test_state_fixture_full``
(``-m slow``) runs every file. The ``_compiled`` variants run the same way
with MetisVM's compiled tier forced on for every code (threshold 0). Cases listed in ``known_failures.txt`` are
expected failures: a file whose only failures are listed is reported as
xfail, and a listed case that now passes is reported so the list stays true.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import FIXTURES

from hyperion.tools.big_stack import run_on_big_stack
from hyperion.tools.statetest import CaseIndex, CaseResult, iter_cases, run_file
from hyperion.tools.statetest_report import format_text
from hyperion.vm.compiler.program import Program
from hyperion.vm.compiler.tiering import TIERS, UNLIMITED

STATE_TEST_ROOTS = ("ethereum-tests/GeneralStateTests", "eest/state_tests", "eest-v5.4/state_tests")
SAMPLE_FILES_PER_FOLDER = 5
COMPILED_SAMPLE_FILES_PER_FOLDER = 2  # the same sample again with every code compiled (threshold 0)
# Small files that still take tens of seconds each (measured: ~120 s, ~30 s,
# ~40 s); the quick sample picks other files of their folders instead.
TOO_SLOW_FOR_SAMPLE = frozenset({
    "ethereum-tests/GeneralStateTests/stTimeConsuming/CALLBlake2f_MaxRounds.json",
    "ethereum-tests/GeneralStateTests/stTimeConsuming/static_Call50000_sha256.json",
    "ethereum-tests/GeneralStateTests/VMTests/vmPerformance/loopExp.json",
})
KNOWN_FAILURES_FILE = Path(__file__).with_name("known_failures.txt")
MAX_FAILURES_SHOWN = 25

_CASE_INDEX = re.compile(r"\s*d=(\d+)\s*g=(\d+)\s*v=(\d+)\s*$")


def parse_known_failures(text: str) -> dict[str, str]:
    """``case id -> cause`` from the known-failures file; the d/g/v part is
    normalised so spacing variations still match the runner's case ids."""
    known = {}
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        case_id, _, cause = line.partition(" #")
        index = _CASE_INDEX.search(case_id)
        if index is None or "::" not in case_id:
            raise ValueError(f"{KNOWN_FAILURES_FILE.name}:{number}: expected "
                             f"'<file>::<name>[<fork>] d=N g=N v=N # cause', got {raw_line!r}")
        data, gas, value = index.groups()
        known[f"{case_id[:index.start()]} d={data} g={gas} v={value}"] = cause.strip()
    return known


KNOWN_FAILURES = parse_known_failures(KNOWN_FAILURES_FILE.read_text())


def all_fixture_files() -> list[Path]:
    return [
        path
        for root in STATE_TEST_ROOTS
        if (FIXTURES / root).is_dir()
        for path in sorted((FIXTURES / root).rglob("*.json"))
    ]


def sample_fixture_files(files_per_folder: int = SAMPLE_FILES_PER_FOLDER) -> list[Path]:
    """Every folder's smallest files (fewest cases, as a rule): a cheap,
    deterministic subset that still touches each area of the suites."""
    by_folder: dict[Path, list[Path]] = defaultdict(list)
    for path in all_fixture_files():
        if path.relative_to(FIXTURES).as_posix() not in TOO_SLOW_FOR_SAMPLE:
            by_folder[path.parent].append(path)
    chosen = []
    for folder in sorted(by_folder):
        smallest = sorted(by_folder[folder], key=lambda p: (p.stat().st_size, p.name))
        chosen.extend(sorted(smallest[:files_per_folder]))
    return chosen


def fixture_params(files: list[Path]) -> list:
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no state fixtures under {FIXTURES}"))]
    return [pytest.param(path, id=path.relative_to(FIXTURES).as_posix()) for path in files]


def check_fixture_file(path: Path) -> None:
    """Run one file; fail on any case that fails and is not a known failure."""
    results = run_on_big_stack(run_file, path, path.relative_to(FIXTURES).as_posix())
    failures = [r for r in results if r.failed]
    unexpected = [r for r in failures if r.case_id not in KNOWN_FAILURES]
    now_passing = [r.case_id for r in results if r.passed and r.case_id in KNOWN_FAILURES]
    if now_passing:
        message = (f"{len(now_passing)} case(s) listed in {KNOWN_FAILURES_FILE.name} now pass; "
                   "remove them:\n" + "\n".join(now_passing))
        print(message)
        warnings.warn(message)
    if unexpected:
        shown = "\n".join(format_text(r, verbose=True) for r in unexpected[:MAX_FAILURES_SHOWN])
        more = len(unexpected) - MAX_FAILURES_SHOWN
        pytest.fail(f"{len(unexpected)} of {len(results)} case(s) failed:\n{shown}"
                    + (f"\n... and {more} more" if more > 0 else ""), pytrace=False)
    if failures:
        pytest.xfail("known failures: " + "; ".join(
            f"{r.case_id} ({KNOWN_FAILURES[r.case_id]})" for r in failures[:5]))
    if not any(r.passed for r in results):
        pytest.skip("no case for a supported fork")


@pytest.mark.parametrize("path", fixture_params(sample_fixture_files()))
def test_state_fixture_sample(path: Path) -> None:
    check_fixture_file(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params(all_fixture_files()))
def test_state_fixture_full(path: Path) -> None:
    check_fixture_file(path)


@pytest.fixture
def compiled_tier():
    """Every code runs in the compiled tier (threshold 0, no compile budget), from an empty code cache."""
    saved = TIERS.threshold, TIERS.enabled, Program.tx_budget
    TIERS.threshold, TIERS.enabled, Program.tx_budget = 0, True, UNLIMITED
    TIERS.clear()
    yield
    TIERS.threshold, TIERS.enabled, Program.tx_budget = saved
    TIERS.clear()


@pytest.mark.parametrize("path", fixture_params(sample_fixture_files(COMPILED_SAMPLE_FILES_PER_FOLDER)))
def test_state_fixture_sample_compiled(path: Path, compiled_tier) -> None:
    check_fixture_file(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", fixture_params(all_fixture_files()))
def test_state_fixture_full_compiled(path: Path, compiled_tier) -> None:
    check_fixture_file(path)


def test_sample_covers_every_fixture_folder() -> None:
    folders = {path.parent for path in all_fixture_files()}
    if not folders:
        pytest.skip(f"no state fixtures under {FIXTURES}")
    assert {path.parent for path in sample_fixture_files()} == folders


def test_known_failures_name_existing_fixture_files() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"no fixtures under {FIXTURES}")
    for case_id in KNOWN_FAILURES:
        file = case_id.split("::", 1)[0]
        assert (FIXTURES / file).is_file(), f"{KNOWN_FAILURES_FILE.name}: no fixture file {file}"


def test_every_fork_of_the_v54_fill_runs_and_none_is_skipped() -> None:
    """The sample reaches posts of every fork from Frontier to Osaka, and no
    post is skipped for its fork."""
    root = FIXTURES / "eest-v5.4" / "state_tests"
    if not root.is_dir():
        pytest.skip(f"no eest-v5.4 state fixtures under {FIXTURES}")
    forks = set()
    for path in sample_fixture_files():
        if root in path.parents:
            for item in iter_cases(path):
                assert not (isinstance(item, CaseResult) and item.skipped), f"{path}: {item.reason}"
                forks.add(item.fork if isinstance(item, CaseResult) else item.fork_name)
    assert {"Frontier", "Homestead", "Byzantium", "ConstantinopleFix", "Istanbul", "Berlin", "London", "Paris",
            "Shanghai", "Cancun", "Prague", "Osaka"} <= forks


def test_lfs_pointer_files_are_reported_as_skipped(tmp_path: Path) -> None:
    pointer = tmp_path / "big.json"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123\n")
    [result] = run_file(pointer)
    assert result.skipped and not result.passed and "LFS pointer" in result.reason


def test_known_failures_parsing_normalises_spacing() -> None:
    parsed = parse_known_failures("# header\n\na.json::t[Cancun] d=1g=2 v=3 # gas refund\n")
    assert parsed == {"a.json::t[Cancun] d=1 g=2 v=3": "gas refund"}
    with pytest.raises(ValueError, match="expected"):
        parse_known_failures("a.json::t[Cancun]\n")


def _fake_results(*outcomes: tuple[str, bool]) -> list[CaseResult]:
    return [CaseResult("x.json", name, "Cancun", CaseIndex(0, 0, 0), passed=passed, error=None if passed else "bad")
            for name, passed in outcomes]


def test_known_failures_turn_a_file_into_xfail_and_fixed_ones_are_reported(monkeypatch):
    this_module = sys.modules[__name__]
    results = _fake_results(("known", False), ("fixed", True), ("fine", True))
    monkeypatch.setattr(this_module, "run_file", lambda path, file: results)
    monkeypatch.setattr(this_module, "KNOWN_FAILURES", {r.case_id: "cause" for r in results[:2]})
    with pytest.warns(UserWarning, match="now pass"), pytest.raises(pytest.xfail.Exception, match="cause"):
        check_fixture_file(FIXTURES / "x.json")


def test_unlisted_failures_fail_the_file(monkeypatch):
    this_module = sys.modules[__name__]
    results = _fake_results(("known", False), ("new", False))
    monkeypatch.setattr(this_module, "run_file", lambda path, file: results)
    monkeypatch.setattr(this_module, "KNOWN_FAILURES", {results[0].case_id: "cause"})
    with pytest.raises(pytest.fail.Exception, match=r"1 of 2 case\(s\) failed:\nFAIL  x.json::new"):
        check_fixture_file(FIXTURES / "x.json")
