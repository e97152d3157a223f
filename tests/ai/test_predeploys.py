"""The AI system contracts are predeployed by ``hyperion node`` and wired to the LazAI value layer.

One real node process (``python -m hyperion node --in-memory --port 0``)
serves the module: code at the fixed addresses, ``hyperion contracts``
listing them, registration through the predeployed registry creating a DAT
class, a paid inference splitting its fee between the DAT holders, the
Holders Mining vault and the block producer (exact integers), and a job
going from post to finalized, all through the CLI / SDK defaults (no
``--deployment`` file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("hyperion.chain.node")
pytest.importorskip("hyperion.rpc.server")

from hyperion.predeploys import plan as G  # noqa: E402
from hyperion.predeploys.genesis import add_to_dev_genesis, predeploy_alloc  # noqa: E402
from hyperion.ai.abi import ContractABI  # noqa: E402
from hyperion.ai.backends import InProcessBackend, RpcBackend, address_of_key, dev_key  # noqa: E402
from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.sdk import AIClient, Deployment  # noqa: E402
from hyperion.ai.store import DirectoryModelStore  # noqa: E402
from hyperion.cli import main as hyperion_main  # noqa: E402
from hyperion.chain.genesis import ChainConfig  # noqa: E402
from hyperion.artifacts import load_artifact as load_lazai_artifact  # noqa: E402
from hyperion.lazai.params import param_named  # noqa: E402
from hyperion.predeploys.plan import DAT_ADDRESS, FEE_VAULT_ADDRESS  # noqa: E402
from hyperion.primitives.keccak import keccak256  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEV_ACCOUNTS = ChainConfig().dev_accounts()  # (address, private key) of the node's funded accounts
ADMIN = DEV_ACCOUNTS[0][0]
CHAIN_ID = ChainConfig().chain_id
ETH = b"\x00" * 20
BPS = 10_000
HOLDERS_BPS = param_named("fees.inferenceHoldersBps").default   # staker-governed split (dev defaults)
PROTOCOL_BPS = param_named("fees.inferenceProtocolBps").default
DAT_ABI = ContractABI(load_lazai_artifact("DAT")["abi"])


class Node:
    """A ``hyperion node`` process and its model store folder."""

    def __init__(self, store_dir: Path):
        self.store_dir = store_dir
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hyperion", "node", "--in-memory", "--port", "0", "--silent",
             "--log-level", "warning", "--model-store", str(store_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line.startswith("Listening on "):
                self.url = "http://" + line.split()[-1]
                self.backend = RpcBackend(self.url)
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


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    started = Node(tmp_path_factory.mktemp("models"))
    yield started
    started.stop()


@pytest.fixture(autouse=True)
def _no_deployment_file_from_the_environment(monkeypatch):
    monkeypatch.delenv("HYPERION_AI_DEPLOYMENT", raising=False)


def _cli(node: Node, *argv: str, key: bytes | None = None) -> int:
    extra = ["--key", key.hex()] if key is not None else []
    return hyperion_main([*argv, "--rpc", node.url, *extra])


def _dat(backend, name: str, *args):
    return DAT_ABI.decode_result(name, backend.call(DAT_ADDRESS, DAT_ABI.encode_call(name, *args)))


def _vault_stream(backend, stream: int) -> int:
    data = keccak256(b"revenueByStream(uint8)")[:4] + stream.to_bytes(32, "big")
    return int.from_bytes(backend.call(FEE_VAULT_ADDRESS, data), "big")


def _block(backend, number: int) -> dict:
    return backend.request("eth_getBlockByNumber", [hex(number), False])


# -- genesis entries (no node) ------------------------------------------------------------------


AI_ADDRESSES = {G.MODEL_REGISTRY_ADDRESS, G.INFERENCE_GATEWAY_ADDRESS, G.INFERENCE_JOBS_ADDRESS, G.MODEL_STORE_ADDRESS}


def test_ai_entries_of_the_alloc_admin_specific_and_clear_of_the_lazai_addresses():
    first = predeploy_alloc(CHAIN_ID, ADMIN)
    assert AI_ADDRESSES <= set(first)
    assert all(first[a]["code"] and first[a]["nonce"] == 1 and first[a]["balance"] == 0 for a in AI_ADDRESSES)
    names = {entry.address: entry.name for entry in G.predeploy_plan(ADMIN)}
    assert len(names) == len(G.predeploy_plan(ADMIN))  # no two predeploys share an address
    # no admin in the AI contracts: the fee split is the stakers' (ProtocolGovernor parameters)
    other = predeploy_alloc(CHAIN_ID, b"\x05" * 20)
    assert all(other[a] == first[a] for a in AI_ADDRESSES)
    assert G.address_of("InferenceJobs") == G.INFERENCE_JOBS_ADDRESS


def test_dev_genesis_keeps_a_genesis_file_entry_at_the_same_address():
    config = ChainConfig()
    mine = {"code": b"\x00", "storage": {}, "balance": 5, "nonce": 1}
    config.alloc[G.INFERENCE_JOBS_ADDRESS] = mine
    add_to_dev_genesis(config)
    assert config.alloc[G.INFERENCE_JOBS_ADDRESS] is mine
    assert config.alloc[G.MODEL_REGISTRY_ADDRESS]["code"] == predeploy_alloc(CHAIN_ID, ADMIN)[
        G.MODEL_REGISTRY_ADDRESS]["code"]
    assert config.base_fee_recipient == FEE_VAULT_ADDRESS


def test_cli_on_a_chain_without_the_predeploys_is_a_usage_error(capsys, monkeypatch):
    from hyperion.cli import ai as ai_cli

    backend = InProcessBackend()
    monkeypatch.setattr(ai_cli, "open_backend", lambda args: backend)
    assert hyperion_main(["model", "list", "--key", dev_key("x").hex()]) == 2
    assert "no predeployed AI contracts" in capsys.readouterr().err


# -- a real node ------------------------------------------------------------------------------------


def test_node_has_the_predeploys_wired_to_lazai(node):
    backend = node.backend
    expected = predeploy_alloc(backend.chain_id, ADMIN)
    for address, entry in expected.items():
        assert backend.code(address) == entry["code"]
    client = AIClient(backend)  # no deployment: the predeployed addresses
    assert client.deployment == Deployment.predeployed()
    registry = G.MODEL_REGISTRY_ADDRESS
    assert client.read("ModelRegistry", registry, "dat") == DAT_ADDRESS
    assert client.read("ModelRegistry", registry, "protocol_vault") == FEE_VAULT_ADDRESS
    assert (client.read("ModelRegistry", registry, "holders_bps"),
            client.read("ModelRegistry", registry, "protocol_bps")) == (HOLDERS_BPS, PROTOCOL_BPS)
    assert client.read("InferenceGateway", G.INFERENCE_GATEWAY_ADDRESS, "registry") == registry
    assert client.read("InferenceJobs", G.INFERENCE_JOBS_ADDRESS, "challenge_window") == G.CHALLENGE_WINDOW
    assert client.read("InferenceJobs", G.INFERENCE_JOBS_ADDRESS, "min_worker_bond") == G.WORKER_BOND
    assert client.read("InferenceJobs", G.INFERENCE_JOBS_ADDRESS, "move_window") == G.MOVE_WINDOW
    assert client.read("ModelRegistry", registry, "model_store") == G.MODEL_STORE_ADDRESS
    assert backend.code(DAT_ADDRESS) and backend.code(FEE_VAULT_ADDRESS)


def test_hyperion_contracts_lists_the_ai_contracts():
    done = subprocess.run([sys.executable, "-m", "hyperion", "contracts", "--json"], cwd=REPO, text=True,
                          capture_output=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {entry["name"]: entry for entry in json.loads(done.stdout)}
    for name, address in (("ModelRegistry", G.MODEL_REGISTRY_ADDRESS),
                          ("InferenceGateway", G.INFERENCE_GATEWAY_ADDRESS),
                          ("InferenceJobs", G.INFERENCE_JOBS_ADDRESS)):
        assert listed[name]["address"] == "0x" + address.hex()
        assert listed[name]["contract"] == name
        assert any(item.get("name") == "register" for item in listed["ModelRegistry"]["abi"])
    assert {"DAT", "HoldersMining"} <= set(listed)  # the LazAI ones are still there


def test_register_infer_and_job_through_the_predeploys(node, digits_model, digits_inputs, capsys):
    backend = node.backend
    client = AIClient(backend, sender=ADMIN)
    model_hash = digits_model.content_hash
    fee_floor = 10**15
    classes_before = _dat(backend, "classCount")

    # registration through the CLI, no --deployment: the bytes go on chain, the registry anchors a DAT class
    assert _cli(node, "model", "register", "digits", "--name", "digits", "--fee", str(fee_floor)) == 0
    assert client.read("ModelStore", G.MODEL_STORE_ADDRESS, "is_available", model_hash)
    assert client.fetch_model(model_hash).encode() == digits_model.encode()  # from chain data alone
    assert model_hash not in DirectoryModelStore(node.store_dir)  # nobody put a file anywhere
    info = client.model_info(model_hash)
    assert info.owner == ADMIN and info.inference_fee == fee_floor
    assert info.dat_class_id == classes_before + 1 == _dat(backend, "classCount")
    uri, integrity, _decimals, _policy = _dat(backend, "getClassMeta", info.dat_class_id)
    assert (uri, integrity) == ("hyperion-model:digits", model_hash)
    assert _dat(backend, "classCreator", info.dat_class_id) == G.MODEL_REGISTRY_ADDRESS
    assert _dat(backend, "classMinters", info.dat_class_id, ADMIN)
    capsys.readouterr()
    assert _cli(node, "model", "list") == 0
    assert f"0x{model_hash.hex()}" in capsys.readouterr().out
    assert _cli(node, "model", "infer", "0x" + model_hash.hex(), "--digits-sample", "0") == 0
    expected_output = Runner(digits_model).run(digits_inputs[0])
    assert f"0x{expected_output.hex()}" in capsys.readouterr().out
    assert DirectoryModelStore(node.store_dir).get_bytes(model_hash) == digits_model.encode()  # cached from chain

    # the owner (a class minter) mints holder tokens: shares 3 and 1
    holder_a, holder_b, user = (DEV_ACCOUNTS[i][0] for i in (1, 2, 3))
    token_ids = []
    for holder, share in ((holder_a, 3), (holder_b, 1)):
        receipt = backend.send(ADMIN, DAT_ADDRESS, DAT_ABI.encode_call("mint", info.dat_class_id, holder, 1, share, 0))
        assert receipt.success
        token_ids.append(_dat(backend, "tokenCount"))

    # a user buys a quota of 3 calls (an access token of the model's class) and lets the gateway meter it
    assert backend.send(ADMIN, DAT_ADDRESS, DAT_ABI.encode_call("mint", info.dat_class_id, user, 3, 0, 0)).success
    access = _dat(backend, "tokenCount")
    assert backend.send(user, DAT_ADDRESS, DAT_ABI.encode_call("approveForClass", info.dat_class_id,
                                                               G.INFERENCE_GATEWAY_ADDRESS, True)).success

    # a paid inference through the gateway: the fee splits holders / protocol vault / coinbase exactly,
    # and each share is paid in the same transaction
    registry = G.MODEL_REGISTRY_ADDRESS
    fee = 4 * 10**15 + 7  # odd, so every share rounds
    holders_share = fee * HOLDERS_BPS // BPS
    protocol_share = fee * PROTOCOL_BPS // BPS
    producer_share = fee - holders_share - protocol_share
    assert client.split(fee) == (holders_share, protocol_share, producer_share)
    coinbase = bytes.fromhex(backend.request("eth_getBlockByNumber", ["latest", False])["miner"][2:])
    assert coinbase != b"\x00" * 20  # the node's block producer, not the zero address
    vault_before = _vault_stream(backend, 1)
    coinbase_before = backend.balance(coinbase)
    receipt = client.infer_paid(model_hash, digits_inputs[0], fee, sender=user, access_token=access)
    block = _block(backend, receipt.block_number)
    assert bytes.fromhex(block["miner"][2:]) == coinbase
    events = dict(client.events(receipt))
    assert events["ComputeFeePaid"] == {"model_hash": model_hash, "payer": G.INFERENCE_GATEWAY_ADDRESS,
                                        "producer": coinbase, "holders_share": holders_share,
                                        "protocol_share": protocol_share, "producer_share": producer_share}
    assert events["InferenceServed"]["output_hash"] == keccak256(expected_output)
    assert _dat(backend, "valueOf", access) == 2
    # the holders' share went into the DAT class at once, shared 3 : 1 by the accumulator
    accumulator = holders_share * 10**18 // 4
    assert _dat(backend, "pendingRevenue", token_ids[0], ETH) == 3 * accumulator // 10**18
    assert _dat(backend, "pendingRevenue", token_ids[1], ETH) == accumulator // 10**18
    assert client.read("ModelRegistry", registry, "holders_revenue", model_hash) == 0
    # the protocol share is the vault's compute stream; the producer got its share and the tip
    assert _vault_stream(backend, 1) - vault_before == protocol_share
    paid_price = int(backend.request("eth_getTransactionReceipt", ["0x" + receipt.tx_hash.hex()])
                     ["effectiveGasPrice"], 16)
    tip = receipt.gas_used * (paid_price - int(block["baseFeePerGas"], 16))
    assert backend.balance(coinbase) - coinbase_before == producer_share + tip
    assert client.credits(coinbase) == 0

    # an off-chain job through the CLI defaults: post, register a worker, submit, wait the window, finalize
    requester_key, worker_key = DEV_ACCOUNTS[4][1], DEV_ACCOUNTS[5][1]
    worker = address_of_key(worker_key)
    job_fee = 10**15 + 3
    assert _cli(node, "job", "post", "0x" + model_hash.hex(), "--digits-sample", "1", "--fee", str(job_fee),
                key=requester_key) == 0
    job_id = client.read("InferenceJobs", G.INFERENCE_JOBS_ADDRESS, "job_count")
    assert _cli(node, "job", "register-worker", key=worker_key) == 0
    assert _cli(node, "job", "submit", str(job_id), "--compute", "--digits-sample", "1",
                "--bond", str(G.WORKER_BOND), key=worker_key) == 0
    assert client.job(job_id).status == "submitted"
    assert client.job(job_id).result_hash == keccak256(Runner(digits_model).run(digits_inputs[1]))
    assert _cli(node, "job", "finalize", str(job_id)) == 1  # the challenge window is still open
    worker_before = backend.balance(worker)
    backend.advance_time(G.CHALLENGE_WINDOW)
    assert _cli(node, "job", "finalize", str(job_id)) == 0
    assert client.job(job_id).status == "finalized"
    job_holders = job_fee * HOLDERS_BPS // BPS
    job_protocol = job_fee * PROTOCOL_BPS // BPS
    assert backend.balance(worker) - worker_before == job_fee - job_holders - job_protocol  # sent to the worker
    assert client.read("ModelRegistry", registry, "holders_revenue", model_hash) == 0  # settled into the class
    assert client.credits(worker, "InferenceJobs") == G.WORKER_BOND
    capsys.readouterr()
    assert _cli(node, "job", "status", str(job_id)) == 0
    trail = capsys.readouterr().out
    assert f"job {job_id}: finalized" in trail and "JobFinalized" in trail
