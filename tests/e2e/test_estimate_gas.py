"""eth_estimateGas on a real node: its estimate, used as the gas limit, always suffices.

The estimate runs on the pending block (the next number and timestamp), as
geth's does: ModelRegistry.register, the first transaction of a fresh chain,
stores ``block.number``; estimated at the genesis block it came out 19,900
gas short (a zero stored over zero costs nothing).
"""

from __future__ import annotations

import pytest

from hyperion.predeploys.plan import MODEL_REGISTRY_ADDRESS
from hyperion.ai.sdk import contract_abi
from hyperion.primitives.keccak import keccak256
from tests.e2e.harness import DEV_ADDRESSES, NodeProcess
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
    yield Client(node.port)
    assert node.stop() == 0


def _send_with_estimate(client: Client, fields: dict) -> tuple[int, dict]:
    gas = client.result("eth_estimateGas", fields)
    tx_hash = client.result("eth_sendTransaction", dict(fields, gas=gas))
    return int(gas, 16), client.result("eth_getTransactionReceipt", tx_hash)


def test_model_registration_on_a_fresh_chain_mines_with_its_estimate(fresh):
    assert fresh.result("eth_blockNumber") == "0x0"
    data = contract_abi("ModelRegistry").encode_call(
        "register", keccak256(b"estimate-test-model"), [1, 28, 28], 10, 123_456, 1 << 32, 0, "digits")
    fields = {"from": DEV_ADDRESSES[1], "to": REGISTRY, "data": "0x" + data.hex()}
    at_genesis = int(fresh.result("eth_estimateGas", fields, "latest"), 16)  # what the bug did
    gas, receipt = _send_with_estimate(fresh, fields)
    assert receipt["status"] == "0x1" and int(receipt["blockNumber"], 16) == 1
    assert gas - at_genesis >= 19_900
    assert int(receipt["gasUsed"], 16) <= gas <= int(receipt["gasUsed"], 16) * 1.02 + 2300


def test_code_whose_cost_depends_on_the_block_mines_with_its_estimate(fresh):
    receipt = fresh.result("eth_getTransactionReceipt", fresh.result(
        "eth_sendTransaction", {"from": DEV_ADDRESSES[2], "data": "0x" + INIT}))
    contract = receipt["contractAddress"]
    assert fresh.result("eth_getCode", contract, "latest") == "0x" + ODD_BLOCKS_STORE
    costs = {}
    for _ in range(4):  # blocks of both parities
        gas, receipt = _send_with_estimate(fresh, {"from": DEV_ADDRESSES[2], "to": contract})
        assert receipt["status"] == "0x1", (gas, receipt)
        costs[int(receipt["blockNumber"], 16) % 2] = gas
    assert costs[1] > costs[0] + 100_000  # odd blocks store five fresh slots
