"""The ``hyperion`` command line: exit codes, output format, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from hyperion import __version__, cli
from hyperion.cli import bench as bench_cli
from hyperion.tools import statetest
from hyperion.tools.statetest import ExecutionOutcome, StateTestCase

REPO_ROOT = Path(__file__).resolve().parents[2]
ROOT = "0x" + "aa" * 32
LOGS = "0x" + statetest.EMPTY_LOGS_HASH.hex()


def write_fixture(path: Path, post: dict) -> Path:
    path.write_text(json.dumps({"example": {
        "env": {"currentCoinbase": "0x" + "00" * 20, "currentDifficulty": "0x0", "currentGasLimit": "0x1",
                "currentNumber": "0x1", "currentTimestamp": "0x1", "currentBaseFee": "0x1"},
        "pre": {},
        "transaction": {},
        "post": post,
    }}))
    return path


def entry(data: int = 0, root: str = ROOT) -> dict:
    return {"hash": root, "logs": LOGS, "txbytes": "0x00", "indexes": {"data": data, "gas": 0, "value": 0}}


@pytest.fixture
def fake_evm(monkeypatch):
    """Replace the real executor: the case passes iff its expected root is ROOT."""

    def execute(case: StateTestCase) -> ExecutionOutcome:
        return ExecutionOutcome(bytes.fromhex("aa" * 32), case.expected_logs, None)

    monkeypatch.setattr(statetest, "execute_case", execute)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"hyperion {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "statetest" in capsys.readouterr().out


def test_list_forks(capsys):
    from hyperion.vm.forks import FORKS

    assert cli.main(["statetest", "--list-forks"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(FORKS)
    assert "Petersburg\t(also: ConstantinopleFix)" in lines and "Osaka\t(also: Fusaka)" in lines


@pytest.mark.parametrize(
    "argv, message",
    [
        (["statetest"], "at least one PATH"),
        (["statetest", "--fork", "Amsterdam", "."], "unknown or unsupported fork 'Amsterdam'"),
        (["statetest", "--jobs", "zero", "."], "expected a positive integer"),
        (["statetest", "--jobs", "0", "."], "expected a positive integer"),
        (["statetest", "/definitely/not/here"], "no such file or folder"),
        (["statetest", "--parallel", "2", "--jobs", "2", "."], "--parallel N needs --jobs 1"),
        (["blocktest", "--parallel", "2", "--jobs", "2", "."], "--parallel N needs --jobs 1"),
        (["bench"], "required: TARGET"),
        (["fuzz"], "required: TARGET"),
        (["node", "--port", "70000"], "port must be 0..65535"),
        (["devnet", "--l1-port", "-1"], "port must be 0..65535"),
        (["devnet", "--l2-block-time", "0"], "expected a positive integer"),
        (["node", "--block-time", "0"], "expected a positive number of seconds"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_exits_2_with_a_message(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_passing_run_exits_0_with_the_exact_closing_line(tmp_path, capsys, fake_evm):
    fixture = write_fixture(tmp_path / "t.json", {"Cancun": [entry(0), entry(1)], "Amsterdam": [entry()]})
    assert cli.main(["statetest", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"PASS  {fixture}::example [Cancun] d=0 g=0 v=0",
        f"PASS  {fixture}::example [Cancun] d=1 g=0 v=0",
        f"SKIP  {fixture}::example [Amsterdam] d=0 g=0 v=0  (fork Amsterdam not supported)",
        "2 passed, 0 failed, 1 skipped",
    ]


def test_failures_exit_1_and_show_expected_and_actual(tmp_path, capsys, fake_evm):
    write_fixture(tmp_path / "t.json", {"Prague": [entry(0), entry(1, root="0x" + "bb" * 32)]})
    assert cli.main(["statetest", "--fork", "prague", str(tmp_path / "t.json")]) == 1
    out = capsys.readouterr().out
    assert f"root: expected 0x{'bb' * 32}, got {ROOT}" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"


def test_json_output_is_one_object_per_line(tmp_path, capsys, fake_evm):
    write_fixture(tmp_path / "t.json", {"Cancun": [entry(0)], "Amsterdam": [entry()]})
    (tmp_path / "bad.json").write_text("[")
    assert cli.main(["statetest", "--json", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [(r["pass"], r.get("skipped", False)) for r in records] == [(False, False), (True, False), (False, True)]
    assert "invalid JSON" in records[0]["error"]
    assert set(records[1]) >= {"name", "file", "fork", "index", "pass", "expected_root", "actual_root",
                               "expected_logs", "actual_logs", "error"}
    assert captured.err.splitlines()[-1] == "1 passed, 1 failed, 1 skipped"


def test_filter_selects_tests(tmp_path, capsys, fake_evm):
    write_fixture(tmp_path / "t.json", {"Cancun": [entry(0)]})
    assert cli.main(["statetest", "--filter", "nomatch", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "0 passed, 0 failed\n"


def test_bench_vm_is_dispatched_with_its_arguments(monkeypatch):
    seen = []
    module = types.ModuleType("fake_bench_vm")
    module.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "fake_bench_vm", module)
    monkeypatch.setitem(bench_cli.BENCH_TARGETS, "vm", ("fake_bench_vm", "test"))
    assert cli.main(["bench", "vm", "--help", "-n", "3"]) == 0
    assert seen == [["--help", "-n", "3"]]


def test_fuzz_reports_a_missing_module_as_bench_does(monkeypatch, capsys):
    from hyperion.cli import fuzz as fuzz_cli

    monkeypatch.setitem(fuzz_cli.FUZZ_TARGETS, "vm", ("hyperion.fuzz.no_such_module", "test"))
    assert cli.main(["fuzz", "vm"]) == 2
    assert "hyperion.fuzz.no_such_module is not part of this installation" in capsys.readouterr().err


def test_bench_reports_a_missing_module(monkeypatch, capsys):
    monkeypatch.setitem(bench_cli.BENCH_TARGETS, "vm", ("hyperion.bench.no_such_module", "test"))
    assert cli.main(["bench", "vm"]) == 2
    assert "hyperion.bench.no_such_module is not part of this installation" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    completed = subprocess.run([sys.executable, "-m", "hyperion", "statetest", "--fork", "Nope", "x"],
                               cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.returncode == 2
    assert "unknown or unsupported fork" in completed.stderr and "Traceback" not in completed.stderr


def test_bench_names_a_missing_dependency_of_the_harness(monkeypatch, tmp_path, capsys):
    (tmp_path / "harness_needing_a_dependency.py").write_text("import hyperion_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(bench_cli.BENCH_TARGETS, "vm", ("harness_needing_a_dependency", "test"))
    assert cli.main(["bench", "vm"]) == 2
    err = capsys.readouterr().err
    assert "needs 'hyperion_no_such_dependency', which is not installed" in err and "Traceback" not in err
