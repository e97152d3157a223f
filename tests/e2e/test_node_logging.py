"""``hyperion node`` prints one line per transaction and per block, as anvil does; ``--silent`` prints none."""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness import NodeProcess

pytestmark = pytest.mark.e2e
DEV0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _wait_receipt(node: NodeProcess, tx_hash: str) -> dict:
    receipt = node.rpc("eth_getTransactionReceipt", tx_hash)
    assert receipt is not None
    return receipt


def _activity(log_path) -> list[str]:
    return [line.split("logger=hyperion.chain ", 1)[1] for line in log_path.read_text().splitlines()
            if "logger=hyperion.chain " in line]


def test_a_line_per_transaction_and_per_block(tmp_path, contract_artifact):
    log_path = tmp_path / "node.log"
    node = NodeProcess("--in-memory", log_path=log_path).start()
    try:
        transfer = node.rpc("eth_sendTransaction", {"from": DEV0, "to": DEV1, "value": hex(10**18)})
        deploy = node.rpc("eth_sendTransaction", {"from": DEV0, "data": contract_artifact["bytecode"]
                                                  + (7).to_bytes(32, "big").hex(), "gas": hex(1_000_000)})
        created = _wait_receipt(node, deploy)["contractAddress"]
        # set_value(13) reverts ("unlucky number"); an explicit gas limit skips estimation so it is mined
        failing = node.rpc("eth_sendTransaction", {"from": DEV0, "to": created, "gas": hex(100_000),
                                                   "data": "0x" + _selector("set_value(uint256)")
                                                   + (13).to_bytes(32, "big").hex()})
        receipts = {h: _wait_receipt(node, h) for h in (transfer, deploy, failing)}
    finally:
        assert node.stop() == 0
    lines = _activity(log_path)
    by_hash = {line.split()[1]: line for line in lines if line.startswith("tx ")}
    for tx_hash, receipt in receipts.items():
        line = by_hash[tx_hash]
        assert f"block={int(receipt['blockNumber'], 16)}" in line
        assert f"gas={int(receipt['gasUsed'], 16)}" in line
        assert ("status=ok" if receipt["status"] == "0x1" else "status=reverted") in line
    assert f"to={DEV1}" in by_hash[transfer]
    assert re.search(rf"contract={created}\b", by_hash[deploy], re.IGNORECASE)
    assert "status=reverted" in by_hash[failing]
    block_lines = [line for line in lines if line.startswith("block ")]
    assert [int(line.split()[1]) for line in block_lines] == [1, 2, 3]
    assert all("txs=1" in line and "hash=0x" in line for line in block_lines)


def test_silent_prints_no_activity(tmp_path):
    log_path = tmp_path / "node.log"
    node = NodeProcess("--in-memory", "--silent", log_path=log_path).start()
    try:
        node.rpc("eth_sendTransaction", {"from": DEV0, "to": DEV1, "value": "0x1"})
        assert node.rpc("eth_blockNumber") == "0x1"
    finally:
        assert node.stop() == 0
    assert _activity(log_path) == []
    assert not any(line.startswith("Available Accounts") for line in node.banner)


def _selector(signature: str) -> str:
    from hyperion.primitives.keccak import keccak256

    return keccak256(signature.encode())[:4].hex()


def test_an_in_memory_node_leaves_no_folder_behind(tmp_path, monkeypatch):
    """Its model cache lives in memory: nothing in the temp dir, even after kill -9 (no cleanup ran)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    node = NodeProcess("--in-memory", log_path=tmp_path / "node.log").start()
    try:
        assert "Model store:       in memory" in node.banner
        node.rpc("eth_sendTransaction", {"from": DEV0, "to": DEV1, "value": "0x1"})
        assert list(temp.iterdir()) == []
    finally:
        node.kill_hard()
    assert list(temp.iterdir()) == []
