"""Foundry's cast (npm ``@foundry-rs/cast``) against a real ``hyperion node``."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from hyperion.primitives.keccak import keccak256
from tests.e2e.harness import REPO_ROOT, foundry_binary

# dev accounts 7 and 8: no other client test uses them
KEY = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"
ADDRESS = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955"
OTHER_KEY = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"
OTHER = "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f"
RECIPIENT = "0x000000000000000000000000000000000000c0de"


@pytest.fixture(scope="module")
def cast(js_tools, node):
    binary = foundry_binary("cast")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, ETH_RPC_URL=node.url, FOUNDRY_DISABLE_NIGHTLY_WARNING="1", NO_COLOR="1")
        result = subprocess.run([str(binary), *args], cwd=REPO_ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"cast {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    return run


@pytest.fixture(scope="module")
def deployed(cast, contract_artifact):
    out = cast("send", "--private-key", KEY, "--json", "--create", contract_artifact["bytecode"],
               "constructor(uint256)", "5")
    receipt = json.loads(out.stdout)
    assert receipt["status"] in ("0x1", 1, "1")
    return receipt["contractAddress"]


def test_chain_queries(cast):
    assert cast("chain-id").stdout.strip() == "133717"
    assert int(cast("block-number").stdout.strip()) >= 0
    assert int(cast("balance", ADDRESS).stdout.strip()) > 0
    assert cast("client").stdout.strip().startswith("Hyperion/")
    block = json.loads(cast("block", "latest", "--json").stdout)
    assert block["hash"].startswith("0x") and block["baseFeePerGas"]
    assert json.loads(cast("rpc", "eth_chainId").stdout) == hex(133717)
    assert int(cast("gas-price").stdout.strip()) > 0


def test_deploy_call_and_send(cast, deployed):
    assert cast("call", deployed, "value()(uint256)").stdout.strip() == "5"
    assert cast("call", deployed, "doubled(uint256)(uint256)", "21").stdout.strip() == "42"
    assert len(cast("code", deployed).stdout.strip()) > 10
    receipt = json.loads(cast("send", deployed, "set_value(uint256)", "9", "--private-key", KEY, "--json").stdout)
    assert receipt["status"] in ("0x1", 1, "1")
    assert cast("call", deployed, "value()(uint256)").stdout.strip() == "9"
    assert int(cast("storage", deployed, "0").stdout.strip(), 16) == 9
    tx = json.loads(cast("tx", receipt["transactionHash"], "--json").stdout)
    assert tx["to"].lower() == deployed.lower()
    fetched = json.loads(cast("receipt", receipt["transactionHash"], "--json").stdout)
    assert fetched["blockHash"] == receipt["blockHash"] and len(fetched["logs"]) == 1


def test_transfer(cast):
    before = int(cast("balance", RECIPIENT).stdout.strip())
    receipt = json.loads(cast("send", RECIPIENT, "--value", "1ether", "--private-key", OTHER_KEY, "--json").stdout)
    assert receipt["status"] in ("0x1", 1, "1")
    assert int(cast("balance", RECIPIENT).stdout.strip()) == before + 10**18


def test_logs(cast, deployed):
    cast("send", deployed, "set_value(uint256)", "31", "--private-key", KEY)
    out = cast("logs", "--from-block", "0", "--address", deployed, "--json",
               "ValueChanged(address indexed,uint256,uint256)")
    logs = json.loads(out.stdout)
    assert len(logs) >= 2
    topic = "0x" + keccak256(b"ValueChanged(address,uint256,uint256)").hex()
    assert all(log["topics"][0] == topic for log in logs)
    assert int(logs[-1]["data"][-64:], 16) == 31


def test_revert_reason_and_estimate(cast, deployed):
    failed = cast("call", deployed, "set_value(uint256)", "13", "--from", ADDRESS, check=False)
    assert failed.returncode != 0
    assert "unlucky number" in failed.stderr + failed.stdout
    estimate = int(cast("estimate", deployed, "set_value(uint256)", "10", "--from", ADDRESS).stdout.strip())
    assert 21000 < estimate < 200_000
    failed = cast("estimate", deployed, "set_value(uint256)", "13", "--from", ADDRESS, check=False)
    assert failed.returncode != 0 and "unlucky number" in failed.stderr + failed.stdout


def test_replace_pending_transaction(cast):
    cast("rpc", "evm_setAutomine", "false")
    try:
        nonce = cast("nonce", OTHER, "--block", "pending").stdout.strip()
        first = cast("send", RECIPIENT, "--value", "1", "--nonce", nonce, "--gas-price", "2gwei",
                     "--priority-gas-price", "1", "--private-key", OTHER_KEY, "--async").stdout.strip()
        second = cast("send", RECIPIENT, "--value", "2", "--nonce", nonce, "--gas-price", "5gwei",
                      "--priority-gas-price", "2gwei", "--private-key", OTHER_KEY, "--async").stdout.strip()
        assert first != second
        pool = json.loads(cast("rpc", "txpool_content").stdout)
        assert any(second in json.dumps(entry) for entry in pool["pending"].values())
        cast("rpc", "evm_mine")
        receipt = json.loads(cast("receipt", second, "--json").stdout)
        assert receipt["status"] in ("0x1", 1, "1")
        assert cast("receipt", first, "--json", "--async", check=False).returncode != 0 or \
            "null" in cast("rpc", "eth_getTransactionReceipt", first).stdout
    finally:
        cast("rpc", "evm_setAutomine", "true")


def test_merkle_proof(cast, deployed):
    proof = json.loads(cast("proof", deployed, "0").stdout)
    block = json.loads(cast("block", "latest", "--json").stdout)
    assert keccak256(bytes.fromhex(proof["accountProof"][0][2:])) == bytes.fromhex(block["stateRoot"][2:])
    assert int(proof["storageProof"][0]["value"], 16) == int(cast("call", deployed, "value()(uint256)").stdout)
