"""eth_estimateGas on a real node: its estimate, used as the gas limit, always suffices.

The estimate runs on the pending block (the next number and timestamp), as
geth's does. ModelRegistry.register stores ``block.number``: estimated on
the genesis block it came out 19,900 gas short (a zero stored over zero
costs nothing); code whose cost depends on the block number shows the same
on every block.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from web3 import Web3

from hyperion.ai.digits import DIGITS_MODEL_PATH
from hyperion.ai.model import decode_model
from hyperion.predeploys.plan import MODEL_REGISTRY_ADDRESS
from hyperion.sdk import connect
from tests.e2e.harness import DEV_ADDRESSES, DEV_KEYS, REPO_ROOT, NodeProcess, foundry_binary
from tests.e2e.limits_support import Client

REGISTRY = "0x" + MODEL_REGISTRY_ADDRESS.hex()
# NUMBER PUSH1 1 AND PUSH1 8 JUMPI STOP JUMPDEST, then on odd blocks five SSTOREs of TIMESTAMP to
# fresh slots NUMBER * 8 + k; STOP. Init code: copy it out and return it.
ODD_BLOCKS_STORE = "4360011660085700" + "5b" + "".join(f"424360080260{k:02x}0155" for k in range(1, 6)) + "00"
INIT = f"60{len(ODD_BLOCKS_STORE) // 2:02x}80600c6000396000f300" + ODD_BLOCKS_STORE


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    node = NodeProcess("--in-memory", "--log-level", "warning",
                       log_path=tmp_path_factory.mktemp("estimate") / "node.log").start()
    client = Client(node.port)
    client.url = node.url
    yield client
    client.close()
    assert node.stop() == 0


def _send_with_estimate(client: Client, fields: dict) -> tuple[int, dict]:
    gas = client.result("eth_estimateGas", fields)
    tx_hash = client.result("eth_sendTransaction", dict(fields, gas=gas))
    return int(gas, 16), client.result("eth_getTransactionReceipt", tx_hash)


def test_model_registration_mines_with_its_estimate(fresh):
    model = decode_model(DIGITS_MODEL_PATH.read_bytes())
    sdk = connect(fresh.url)
    sdk.ai.publish_model(model, sender=DEV_ADDRESSES[1])  # the registry wants the bytes on chain
    data = sdk.client.contract("ModelRegistry").encode_abi("register", [
        model.content_hash, list(model.input_shape), model.output_size, model.macs, model.input_scale_q32, 0,
        "digits"])
    fields = {"from": DEV_ADDRESSES[1], "to": REGISTRY, "data": data}
    gas, receipt = _send_with_estimate(fresh, fields)
    assert receipt["status"] == "0x1", receipt
    assert int(receipt["gasUsed"], 16) <= gas <= int(receipt["gasUsed"], 16) * 1.02 + 2300


@pytest.fixture(scope="module")
def odd_blocks_store(fresh) -> str:
    receipt = fresh.result("eth_getTransactionReceipt", fresh.result(
        "eth_sendTransaction", {"from": DEV_ADDRESSES[2], "data": "0x" + INIT}))
    contract = receipt["contractAddress"]
    assert fresh.result("eth_getCode", contract, "latest") == "0x" + ODD_BLOCKS_STORE
    return contract


def test_code_whose_cost_depends_on_the_block_mines_with_its_estimate(fresh, odd_blocks_store):
    costs = {}
    for _ in range(4):  # blocks of both parities
        gas, receipt = _send_with_estimate(fresh, {"from": DEV_ADDRESSES[2], "to": odd_blocks_store})
        assert receipt["status"] == "0x1", (gas, receipt)
        costs[int(receipt["blockNumber"], 16) % 2] = gas
    assert costs[1] > costs[0] + 100_000  # odd blocks store five fresh slots


def test_clients_that_leave_the_gas_limit_to_the_node_get_enough(fresh, odd_blocks_store, js_tools):
    """web3.py, cast and ethers fill a missing gas limit with eth_estimateGas; on blocks of both parities
    the transaction they send with it succeeds."""
    key, contract = DEV_KEYS[3], Web3.to_checksum_address(odd_blocks_store)
    w3 = Web3(Web3.HTTPProvider(fresh.url, request_kwargs={"timeout": 30}))
    mined = []
    for _ in range(2):
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_transaction({"from": DEV_ADDRESSES[3], "to": contract}), 30)
        mined.append(("web3.py", receipt["blockNumber"], receipt["status"]))
    env = dict(os.environ, ETH_RPC_URL=fresh.url, FOUNDRY_DISABLE_NIGHTLY_WARNING="1", NO_COLOR="1")
    for _ in range(2):
        out = subprocess.run([str(foundry_binary("cast")), "send", "--private-key", key, "--json", odd_blocks_store],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        receipt = json.loads(out.stdout)
        mined.append(("cast", int(receipt["blockNumber"], 0), int(receipt["status"], 0)))
    script = ("import('ethers').then(async ({ethers}) => {"
              " const p = new ethers.JsonRpcProvider(process.argv[1], undefined, {cacheTimeout: -1});"
              " const w = new ethers.Wallet(process.argv[2], p);"
              " for (let i = 0; i < 2; i++) { const r = await (await w.sendTransaction({to: process.argv[3]})).wait();"
              " console.log(r.blockNumber + ' ' + r.status); } })")
    out = subprocess.run(["node", "-e", script, fresh.url, key, odd_blocks_store], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    mined += [("ethers", *map(int, line.split())) for line in out.stdout.splitlines()]
    assert all(status == 1 for _client, _number, status in mined), mined
    assert {number % 2 for _client, number, _status in mined} == {0, 1}, mined
