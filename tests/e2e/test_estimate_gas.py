"""eth_estimateGas on a real node: its estimate, used as the gas limit, always suffices.

The estimate runs on the pending block (the next number and timestamp), as
geth's does. ModelRegistry.register stores ``block.number``: estimated on
the genesis block it came out 19,900 gas short (a zero stored over zero
costs nothing); code whose cost depends on the block number shows the same
on every block.
"""

from __future__ import annotations

import pytest

from hyperion.ai.backends import RpcBackend
from hyperion.ai.digits import DIGITS_MODEL_PATH
from hyperion.ai.model import decode_model
from hyperion.ai.sdk import AIClient, contract_abi
from hyperion.predeploys.plan import MODEL_REGISTRY_ADDRESS
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
    publisher = bytes.fromhex(DEV_ADDRESSES[1][2:])
    AIClient(RpcBackend(fresh.url), sender=publisher).publish_model(model)  # the registry wants the bytes on chain
    data = contract_abi("ModelRegistry").encode_call(
        "register", model.content_hash, list(model.input_shape), model.output_size, model.macs,
        model.input_scale_q32, 0, "digits")
    fields = {"from": DEV_ADDRESSES[1], "to": REGISTRY, "data": "0x" + data.hex()}
    gas, receipt = _send_with_estimate(fresh, fields)
    assert receipt["status"] == "0x1", receipt
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
