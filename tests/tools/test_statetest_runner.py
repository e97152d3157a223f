"""The state-test runner's loading, checking, scheduling and reporting,
driven by small synthetic fixtures and fake executors (no EVM needed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.tools.big_stack import run_on_big_stack
from hyperion.tools.fixtures import FixtureError, parse_alloc, parse_bytes, parse_int
from hyperion.tools.statetest import (
    EMPTY_LOGS_HASH,
    CaseIndex,
    CaseResult,
    ExecutionOutcome,
    NoFixturesFound,
    StateTestCase,
    describe_state_diff,
    find_fixture_files,
    iter_cases,
    run_file,
    run_files,
)
from hyperion.tools.statetest_report import Reporter, format_json, format_text, summary_line
from hyperion.vm.forks import CANCUN, PRAGUE

ROOT_A = "0x" + "aa" * 32
ROOT_B = "0x" + "bb" * 32
SENDER = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b"
COINBASE = "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba"


def post_entry(data=0, gas=0, value=0, root=ROOT_A, txbytes="0x01", **extra) -> dict:
    entry = {
        "hash": root,
        "logs": "0x" + EMPTY_LOGS_HASH.hex(),
        "indexes": {"data": data, "gas": gas, "value": value},
        "txbytes": txbytes,
    }
    entry.update(extra)
    return entry


def state_test(post: dict, **overrides) -> dict:
    test = {
        "env": {
            "currentCoinbase": COINBASE,
            "currentDifficulty": "0x020000",
            "currentGasLimit": "0x01000000",
            "currentNumber": "0x0a",
            "currentTimestamp": "0x03e8",
            "currentBaseFee": "0x07",
            "currentRandom": "0x" + "15" * 32,
            "currentExcessBlobGas": "0x00",
        },
        "pre": {
            SENDER: {"nonce": "0x00", "balance": "0x0de0b6b3a7640000", "code": "0x", "storage": {}},
            "0x" + "cc" * 20: {"nonce": "0x01", "balance": "0x00", "code": "0x600160005500",
                               "storage": {"0x01": "0x02", "0x03": "0x00"}},
        },
        "transaction": {},
        "post": post,
    }
    test.update(overrides)
    return test


def write_fixture(folder: Path, name: str, tests: dict) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(tests))
    return path


# -- fake executors (module level so they pickle into worker processes) -------


def echo_executor(case: StateTestCase) -> ExecutionOutcome:
    """Produces exactly what the fixture expects."""
    rejection = "InvalidTransaction: fake" if case.expected_exception else None
    return ExecutionOutcome(case.expected_root, case.expected_logs, rejection)


def rejecting_executor(case: StateTestCase) -> ExecutionOutcome:
    """Rejects every transaction but produces the expected roots."""
    return ExecutionOutcome(case.expected_root, case.expected_logs, "InvalidTransaction: fake")


def wrong_root_executor(case: StateTestCase) -> ExecutionOutcome:
    return ExecutionOutcome(bytes.fromhex("bb" * 32), case.expected_logs, None)


def always_accepts_executor(case: StateTestCase) -> ExecutionOutcome:
    return ExecutionOutcome(case.expected_root, case.expected_logs, None)


def always_rejects_executor(case: StateTestCase) -> ExecutionOutcome:
    return ExecutionOutcome(case.expected_root, case.expected_logs, "InvalidTransaction: nonce too low")


def crashes_on_data_1(case: StateTestCase) -> ExecutionOutcome:
    if case.index.data == 1:
        raise KeyError("boom")
    return echo_executor(case)


# -- loading ----------------------------------------------------------------------


def test_cases_are_parsed_with_env_pre_and_expectations(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"first": state_test(
        {"Cancun": [post_entry(txbytes="0x02f8"), post_entry(data=1, expectException="TR.X")]},
        config={"chainid": "0x0539"},
    )})
    cases = list(iter_cases(path))
    assert [c.index for c in cases] == [CaseIndex(0, 0, 0), CaseIndex(1, 0, 0)]
    case = cases[0]
    assert case.name == "first" and case.fork is CANCUN and case.file == str(path)
    assert case.tx_bytes == b"\x02\xf8"
    assert case.expected_root == bytes.fromhex("aa" * 32)
    assert case.expected_exception is None and cases[1].expected_exception == "TR.X"
    env = case.env
    assert env.fork is CANCUN and env.chain_id == 1337 and env.number == 10
    assert env.coinbase == bytes.fromhex(COINBASE[2:])
    assert env.base_fee == 7 and env.gas_limit == 0x01000000 and env.timestamp == 1000
    assert env.prev_randao == bytes.fromhex("15" * 32) and env.difficulty == 0x020000
    contract = case.pre[bytes.fromhex("cc" * 20)]
    assert contract.nonce == 1 and contract.code == bytes.fromhex("600160005500")
    assert contract.storage == {1: 2}  # zero-valued slots are dropped


def test_prev_randao_falls_back_to_difficulty_and_chain_id_to_one(tmp_path):
    test = state_test({"Shanghai": [post_entry()]})
    del test["env"]["currentRandom"]
    (case,) = iter_cases(write_fixture(tmp_path, "t.json", {"t": test}))
    assert case.env.prev_randao == (0x020000).to_bytes(32, "big")
    assert case.env.chain_id == 1


def test_block_hash_is_keccak_of_decimal_number_for_the_last_256_blocks(tmp_path):
    (case,) = iter_cases(write_fixture(tmp_path, "t.json", {"t": state_test({"Cancun": [post_entry()]})}))
    block_hash = case.env.block_hash  # current block is 10
    assert block_hash(9) == keccak256(b"9")
    assert block_hash(0) == keccak256(b"0")
    assert block_hash(10) is None and block_hash(11) is None


def test_unsupported_forks_are_skipped_with_a_reason(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test(
        {"Amsterdam": [post_entry(), post_entry(data=1)], "Prague": [post_entry()]})})
    results = run_file(path, executor=echo_executor)
    skipped = [r for r in results if r.skipped]
    assert len(skipped) == 2 and all(r.reason == "fork Amsterdam not supported" for r in skipped)
    assert [r.fork for r in results if r.passed] == ["Prague"]


def test_fork_filter_runs_only_that_fork_and_does_not_count_others(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test(
        {"Amsterdam": [post_entry()], "Cancun": [post_entry()], "Prague": [post_entry(), post_entry(data=1)]})})
    results = run_file(path, fork=PRAGUE, executor=echo_executor)
    assert [(r.fork, r.passed) for r in results] == [("Prague", True), ("Prague", True)]


def test_name_filter_matches_file_and_test_name(tmp_path):
    post = {"Cancun": [post_entry()]}
    path = write_fixture(tmp_path, "sub/t.json", {"alpha": state_test(post), "beta": state_test(post)})
    assert [r.name for r in run_file(path, name_filter="::beta", executor=echo_executor)] == ["beta"]
    assert len(run_file(path, name_filter="sub/t.json", executor=echo_executor)) == 2
    assert run_file(path, name_filter="gamma", executor=echo_executor) == []


def test_transactions_are_built_from_the_fixture_when_txbytes_is_absent(tmp_path):
    """Fixtures filled before 2021 give ``transaction`` + ``secretKey`` instead of txbytes;
    they have no expectException either, so only the roots decide."""
    from hyperion.primitives.secp256k1 import private_key_to_address
    from hyperion.primitives.transactions import decode_transaction

    key = "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8"
    transaction = {"data": ["0x", "0x01"], "gasLimit": ["0x0f4240"], "gasPrice": "0x0a", "nonce": "0x00",
                   "secretKey": key, "to": "0x" + "cc" * 20, "value": ["0x00", "0x01"]}
    entry = post_entry(data=1, value=1)
    del entry["txbytes"]
    path = write_fixture(tmp_path, "t.json", {"t": state_test({"Byzantium": [entry]}, transaction=transaction)})
    (case,) = iter_cases(path)
    tx = decode_transaction(case.tx_bytes)
    assert (tx.type, tx.data, tx.value, tx.gas, tx.gas_price, tx.chain_id) == (0, b"\x01", 1, 10**6, 10, None)
    assert tx.sender == private_key_to_address(bytes.fromhex(key[2:]))
    assert not case.checks_rejection
    (result,) = run_file(path, executor=rejecting_executor)  # rejected, roots equal: a pass
    assert result.passed


def test_bad_json_is_one_failed_case(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    (result,) = run_file(path, executor=echo_executor)
    assert result.failed and result.name is None
    assert "invalid JSON" in result.error


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.pop("pre"), "missing key 'pre'"),
        (lambda t: t["env"].pop("currentNumber"), "missing key 'currentNumber'"),
        (lambda t: t["env"].update(currentGasLimit="0xZZ"), "env.currentGasLimit"),
        (lambda t: t["post"]["Cancun"][0].update(txbytes="0x123"), "txbytes: bad hex"),
        (lambda t: t["post"]["Cancun"][0].update(hash="0x1234"), "hash: expected 32 bytes"),
        (lambda t: t["post"]["Cancun"][0].pop("txbytes"), "missing key 'secretKey'"),
        (lambda t: t["pre"].update({"0x1234": {}}), "expected 20 bytes"),
    ],
)
def test_malformed_tests_fail_with_a_clear_message_and_the_file_goes_on(tmp_path, mutate, message):
    broken = state_test({"Cancun": [post_entry()]})
    mutate(broken)
    path = write_fixture(tmp_path, "t.json", {"broken": broken, "fine": state_test({"Cancun": [post_entry()]})})
    broken_result, fine_result = run_file(path, executor=echo_executor)
    assert broken_result.failed and broken_result.name == "broken"
    assert message in broken_result.error
    assert fine_result.passed and fine_result.name == "fine"


def test_missing_post_and_bad_indexes_are_failures(tmp_path):
    no_post = state_test({})
    del no_post["post"]
    bad_index = state_test({"Cancun": [{"hash": ROOT_A, "indexes": {"data": "x", "gas": 0, "value": 0}}]})
    path = write_fixture(tmp_path, "t.json", {"no_post": no_post, "bad_index": bad_index, "list": [1]})
    results = run_file(path, executor=echo_executor)
    assert [r.name for r in results] == ["no_post", "bad_index", "list"]
    assert all(r.failed for r in results)
    assert "missing key 'post'" in results[0].error
    assert "indexes.data" in results[1].error


# -- checking ---------------------------------------------------------------------


def test_matching_root_and_logs_pass(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test({"Cancun": [post_entry()]})})
    (result,) = run_file(path, executor=echo_executor)
    assert result.passed and not result.failed and result.error is None
    assert result.actual_root == result.expected_root == ROOT_A


def test_root_mismatch_fails_and_reports_both_roots(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test({"Cancun": [post_entry()]})})
    (result,) = run_file(path, executor=wrong_root_executor)
    assert result.failed
    assert result.expected_root == ROOT_A and result.actual_root == ROOT_B
    assert result.error == "state root mismatch"


def test_expected_exception_must_be_raised(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test(
        {"Cancun": [post_entry(expectException="TransactionException.INTRINSIC_GAS_TOO_LOW")]})})
    (accepted,) = run_file(path, executor=always_accepts_executor)
    assert accepted.failed and "expects it to be rejected" in accepted.error
    (rejected,) = run_file(path, executor=always_rejects_executor)
    assert rejected.passed
    assert rejected.expected_exception == "TransactionException.INTRINSIC_GAS_TOO_LOW"


def test_unexpected_rejection_fails(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test({"Cancun": [post_entry()]})})
    (result,) = run_file(path, executor=always_rejects_executor)
    assert result.failed and "expects it to be valid" in result.error
    assert result.actual_exception == "InvalidTransaction: nonce too low"


def test_executor_crash_fails_that_case_only(tmp_path):
    path = write_fixture(tmp_path, "t.json", {"t": state_test(
        {"Cancun": [post_entry(data=0), post_entry(data=1), post_entry(data=2)]})})
    results = run_file(path, executor=crashes_on_data_1)
    assert [r.passed for r in results] == [True, False, True]
    assert results[1].error == "KeyError: 'boom'"
    assert "Traceback" in results[1].traceback


class FakeState:
    def __init__(self, accounts: dict):
        self.accounts = accounts

    def account_exists(self, address):
        return address in self.accounts

    def get_nonce(self, address):
        return self.accounts[address].nonce

    def get_balance(self, address):
        return self.accounts[address].balance

    def get_code(self, address):
        return self.accounts[address].code

    def get_storage(self, address, slot):
        return self.accounts[address].storage.get(slot, 0)


def test_state_diff_names_the_differing_fields():
    expected = parse_alloc({
        "0x" + "11" * 20: {"nonce": "0x01", "balance": "0x05", "code": "0x00", "storage": {"0x01": "0x02"}},
        "0x" + "22" * 20: {"nonce": "0x00", "balance": "0x00", "code": "0x", "storage": {}},
    }, "state")
    actual = parse_alloc({
        "0x" + "11" * 20: {"nonce": "0x01", "balance": "0x06", "code": "0x00", "storage": {"0x01": "0x03"}},
    }, "state")
    lines = describe_state_diff(FakeState(actual), expected)
    assert lines == [
        "0x" + "11" * 20 + ": balance 6 != expected 5",
        "0x" + "11" * 20 + ": storage[0x1] = 0x3, expected 0x2",
        "0x" + "22" * 20 + ": account missing",
    ]


# -- parsing helpers --------------------------------------------------------------


def test_hex_helpers_raise_fixture_errors():
    assert parse_int("0x", "x") == 0 and parse_int("0x10", "x") == 16 and parse_int("12", "x") == 12
    assert parse_bytes("0x", "x") == b""
    for bad in ("0xg", "-1", None, True, [1]):
        with pytest.raises(FixtureError):
            parse_int(bad, "x")
    with pytest.raises(FixtureError):
        parse_bytes(12, "x")
    assert issubclass(FixtureError, ValueError)


# -- finding and scheduling -------------------------------------------------------


def test_find_fixture_files_recurses_and_sorts(tmp_path):
    write_fixture(tmp_path, "b/z.json", {})
    write_fixture(tmp_path, "a/deeper/y.json", {})
    (tmp_path / "notes.txt").write_text("ignored")
    single = write_fixture(tmp_path, "single.json", {})
    found = find_fixture_files([tmp_path / "a", tmp_path / "b", single])
    assert found == [tmp_path / "a/deeper/y.json", tmp_path / "b/z.json", single]


def test_find_fixture_files_rejects_missing_and_empty_paths(tmp_path):
    with pytest.raises(NoFixturesFound, match="no such file"):
        find_fixture_files([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoFixturesFound, match="no \\*.json"):
        find_fixture_files([tmp_path / "empty"])


def test_worker_processes_give_the_same_results_in_order(tmp_path):
    files = [
        write_fixture(tmp_path, f"f{i}.json", {f"t{i}": state_test(
            {"Cancun": [post_entry(data=0), post_entry(data=1)], "Amsterdam": [post_entry()]})})
        for i in range(3)
    ]
    serial = list(run_files(files, executor=crashes_on_data_1))
    parallel = list(run_files(files, jobs=2, executor=crashes_on_data_1))
    strip = lambda batches: [[(r.case_id, r.passed, r.skipped, r.error) for r in batch] for batch in batches]
    assert strip(parallel) == strip(serial)
    assert [r.name for r in serial[2]] == ["t2"] * 3


def test_big_stack_allows_deep_python_recursion():
    def depth(n: int) -> int:
        return 0 if n == 0 else 1 + depth(n - 1)

    assert run_on_big_stack(depth, 50_000) == 50_000
    assert sys.getrecursionlimit() >= 50_000


def test_big_stack_reraises_in_the_caller():
    def fail():
        raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        run_on_big_stack(fail)


# -- reporting --------------------------------------------------------------------


def failed_result() -> CaseResult:
    return CaseResult("f.json", "t", "Cancun", CaseIndex(1, 2, 3), passed=False,
                      expected_root=ROOT_A, actual_root=ROOT_B,
                      expected_logs=ROOT_A, actual_logs=ROOT_A,
                      error="state root mismatch", traceback="Traceback (most recent call last):\n  x")


def test_text_lines():
    passed = CaseResult("f.json", "t", "Cancun", CaseIndex(0, 0, 0), passed=True)
    assert format_text(passed) == "PASS  f.json::t [Cancun] d=0 g=0 v=0"
    skipped = CaseResult("f.json", "t", "Amsterdam", CaseIndex(0, 1, 0), passed=False, skipped=True,
                         reason="fork Amsterdam not supported")
    assert format_text(skipped) == "SKIP  f.json::t [Amsterdam] d=0 g=1 v=0  (fork Amsterdam not supported)"
    lines = format_text(failed_result()).splitlines()
    assert lines[0] == "FAIL  f.json::t [Cancun] d=1 g=2 v=3"
    assert lines[1:] == ["      error: state root mismatch", f"      root: expected {ROOT_A}, got {ROOT_B}"]
    assert any("Traceback" in line for line in format_text(failed_result(), verbose=True).splitlines())
    unreadable = CaseResult("f.json", None, None, None, passed=False, error="invalid JSON")
    assert format_text(unreadable).splitlines() == ["FAIL  f.json", "      error: invalid JSON"]


def test_json_records():
    record = json.loads(format_json(failed_result()))
    assert record["name"] == "t" and record["file"] == "f.json" and record["fork"] == "Cancun"
    assert record["index"] == {"data": 1, "gas": 2, "value": 3}
    assert record["pass"] is False
    assert (record["expected_root"], record["actual_root"]) == (ROOT_A, ROOT_B)
    assert record["expected_logs"] == record["actual_logs"] == ROOT_A
    assert record["error"] == "state root mismatch"
    assert "skipped" not in record and "traceback" not in record
    skipped = CaseResult("f.json", "t", "Amsterdam", CaseIndex(0, 0, 0), passed=False, skipped=True, reason="r")
    record = json.loads(format_json(skipped))
    assert record["skipped"] is True and record["reason"] == "r"


def test_summary_line():
    assert summary_line(3, 0, 0) == "3 passed, 0 failed"
    assert summary_line(3, 1, 2) == "3 passed, 1 failed, 2 skipped"


def test_reporter_counts_and_routes_the_tally(capsys):
    passed = CaseResult("f.json", "t", "Cancun", CaseIndex(0, 0, 0), passed=True)
    skipped = CaseResult("f.json", "t", "Amsterdam", CaseIndex(0, 0, 0), passed=False, skipped=True, reason="r")
    reporter = Reporter(sys.stdout, sys.stderr, as_json=True, total_files=1)
    reporter.report_file([passed, skipped, failed_result()])
    reporter.finish()
    out, err = capsys.readouterr()
    assert [json.loads(line)["pass"] for line in out.splitlines()] == [True, False, False]
    assert err == "1 passed, 1 failed, 1 skipped\n"  # not a TTY: no progress line
