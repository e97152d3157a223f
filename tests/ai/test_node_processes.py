"""Two ``hyperion node`` processes given the same signed transactions stay on one chain.

Node A has the shipped models in its ``--model-store`` folder, node B has an
empty folder. Before this issue the precompile ran whatever file a node
held, so a transaction calling a model only A had succeeded on A and failed
on B and the state roots split. Now the precompiles read models from chain
data: both nodes fail the call before the bytes are published, both succeed
after, and their state roots agree after every block; B gets the bytes from
the chain. Then the transformer runs through the precompile on both nodes
bit-identically with the numpy engine and the pure-Python reference, over
200 random inputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hyperion.chain.node")
pytest.importorskip("hyperion.rpc.server")

from eth_account import Account  # noqa: E402
from web3.logs import DISCARD  # noqa: E402
from web3 import Web3  # noqa: E402

from hyperion.ai import reference  # noqa: E402
from hyperion.ai.chainstore import CHUNK_BYTES  # noqa: E402
from hyperion.ai.digits import MODELS_DIR  # noqa: E402
from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.errors import InferenceError  # noqa: E402
from hyperion.ai.model import decode_model  # noqa: E402
from hyperion.ai.store import DirectoryModelStore  # noqa: E402
from hyperion.artifacts import load_artifact  # noqa: E402
from hyperion.chain.genesis import ChainConfig  # noqa: E402
from hyperion.predeploys.plan import (  # noqa: E402
    DAT_ADDRESS,
    INFERENCE_GATEWAY_ADDRESS,
    MODEL_REGISTRY_ADDRESS,
    MODEL_STORE_ADDRESS,
)
from hyperion.primitives.keccak import keccak256  # noqa: E402
from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
KEY = ChainConfig().dev_accounts()[0][1]
SENDER = Account.from_key(KEY).address
GWEI = 10**9
START_TIME = 1_900_000_000


def _checksum(address: bytes) -> str:
    return Web3.to_checksum_address("0x" + address.hex())


class NodeProcess:
    """``hyperion node`` on an in-memory dev chain whose genesis (and so every block hash) is fixed by its time."""

    def __init__(self, store_dir: Path, genesis_time: int):
        self.store_dir = store_dir
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hyperion", "node", "--in-memory", "--port", "0", "--silent",
             "--log-level", "warning", "--model-store", str(store_dir), "--timestamp", str(genesis_time)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("Listening on "):
                self.w3 = Web3(Web3.HTTPProvider("http://" + line.split()[-1], request_kwargs={"timeout": 120}))
                return
            if not line and self.process.poll() is not None:
                break
        self.stop()
        pytest.fail("hyperion node did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def apply(self, raw: bytes, timestamp: int) -> dict:
        """Mine one signed transaction in a block of its own at ``timestamp``."""
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
        tx_hash = self.w3.eth.send_raw_transaction(raw)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)


@pytest.fixture(scope="module")
def charlm():
    return decode_model((MODELS_DIR / "charlm.hqm").read_bytes())


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, charlm, digits_model):
    holder = DirectoryModelStore(tmp_path_factory.mktemp("a-has-the-files"))
    holder.put(charlm)
    holder.put(digits_model)
    started = []
    try:
        started.append(NodeProcess(holder.directory, START_TIME - 10))
        started.append(NodeProcess(tmp_path_factory.mktemp("b-has-nothing"), START_TIME - 10))
        yield started
    finally:
        for node in started:
            node.stop()


class Transactions:
    """Signed transactions of dev account 0, built once and sent to every node."""

    def __init__(self, w3: Web3):
        self.w3 = w3
        self.nonce = 0
        self.store = w3.eth.contract(address=_checksum(MODEL_STORE_ADDRESS), abi=load_artifact("ModelStore")["abi"])
        self.registry = w3.eth.contract(address=_checksum(MODEL_REGISTRY_ADDRESS),
                                        abi=load_artifact("ModelRegistry")["abi"])
        self.gateway = w3.eth.contract(address=_checksum(INFERENCE_GATEWAY_ADDRESS),
                                       abi=load_artifact("InferenceGateway")["abi"])
        self.dat = w3.eth.contract(address=_checksum(DAT_ADDRESS), abi=load_artifact("DAT")["abi"])

    def sign(self, to: str, data: bytes, gas: int, value: int = 0) -> bytes:
        tx = {"chainId": self.w3.eth.chain_id, "nonce": self.nonce, "to": to, "data": data, "value": value,
              "gas": gas, "maxFeePerGas": 50 * GWEI, "maxPriorityFeePerGas": GWEI}
        self.nonce += 1
        return Account.sign_transaction(tx, KEY).raw_transaction

    def call(self, function, gas: int, value: int = 0) -> bytes:
        return self.sign(function.address, bytes.fromhex(function._encode_transaction_data()[2:]), gas, value)

    def precompile(self, payload: bytes) -> bytes:
        return self.sign(_checksum(INFERENCE_ADDRESS), payload, 3_000_000)


def _same_block_on_both(nodes, raw: bytes, step: int) -> dict:
    receipts = [node.apply(raw, START_TIME + step) for node in nodes]
    blocks = [node.w3.eth.get_block(receipt["blockNumber"]) for node, receipt in zip(nodes, receipts)]
    assert blocks[0]["stateRoot"] == blocks[1]["stateRoot"], f"state roots split at step {step}"
    assert blocks[0]["hash"] == blocks[1]["hash"]
    assert [(r["status"], r["gasUsed"]) for r in receipts[:1]] == [(r["status"], r["gasUsed"]) for r in receipts[1:]]
    return receipts[0]


def test_a_node_without_the_model_file_stays_on_the_same_chain(nodes, charlm):
    a, b = nodes
    assert charlm.content_hash in DirectoryModelStore(a.store_dir) and not any(b.store_dir.iterdir())
    txs = Transactions(a.w3)
    text = b"The model bytes are chain data: "
    payload = charlm.content_hash + text
    steps = iter(range(1000))

    # 1. the split: a call to a model only node A holds as a file fails on both nodes alike
    receipt = _same_block_on_both(nodes, txs.precompile(payload), next(steps))
    assert receipt["status"] == 0

    # 2. the model is published (chunks of calldata kept as code), sealed and registered
    data = charlm.encode()
    for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        chunk = txs.store.functions.publish_chunk(charlm.content_hash, len(data), index,
                                                  data[start:start + CHUNK_BYTES])
        assert _same_block_on_both(nodes, txs.call(chunk, 6_000_000), next(steps))["status"] == 1
    seal = txs.store.functions.seal(charlm.content_hash, SENDER)
    assert _same_block_on_both(nodes, txs.call(seal, 1_000_000), next(steps))["status"] == 1
    register = txs.registry.functions.register(charlm.content_hash, list(charlm.input_shape), charlm.output_size,
                                               charlm.macs, 0, 0, "charlm")
    assert _same_block_on_both(nodes, txs.call(register, 2_000_000), next(steps))["status"] == 1

    # 3. the same call now succeeds on both; node B read the bytes from the chain and cached them
    assert _same_block_on_both(nodes, txs.precompile(payload), next(steps))["status"] == 1
    # through the gateway: the model is a DAT class, so the caller (its owner, a minter) uses an access token
    class_id = txs.registry.functions.dat_class(charlm.content_hash).call()
    mint = txs.dat.functions.mint(class_id, SENDER, 10, 0, 0)
    assert _same_block_on_both(nodes, txs.call(mint, 1_000_000), next(steps))["status"] == 1
    approve = txs.dat.functions.approveForClass(class_id, _checksum(INFERENCE_GATEWAY_ADDRESS), True)
    assert _same_block_on_both(nodes, txs.call(approve, 1_000_000), next(steps))["status"] == 1
    paid = txs.gateway.functions.infer(charlm.content_hash, text, txs.dat.functions.tokenCount().call())
    receipt = _same_block_on_both(nodes, txs.call(paid, 3_000_000), next(steps))
    assert receipt["status"] == 1
    served = txs.gateway.events.InferenceServed().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert served["output_hash"] == keccak256(Runner(charlm).run(text))
    assert DirectoryModelStore(b.store_dir).get_bytes(charlm.content_hash) == data

    # 4. a model held as a file by node A but never published still fails on both
    digits = decode_model((MODELS_DIR / "digits.hqm").read_bytes())
    assert _same_block_on_both(nodes, txs.precompile(digits.content_hash + bytes(64)), next(steps))["status"] == 0


def test_transformer_is_bit_identical_on_two_nodes_and_in_pure_python(nodes, charlm):
    """Runs after the publication above (module order); 200 random inputs through eth_call on each node."""
    if not nodes[0].w3.eth.call({"to": _checksum(MODEL_STORE_ADDRESS),
                                 "data": Transactions(nodes[0].w3).store.functions.is_available(
                                     charlm.content_hash)._encode_transaction_data()})[-1]:
        pytest.skip("needs the publication of the previous test")
    rng = np.random.default_rng(2024)
    inputs = [rng.integers(0, 128, 32).astype(np.uint8).tobytes() for _ in range(200)]
    runner = Runner(charlm)
    for x in inputs:
        expected = runner.run(x)
        assert reference.run(charlm, x) == expected
        for node in nodes:
            out = node.w3.eth.call({"to": _checksum(INFERENCE_ADDRESS), "data": charlm.content_hash + x})
            assert bytes(out) == expected
    # a byte outside the 128-token vocabulary is an input error everywhere
    bad = bytes(31) + b"\xc8"
    with pytest.raises(InferenceError):
        runner.run(bad)
    for node in nodes:
        with pytest.raises(Exception):
            node.w3.eth.call({"to": _checksum(INFERENCE_ADDRESS), "data": charlm.content_hash + bad})
