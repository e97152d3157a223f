"""The node runs MetisVM tiered: flags, hot contracts saved at shutdown and compiled at the next start,
``hyperion vm compile ADDRESS`` against the node."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from eth_utils import to_checksum_address

Account = pytest.importorskip("eth_account").Account

from tests.e2e.harness import DEV_KEYS, REPO_ROOT, NodeProcess

RUNTIME = bytes.fromhex("600a5b80805560019003806002570000")  # i = 10; do { sstore(i, i); i -= 1 } while (i)
INIT = bytes.fromhex("6010" "80" "600b" "6000" "39" "6000" "f3") + RUNTIME


def _send(node: NodeProcess, nonce: int, to, data: bytes) -> dict:
    tx = {"type": 2, "chainId": 133717, "nonce": nonce, "value": 0, "gas": 300_000, "data": data,
          "maxFeePerGas": 5 * 10**9, "maxPriorityFeePerGas": 10**9}
    if to is not None:
        tx["to"] = to_checksum_address(to)
    signed = Account.from_key(DEV_KEYS[2]).sign_transaction(tx)
    return node.rpc("eth_getTransactionReceipt", node.rpc("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex()))


def test_hot_contracts_survive_a_restart_compiled(tmp_path):
    data_dir = tmp_path / "chain"
    log = tmp_path / "node.log"
    node = NodeProcess("--data-dir", str(data_dir), "--vm-compile-threshold", "0", log_path=log).start()
    try:
        receipt = _send(node, 0, None, INIT)
        address = receipt["contractAddress"]
        assert node.rpc("eth_getCode", address, "latest") == "0x" + RUNTIME.hex()
        for nonce in (1, 2):
            assert _send(node, nonce, address, b"")["status"] == "0x1"
        shown = subprocess.run([sys.executable, "-m", "hyperion", "vm", "compile", address, "--rpc-url", node.url],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert shown.returncode == 0 and "code 16 bytes" in shown.stdout, shown.stderr
    finally:
        assert node.stop() == 0
    saved = json.loads((data_dir / "vm-hot-codes.json").read_text())
    assert "0x" + RUNTIME.hex() in saved["codes"]
    assert "vm tiers threshold=0" in log.read_text()

    again = NodeProcess("--data-dir", str(data_dir), log_path=log).start()
    try:
        assert _send(again, 3, address, b"")["status"] == "0x1"
    finally:
        assert again.stop() == 0
    text = log.read_text()
    warmed = [line for line in text.splitlines() if "vm tiers threshold=2" in line]
    assert warmed and "warmed=0" not in warmed[-1], text[-2000:]


def test_a_bad_hot_code_file_is_reported_and_the_node_starts_cold(tmp_path):
    data_dir = tmp_path / "chain"
    data_dir.mkdir()
    (data_dir / "vm-hot-codes.json").write_text("{not json")
    log = tmp_path / "node.log"
    node = NodeProcess("--data-dir", str(data_dir), "--vm-compile-threshold", "never", log_path=log).start()
    try:
        assert node.rpc("eth_blockNumber") == "0x0"
    finally:
        assert node.stop() == 0
    text = log.read_text()
    assert "vm hot codes not loaded: unreadable hot-code file" in text
    assert "vm tiers threshold=never" in text


def test_bad_vm_flags_are_usage_errors():
    for flag, value in (("--vm-compile-threshold", "-1"), ("--vm-compile-threshold", "soon"),
                        ("--vm-code-cache", "-5")):
        result = subprocess.run([sys.executable, "-m", "hyperion", "node", "--in-memory", flag, value],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2 and flag in result.stderr
