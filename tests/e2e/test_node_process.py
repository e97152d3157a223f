"""The ``hyperion node`` process itself: banner, flags, persistence, kill -9, clean shutdown."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

Account = pytest.importorskip("eth_account").Account

from tests.e2e.harness import DEV_ADDRESSES, DEV_KEYS, REPO_ROOT, NodeProcess, RpcFailure


def _transfer(node: NodeProcess, key: str, nonce: int, value: int) -> str:
    signed = Account.from_key(key).sign_transaction({
        "type": 2, "chainId": 133717, "nonce": nonce, "to": DEV_ADDRESSES[3], "value": value, "gas": 21000,
        "maxFeePerGas": 5 * 10**9, "maxPriorityFeePerGas": 10**9})
    return node.rpc("eth_sendRawTransaction", "0x" + signed.raw_transaction.hex())


def test_help_lists_flags():
    out = subprocess.run([sys.executable, "-m", "hyperion", "node", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60).stdout
    for flag in ("--data-dir", "--in-memory", "--chain-id", "--block-time", "--host", "--port", "--genesis",
                 "--log-level"):
        assert flag in out


def test_banner_chain_id_and_genesis(tmp_path):
    """A genesis file is taken exactly: its alloc and nothing else (no dev funds, no predeploys)."""
    genesis = tmp_path / "genesis.json"
    funded = "0x" + "ab" * 20
    genesis.write_text(json.dumps({"config": {"chainId": 4242}, "fork": "Prague", "gasLimit": "0x1c9c380",
                                   "alloc": {funded: {"balance": "0x1234"}}}))
    node = NodeProcess("--in-memory", "--genesis", str(genesis), "--chain-id", "777", "--accounts", "2").start()
    try:
        banner = "\n".join(node.banner)
        assert DEV_ADDRESSES[0] in banner and DEV_KEYS[0] in banner  # unlocked for signing ...
        assert "test test test test test test test test test test test junk" in banner
        assert "777" in banner
        assert node.rpc("eth_chainId") == hex(777)
        assert node.rpc("eth_getBalance", funded, "latest") == "0x1234"
        assert node.rpc("eth_getBalance", DEV_ADDRESSES[0], "latest") == "0x0"  # ... but not funded
        history_contract = "0x0000f90827f1c53a10cb7a02335b175320002935"  # the dev genesis would add it
        assert node.rpc("eth_getCode", history_contract, "latest") == "0x"
    finally:
        assert node.stop() == 0


def test_block_time_mines_on_a_timer():
    import time

    node = NodeProcess("--in-memory", "--block-time", "1").start()
    try:
        # automine has each receipt the moment its send returns; on a timer a transaction waits for the next
        # tick. One send and one check raced that tick (a stall between them let the tick win); of 5 sends,
        # the timer shows unless a tick falls between every send and its check.
        sent, waiting = [], 0
        for nonce in range(5):
            sent.append(_transfer(node, DEV_KEYS[0], nonce, 1))
            waiting += node.rpc("eth_getTransactionReceipt", sent[-1]) is None
        assert waiting > 0, "every transaction had its receipt when its send returned: mined on send"
        deadline = time.monotonic() + 60
        receipts = [None]
        while None in receipts and time.monotonic() < deadline:
            time.sleep(0.2)
            receipts = [node.rpc("eth_getTransactionReceipt", tx_hash) for tx_hash in sent]
        assert None not in receipts and {r["status"] for r in receipts} == {"0x1"}
    finally:
        assert node.stop() == 0


def test_data_dir_survives_kill_9_and_restart(tmp_path):
    data_dir = tmp_path / "chain"
    node = NodeProcess("--data-dir", str(data_dir)).start()
    mined = {}
    try:
        for nonce in range(5):
            tx_hash = _transfer(node, DEV_KEYS[1], nonce, 1000 + nonce)
            receipt = node.rpc("eth_getTransactionReceipt", tx_hash)
            assert receipt is not None, "automine: the receipt exists when the send returns"
            mined[int(receipt["blockNumber"], 16)] = (receipt["blockHash"], tx_hash)
        head = int(node.rpc("eth_blockNumber"), 16)
        balance = node.rpc("eth_getBalance", DEV_ADDRESSES[3], "latest")
    finally:
        node.kill_hard()

    node = NodeProcess("--data-dir", str(data_dir)).start()
    try:
        assert int(node.rpc("eth_blockNumber"), 16) == head
        for number, (block_hash, tx_hash) in mined.items():
            block = node.rpc("eth_getBlockByNumber", hex(number), False)
            assert block["hash"] == block_hash and tx_hash in block["transactions"]
            assert node.rpc("eth_getTransactionReceipt", tx_hash)["blockHash"] == block_hash
        assert node.rpc("eth_getBalance", DEV_ADDRESSES[3], "latest") == balance
        # the chain goes on from where it was
        tx_hash = _transfer(node, DEV_KEYS[1], 5, 7)
        assert int(node.rpc("eth_getTransactionReceipt", tx_hash)["blockNumber"], 16) == head + 1
    finally:
        assert node.stop(signal.SIGTERM) == 0  # clean shutdown

    node = NodeProcess("--data-dir", str(data_dir)).start()
    try:
        assert int(node.rpc("eth_blockNumber"), 16) == head + 1
        try:
            node.rpc("eth_getBalance", "0x12")
        except RpcFailure as failure:
            assert failure.error["code"] == -32602
    finally:
        assert node.stop(signal.SIGINT) == 0


def test_no_dev_accounts_still_starts_the_dev_chain():
    """``--accounts 0``: no funded accounts, the predeploys still there (admin: the mnemonic's first key)."""
    from hyperion.predeploys.plan import FEE_VAULT_ADDRESS

    node = NodeProcess("--in-memory", "--accounts", "0").start()
    try:
        assert node.rpc("eth_accounts") == []
        assert node.rpc("eth_getBalance", DEV_ADDRESSES[0], "latest") == "0x0"
        assert node.rpc("eth_getCode", "0x" + FEE_VAULT_ADDRESS.hex(), "latest") not in ("0x", "0x0")
    finally:
        assert node.stop() == 0
