"""Tests of ``hyperion bench vm``: workloads, the ERC-20 artifact, engines and output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import coincurve
import pytest

from hyperion.bench import missing_peer, vm
from hyperion.bench.engines import ENGINE_NAMES, EngineError, make_engine
from hyperion.bench.engines.base import BatchOutcome, PreparedBatch
from hyperion.bench.measure import InconsistentGas, Timing, measure, measure_interleaved
from hyperion.bench.report import EngineResult, WorkloadResult, geometric_mean
from hyperion.bench.workloads import (
    WorkloadError,
    build_amm_workload,
    build_erc20_workload,
    load_benchmark_file,
)
from hyperion.bench.workloads.amm import SOURCE_PATH as AMM_SOURCE_PATH, compile_amm_source, load_amm_artifact
from hyperion.bench.workloads.erc20 import (
    SOURCE_PATH,
    compile_erc20_source,
    load_erc20_artifact,
    source_sha256,
)
from hyperion.bench.workloads.signing import address_of_key, sign_legacy_transaction
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256

JSON_KEYS = {"workload", "gas", "cpu_seconds", "mgas_per_s", "ratio_vs_interpreter", "ratio_vs_py_evm",
             "ratio_vs_pyrevm", "compile_seconds", "compile_seconds_per_tx", "break_even_runs"}
TINY_WORKLOAD = "swap_math/spent"
TINY_WORKLOAD_GAS = 25219  # agreed by py-evm, pyrevm and MetisVM

REPO = Path(__file__).resolve().parents[2]


def require_engine(name: str) -> None:
    """Skip (not fail) without the engine; the reason names the extra and the command that installs it."""
    reason = make_engine(name).unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def benchmark_files(fixtures_dir: Path) -> list[Path]:
    root = fixtures_dir / "evm-benchmarks" / "benchmarks"
    files = sorted(root.glob("main/*.json")) + sorted(root.glob("micro/*.json"))
    assert files, f"no benchmark files under {root}"
    return files


def _run_main(capsys, argv: list[str]) -> tuple[int, str, str]:
    code = vm.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- the ERC-20 artifact -----------------------------------------------------


def test_erc20_artifact_records_current_source():
    artifact = load_erc20_artifact()
    assert artifact["source_sha256"] == source_sha256(SOURCE_PATH.read_bytes()), (
        "erc20.vy changed without rebuilding erc20.json (run scripts/build_erc20_workload.py)"
    )
    assert artifact["evm_version"] == "cancun"
    init_code = bytes.fromhex(artifact["bytecode"][2:])
    runtime = bytes.fromhex(artifact["bytecode_runtime"][2:])
    assert runtime and runtime in init_code  # the init code carries the runtime it deploys


def test_erc20_artifact_matches_vyper_compilation():
    vyper = pytest.importorskip("vyper")
    artifact = load_erc20_artifact()
    if vyper.__version__ != artifact["vyper_version"]:
        pytest.skip(f"artifact built by vyper {artifact['vyper_version']}, installed {vyper.__version__}")
    fresh = compile_erc20_source()
    assert fresh["bytecode"] == artifact["bytecode"]
    assert fresh["bytecode_runtime"] == artifact["bytecode_runtime"]
    assert fresh == artifact


def test_erc20_artifact_errors_are_typed(tmp_path):
    with pytest.raises(WorkloadError, match="missing"):
        load_erc20_artifact(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(WorkloadError, match="not valid JSON"):
        load_erc20_artifact(broken)
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps({"bytecode": "0x00"}))
    with pytest.raises(WorkloadError, match="bytecode_runtime"):
        load_erc20_artifact(incomplete)


def test_erc20_workload_is_a_deterministic_signed_batch():
    workload = build_erc20_workload(holders=4, transfer_rounds=2)
    txs = workload.transactions
    # deploy + 4 mints + 8 transfers + 4 approves + 4 transferFroms
    assert len(txs) == 21
    assert txs[0].to is None and all(tx.to is not None for tx in txs[1:])
    token = keccak256(rlp.encode([txs[0].sender, 0]))[12:]
    assert {tx.to for tx in txs[1:]} == {token}
    next_nonce: dict[bytes, int] = {}
    for tx in txs:
        assert tx.nonce == next_nonce.get(tx.sender, 0)
        next_nonce[tx.sender] = tx.nonce + 1
        assert tx.sender in workload.pre
    assert build_erc20_workload(holders=4, transfer_rounds=2) == workload
    with pytest.raises(WorkloadError):
        build_erc20_workload(holders=1)


# -- state-test benchmark loading --------------------------------------------


def test_loader_parses_every_benchmark_file(benchmark_files):
    names = set()
    for path in benchmark_files:
        document = json.loads(path.read_text())
        variants = sum(len(test["transaction"]["data"]) for test in document.values())
        workloads = load_benchmark_file(path)
        assert len(workloads) == variants, path.name
        for workload in workloads:
            assert workload.name not in names
            names.add(workload.name)
            (tx,) = workload.transactions
            assert tx.to in workload.pre and workload.pre[tx.to].code
            assert workload.pre[tx.sender].balance >= tx.gas_limit * tx.gas_price
            assert len(rlp.decode(tx.raw)) == 9
    assert TINY_WORKLOAD in names and "snailtracer/benchmark" in names


def test_loader_rejects_malformed_files(tmp_path, benchmark_files):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[1, 2")
    with pytest.raises(WorkloadError, match="not valid JSON"):
        load_benchmark_file(bad_json)

    good = json.loads(benchmark_files[0].read_text())
    name, test = next(iter(good.items()))

    def write_variant(mutate) -> Path:
        variant = json.loads(json.dumps(test))
        mutate(variant)
        path = tmp_path / "variant.json"
        path.write_text(json.dumps({name: variant}))
        return path

    with pytest.raises(WorkloadError, match="lacks 'pre'"):
        load_benchmark_file(write_variant(lambda t: t.pop("pre")))
    with pytest.raises(WorkloadError, match="not hex"):
        load_benchmark_file(write_variant(lambda t: t["transaction"]["data"].__setitem__(0, "0xzz")))
    with pytest.raises(WorkloadError, match="secretKey does not belong"):
        load_benchmark_file(write_variant(lambda t: t["transaction"].__setitem__("sender", "0x" + "11" * 20)))
    with pytest.raises(WorkloadError, match="currentNumber"):
        load_benchmark_file(write_variant(lambda t: t["env"].pop("currentNumber")))


def test_signed_transaction_recovers_its_sender():
    key = keccak256(b"bench-signing-test")
    tx = sign_legacy_transaction(
        key, nonce=3, gas_price=10, gas_limit=50_000, to=b"\x22" * 20, value=5, data=b"\x01\x02"
    )
    nonce, gas_price, gas, to, value, data, v, r, s = rlp.decode(tx.raw)
    assert (rlp.decode_int(nonce), to, data) == (3, b"\x22" * 20, b"\x01\x02")
    chain_id = 1
    recovery_id = rlp.decode_int(v) - 35 - 2 * chain_id
    signing_hash = keccak256(rlp.encode([nonce, gas_price, gas, to, value, data, chain_id, 0, 0]))
    signature = r.rjust(32, b"\0") + s.rjust(32, b"\0") + bytes([recovery_id])
    public = coincurve.PublicKey.from_signature_and_message(signature, signing_hash, hasher=None)
    assert keccak256(public.format(compressed=False)[1:])[12:] == tx.sender == address_of_key(key)


# -- measurement and reporting -----------------------------------------------


class _FakeBatch(PreparedBatch):
    def __init__(self, gas_sequence: list[int]) -> None:
        self.gas_sequence = list(gas_sequence)
        self.resets = 0

    def reset(self) -> None:
        self.resets += 1

    def execute(self) -> BatchOutcome:
        gas = self.gas_sequence.pop(0) if len(self.gas_sequence) > 1 else self.gas_sequence[0]
        return BatchOutcome(gas_used=gas)


def test_measure_warms_up_then_repeats_until_min_time():
    batch = _FakeBatch([1000])
    timing = measure(batch, min_time=0.0)
    assert timing.runs == 3 and batch.resets == 4  # warm-up + the minimum of three timed runs
    timing = measure(_FakeBatch([1000]), min_time=0.01, max_runs=50)
    assert timing.runs > 3 and timing.outcome.gas_used == 1000 and timing.median_seconds > 0
    quick = measure(_FakeBatch([1000]), quick=True)
    assert quick.runs == 1 and "quick" in quick.note
    slow = measure(_FakeBatch([1000]), slow_run_seconds=0.0)
    assert slow.runs == 1 and "not repeated" in slow.note
    with pytest.raises(InconsistentGas):
        measure(_FakeBatch([1000, 999]), min_time=0.0)


class _ClockedBatch(_FakeBatch):
    """Advances a fake CPU clock by ``cost`` per run and logs the order of runs."""

    def __init__(self, name, cost, clock, log):
        super().__init__([1000])
        self.name, self.cost, self.clock, self.log = name, cost, clock, log

    def execute(self):
        self.log.append(self.name)
        self.clock[0] += self.cost
        return super().execute()


def test_engines_take_turns_and_each_reaches_its_min_time():
    clock, log = [0.0], []
    batches = {name: _ClockedBatch(name, cost, clock, log) for name, cost in (("a", 0.01), ("b", 0.1))}
    timings = measure_interleaved(batches, min_time=0.3, clock=lambda: clock[0])
    assert log[:2] == ["a", "b"]  # the warm-ups
    rounds = log[2:]
    assert rounds[:4] in (["a", "b", "b", "a"], ["b", "a", "a", "b"])  # alternating, rotating order
    assert timings["a"].median_seconds == pytest.approx(0.01) and timings["b"].median_seconds == pytest.approx(0.1)
    assert timings["a"].runs >= 30 and timings["b"].runs >= 3
    assert timings["b"].first_seconds == pytest.approx(0.1)


def test_a_failing_engine_does_not_stop_the_others():
    class Broken(_FakeBatch):
        def execute(self):
            raise RuntimeError("boom")

    timings = measure_interleaved({"ok": _FakeBatch([5]), "broken": Broken([5])}, min_time=0.0)
    assert isinstance(timings["broken"], RuntimeError) and timings["ok"].runs == 3


def test_gas_mismatch_is_reported_and_the_engine_left_out_of_its_ratio():
    result = WorkloadResult("w", transactions=1)
    result.engines["interpreter"] = EngineResult(Timing(BatchOutcome(100), 4e-3, 3))
    result.engines["compiled"] = EngineResult(Timing(BatchOutcome(100), 1e-3, 3))
    result.engines["py-evm"] = EngineResult(Timing(BatchOutcome(100), 1e-2, 3))
    result.engines["pyrevm"] = EngineResult(Timing(BatchOutcome(90), 1e-4, 3))
    result.compile_seconds = 0.03
    result.judge_gas("journal")
    line = result.to_json()
    assert line["gas"] == 100
    assert line["gas_mismatch"] == {"interpreter": 100, "compiled": 100, "py-evm": 100, "pyrevm": 90}
    assert line["ratio_vs_py_evm"] == pytest.approx(10.0)
    assert line["ratio_vs_interpreter"] == pytest.approx(4.0)
    assert line["ratio_vs_pyrevm"] is None and "differs" in line["excluded"]["pyrevm"]
    assert line["break_even_runs"] == pytest.approx(10.0)
    assert any("gas differs" in note for note in result.notes())
    batch = WorkloadResult("b", engines=dict(result.engines), transactions=5)
    batch.judge_gas("journal")
    assert batch.excluded == {"pyrevm": "journal"}
    assert geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert geometric_mean([]) is None


# -- the command line --------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_quick_json_output_per_engine(capsys, fixtures_dir, engine):
    require_engine(engine)
    code, out, _ = _run_main(capsys, ["--quick", "--json", "--engines", engine, "--filter", TINY_WORKLOAD])
    assert code == 0
    row, summary = _json_lines(out)
    assert set(row) == JSON_KEYS
    assert row["workload"] == TINY_WORKLOAD and row["gas"] == TINY_WORKLOAD_GAS
    assert set(row["mgas_per_s"]) == set(ENGINE_NAMES)
    assert row["mgas_per_s"][engine] > 0
    assert all(value is None for name, value in row["mgas_per_s"].items() if name != engine)
    assert set(summary) == {"summary"}
    assert summary["summary"]["fork"] == "cancun" and summary["summary"]["machine"]["cpu"]


def test_available_engines_agree_on_gas(capsys, fixtures_dir):
    available = [name for name in ENGINE_NAMES if make_engine(name).unavailable_reason() is None]
    if len(available) < 2:
        pytest.skip(f"needs two engines installed: {missing_peer('py-evm or pyrevm')}")
    code, out, _ = _run_main(
        capsys, ["--quick", "--json", "--engines", ",".join(available), "--filter", TINY_WORKLOAD]
    )
    row = _json_lines(out)[0]
    assert code == 0 and "gas_mismatch" not in row
    assert all(row["mgas_per_s"][name] > 0 for name in available)
    if "compiled" in available and "py-evm" in available:
        assert row["ratio_vs_py_evm"] == pytest.approx(
            row["mgas_per_s"]["compiled"] / row["mgas_per_s"]["py-evm"], rel=1e-3
        )


@pytest.mark.parametrize("build", [lambda: build_erc20_workload(holders=3, transfer_rounds=2),
                                   lambda: build_amm_workload(traders=2, rounds=2)], ids=["erc20", "amm"])
def test_both_tiers_and_py_evm_agree_on_the_contract_batches(build):
    require_engine("py-evm")
    workload = build()
    outcomes = {}
    for name in ("interpreter", "compiled", "py-evm"):
        batch = make_engine(name).prepare(workload, "cancun")
        for _ in range(2):
            batch.reset()
            outcomes[name] = batch.execute()
    assert outcomes["interpreter"] == outcomes["compiled"] == outcomes["py-evm"]
    assert outcomes["py-evm"].reverted == 0 and outcomes["py-evm"].gas_used > 21_000 * len(workload.transactions)


def test_amm_artifact_records_current_source():
    artifact = load_amm_artifact()
    assert artifact["source_sha256"] == source_sha256(AMM_SOURCE_PATH.read_bytes()), (
        "amm.vy changed without rebuilding amm.json (run scripts/build_erc20_workload.py)"
    )
    vyper = pytest.importorskip("vyper")
    if vyper.__version__ == artifact["vyper_version"]:
        assert compile_amm_source() == artifact


def test_compiled_engine_reports_its_compile_time():
    workload = build_erc20_workload(holders=2, transfer_rounds=1)
    batch = make_engine("compiled").prepare(workload, "cancun")
    batch.reset()
    batch.execute()
    assert batch.compile_seconds > 0


def test_compiled_engine_warms_up_until_nothing_compiles(monkeypatch):
    """warm_up compiles everything the workload reaches (the first run under a tiny per-transaction
    budget here, so that several runs are needed): the timed run after it compiles nothing."""
    from hyperion.vm.compiler.program import Program

    monkeypatch.setattr(Program, "tx_budget", 8)
    workload = build_erc20_workload(holders=2, transfer_rounds=1)
    batch = make_engine("compiled").prepare(workload, "cancun")
    batch.warm_up()
    assert 0 < batch.compile_seconds_per_tx <= batch.compile_seconds
    assert Program.tx_budget == 8
    compiled_before = Program.compile_seconds_total
    batch.reset()
    batch.execute()
    assert Program.compile_seconds_total == compiled_before


def test_missing_engine_is_null_not_a_crash(capsys, fixtures_dir, monkeypatch):
    from hyperion.bench.engines.pyrevm import PyRevmEngine

    monkeypatch.setattr(PyRevmEngine, "unavailable_reason", lambda self: "pyrevm not installed")
    code, out, err = _run_main(capsys, ["--quick", "--json", "--engines", "pyrevm", "--filter", TINY_WORKLOAD])
    assert code == 0
    row, summary = _json_lines(out)
    assert row["mgas_per_s"]["pyrevm"] is None and row["gas"] is None
    assert row["ratio_vs_pyrevm"] is None
    assert summary["summary"]["geomean_ratio_vs_pyrevm"] is None
    assert "pyrevm not installed" in err


def test_table_output_has_header_rows_and_geomean(capsys, fixtures_dir):
    available = [name for name in ENGINE_NAMES if make_engine(name).unavailable_reason() is None]
    code, out, _ = _run_main(capsys, ["--quick", "--engines", ",".join(available), "--filter", "swap_math/"])
    assert code == 0
    assert "machine:" in out and "Python" in out and "fork Cancun" in out
    assert out.count("swap_math/") == 3
    assert "geometric mean" in out and "load average at start" in out and "x interp" in out


def test_usage_errors_exit_with_2(capsys, fixtures_dir):
    assert vm.main(["--engines", "geth"]) == 2
    assert vm.main(["--quick", "--filter", "no-such-workload"]) == 2
    with pytest.raises(EngineError):
        make_engine("geth")
    listed_code, out, _ = _run_main(capsys, ["--list", "--filter", "erc20"])
    assert listed_code == 0 and out.startswith("erc20/batch")


def test_failing_engine_is_reported_and_sets_exit_status(capsys, fixtures_dir, monkeypatch):
    require_engine("pyrevm")
    from hyperion.bench.engines.pyrevm import PyRevmEngine

    def broken_prepare(self, workload, fork):
        raise KeyError("engine bug")

    monkeypatch.setattr(PyRevmEngine, "prepare", broken_prepare)
    code, out, err = _run_main(capsys, ["--quick", "--json", "--engines", "pyrevm", "--filter", TINY_WORKLOAD])
    assert code == 1
    row = _json_lines(out)[0]
    assert row["mgas_per_s"]["pyrevm"] is None
    assert "pyrevm failed: KeyError" in err


def test_missing_benchmark_file_is_a_workload_error(tmp_path):
    with pytest.raises(WorkloadError, match="cannot read"):
        load_benchmark_file(tmp_path / "absent.json")


# -- a missing peer says how to install it ----------------------------------------------------


@pytest.mark.parametrize("engine, module", [("py-evm", "eth"), ("pyrevm", "pyrevm")])
def test_a_missing_peer_names_the_bench_extra_and_its_install_command(capsys, fixtures_dir, monkeypatch,
                                                                      engine, module):
    for name in [module] + [name for name in sys.modules if name.startswith(module + ".")]:
        monkeypatch.setitem(sys.modules, name, None)  # importing the peer now raises ImportError
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_engine(engine)
    code, out, err = _run_main(capsys, ["--quick", "--engines", f"interpreter,{engine}", "--filter", TINY_WORKLOAD])
    assert code == 0
    for said in (str(skipped.value), err + out):
        assert f"{engine} is not installed" in said
        assert "[bench] extra" in said and "make bench-setup" in said and "pip install -e '.[bench]'" in said


def test_make_bench_setup_installs_the_bench_extra():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(["make", "-n", "bench-setup"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    assert "pip install" in dry_run.stdout and "-e '.[bench]'" in dry_run.stdout
