"""``hyperion blocktest``: fixture samples of every blockchain_tests folder, bad fixtures, output and exit codes.

The default run takes two files of every folder of ``eest-v5.4/blockchain_tests``
and ``ethereum-tests/BlockchainTests`` (the smallest and a mid-sized one);
``make blocktests`` (the ``slow`` test below) runs them all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hyperion import cli
from hyperion.tools import blocktest
from hyperion.tools.blocktest import is_lfs_pointer, run_file

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"
SUITES = [FIXTURES / "eest-v5.4" / "blockchain_tests", FIXTURES / "ethereum-tests" / "BlockchainTests"]
SAMPLE_MAX_BYTES = 1_500_000


def _folders() -> list[Path]:
    found = set()
    for suite in SUITES:
        if suite.is_dir():
            found.update(path.parent for path in suite.rglob("*.json"))
    return sorted(found)


def _sample(folder: Path) -> list[Path]:
    files = sorted((p for p in folder.glob("*.json") if not is_lfs_pointer(p)), key=lambda p: (p.stat().st_size, p))
    if not files:
        return sorted(folder.glob("*.json"))[:1]  # LFS pointers only: still run one, it must report a skip
    small = [p for p in files if p.stat().st_size <= SAMPLE_MAX_BYTES] or files[:1]
    return sorted({small[0], small[len(small) // 2]})


FOLDERS = _folders()


@pytest.mark.skipif(not FOLDERS, reason="shared blockchain fixtures not found")
@pytest.mark.parametrize("folder", FOLDERS, ids=[str(f.relative_to(FIXTURES)) for f in FOLDERS])
def test_fixture_sample(folder):
    for path in _sample(folder):
        results = run_file(path)
        assert results, path
        failures = [f"{r.case_id}: {r.error}" for r in results if r.failed]
        assert not failures, "\n".join(failures[:5])
        for result in results:  # every fork is implemented: only content that is absent may be skipped
            assert not result.skipped or result.reason == "LFS pointer, content not present", result.reason


@pytest.mark.slow
@pytest.mark.skipif(not FOLDERS, reason="shared blockchain fixtures not found")
def test_every_blockchain_fixture():
    """The full run (``make blocktests`` runs the same through the CLI, on two processes)."""
    failures = []
    for folder in FOLDERS:
        for path in sorted(folder.glob("*.json")):
            failures += [f"{r.case_id}: {r.error}" for r in run_file(path) if r.failed]
    assert not failures, f"{len(failures)} failed:\n" + "\n".join(failures[:20])


# -- bad fixtures ------------------------------------------------------------------------------------------


def _small_fixture() -> tuple[Path, dict]:
    path = FIXTURES / "ethereum-tests" / "BlockchainTests" / "ValidBlocks" / "bcValidBlockTest" / "SimpleTx.json"
    if not path.is_file():
        pytest.skip("shared fixtures not found")
    return path, json.loads(path.read_text())


def test_a_wrong_post_state_fails_with_the_difference(tmp_path):
    _path, fixture = _small_fixture()
    name, test = next(iter(fixture.items()))
    address = next(iter(test["postState"]))
    test["postState"][address]["balance"] = hex(int(test["postState"][address]["balance"], 16) + 1)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: test}))
    [result] = run_file(bad)
    assert result.failed and "post-state mismatch" in result.error
    assert any("balance" in line for line in result.state_diff)


def test_an_accepted_block_that_should_fail_and_a_wrong_head(tmp_path):
    _path, fixture = _small_fixture()
    name, test = next(iter(fixture.items()))
    test["blocks"][0]["expectException"] = "BlockException.INVALID_STATE_ROOT"
    test["lastblockhash"] = "0x" + "00" * 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: test}))
    [result] = run_file(bad)
    assert result.failed
    assert "accepted but the fixture expects BlockException.INVALID_STATE_ROOT" in result.error
    assert "lastblockhash" in result.error


def test_a_valid_block_that_is_rejected_fails(tmp_path):
    _path, fixture = _small_fixture()
    name, test = next(iter(fixture.items()))
    rlp_hex = test["blocks"][0]["rlp"]
    test["blocks"][0]["rlp"] = rlp_hex[:-2] + ("00" if rlp_hex[-2:] != "00" else "01")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: test}))
    [result] = run_file(bad)
    assert result.failed and "rejected but the fixture expects it to be valid" in result.error


@pytest.mark.parametrize("content, message", [
    ("{not json", "invalid JSON"),
    ('["a list"]', "top level is not an object"),
    ('{"t": {"network": "Cancun"}}', "malformed fixture: missing key"),
    ('{"t": {"network": "Cancun", "blocks": [], "pre": {}, "genesisRLP": "0xzz", "lastblockhash": "0x00",'
     ' "genesisBlockHeader": {"hash": "0x00"}, "postStateHash": "0x00"}}', "malformed fixture"),
])
def test_malformed_fixtures_are_failed_cases(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    [result] = run_file(bad)
    assert result.failed and message in result.error


def test_unknown_network_is_a_skip_never_a_pass(tmp_path):
    _path, fixture = _small_fixture()
    name, test = next(iter(fixture.items()))
    test["network"] = "Futureland"
    path = tmp_path / "future.json"
    path.write_text(json.dumps({name: test}))
    [result] = run_file(path)
    assert result.skipped and not result.passed and "Futureland" in result.reason


def test_lfs_pointer_is_skipped(tmp_path):
    pointer = tmp_path / "big.json"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 123\n")
    [result] = run_file(pointer)
    assert result.skipped and not result.passed and result.reason == "LFS pointer, content not present"


# -- the command -------------------------------------------------------------------------------------------


def test_cli_text_json_and_exit_status(tmp_path, capsys):
    path, fixture = _small_fixture()
    assert cli.main(["blocktest", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS  ") and out[-1] == "1 passed, 0 failed"

    name, test = next(iter(fixture.items()))
    test["lastblockhash"] = "0x" + "11" * 32
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({name: test, "second": test}))
    pointer = tmp_path / "lfs.json"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\n")
    assert cli.main(["blocktest", "--json", str(bad), str(pointer)]) == 1
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["pass"] for r in records] == [False, False, False]
    assert records[2]["skipped"] and "lastblockhash" in records[0]["error"]
    assert captured.err.strip().endswith("0 passed, 2 failed, 1 skipped")


def test_cli_filter_and_fork_selection(capsys):
    path = FIXTURES / "eest-v5.4" / "blockchain_tests" / "cancun" / "eip4844_blobs" / "test_precompile_before_fork.json"
    if not path.is_file():
        pytest.skip("shared fixtures not found")
    assert cli.main(["blocktest", "--fork", "Cancun", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("1 passed, 0 failed")  # a ShanghaiToCancun transition
    assert cli.main(["blocktest", "--fork", "Prague", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "0 passed, 0 failed"


def test_cli_bad_usage_is_one_line_not_a_traceback(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hyperion", "blocktest", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120)

    missing = run(str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    fork = run("--fork", "Narnia", str(tmp_path))
    assert fork.returncode == 2 and "unknown fork" in fork.stderr


def test_jobs_spread_files_over_processes(tmp_path):
    path, _fixture = _small_fixture()
    copies = []
    for i in range(3):
        copy = tmp_path / f"copy{i}.json"
        copy.write_text(path.read_text())
        copies.append(copy)
    results = [r for batch in blocktest.run_files(copies, jobs=2) for r in batch]
    assert [r.passed for r in results] == [True, True, True]


def test_older_ethereum_tests_format(tmp_path):
    """Older fills: no genesisRLP (the genesis header's fields only), expectExceptionALL / expectException<Net>,
    and invalid blocks given as bare RLP without a blockHeader."""
    _path, fixture = _small_fixture()
    name, test = next(iter(fixture.items()))
    del test["genesisRLP"]
    bad_rlp = test["blocks"][0]["rlp"][:-2] + ("00" if test["blocks"][0]["rlp"][-2:] != "00" else "01")
    test["blocks"] = [{"rlp": bad_rlp}, {"rlp": bad_rlp, "expectExceptionALL": "InvalidStateRoot"},
                      {"rlp": bad_rlp, f"expectException{test['network']}": "InvalidStateRoot"}] + test["blocks"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps({name: test}))
    [result] = run_file(path)
    assert result.passed, result.error
    test["genesisBlockHeader"]["extraData"] = "0x01"
    path.write_text(json.dumps({name: test}))
    [result] = run_file(path)
    assert result.failed and "genesis hash" in result.error
