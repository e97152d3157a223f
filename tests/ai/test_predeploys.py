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

from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.store import DirectoryModelStore  # noqa: E402
from hyperion.chain.genesis import ChainConfig  # noqa: E402
from hyperion.cli import ai as ai_cli  # noqa: E402
from hyperion.cli import main as hyperion_main  # noqa: E402
from hyperion.cli.common import private_key  # noqa: E402
from hyperion.predeploys import plan as G  # noqa: E402
from hyperion.lazai.params import param_named  # noqa: E402
from hyperion.predeploys.genesis import add_to_dev_genesis, predeploy_alloc  # noqa: E402
from hyperion.primitives.keccak import keccak256  # noqa: E402
from hyperion.sdk import AIClient, Deployment, connect  # noqa: E402
from hyperion.sdk.inprocess import InProcessNode  # noqa: E402

from .conftest import address_of_key, dev_key  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEV_ACCOUNTS = ChainConfig().dev_accounts()  # (address, private key) of the node's funded accounts
ADMIN_BYTES = DEV_ACCOUNTS[0][0]
ADMIN = address_of_key(DEV_ACCOUNTS[0][1])
CHAIN_ID = ChainConfig().chain_id
ETH = "0x" + "00" * 20
BPS = 10_000
HOLDERS_BPS = param_named("fees.inferenceHoldersBps").default   # staker-governed split (dev defaults)
PROTOCOL_BPS = param_named("fees.inferenceProtocolBps").default


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
                self.sdk = connect(self.url, DEV_ACCOUNTS[0][1])
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


def _dat(node: Node, name: str, *args):
    return getattr(node.sdk.client.contract("DAT").functions, name)(*args).call()


def _vault_stream(node: Node, stream: int) -> int:
    return node.sdk.client.contract("HoldersMining").functions.revenueByStream(stream).call()


# -- genesis entries (no node) ------------------------------------------------------------------


AI_ADDRESSES = {G.MODEL_REGISTRY_ADDRESS, G.INFERENCE_GATEWAY_ADDRESS, G.INFERENCE_JOBS_ADDRESS, G.MODEL_STORE_ADDRESS}


def test_ai_entries_of_the_alloc_admin_specific_and_clear_of_the_lazai_addresses():
    first = predeploy_alloc(CHAIN_ID, ADMIN_BYTES)
    assert AI_ADDRESSES <= set(first)
    assert all(first[a]["code"] and first[a]["nonce"] == 1 and first[a]["balance"] == 0 for a in AI_ADDRESSES)
    names = {entry.address: entry.name for entry in G.predeploy_plan(ADMIN_BYTES)}
    assert len(names) == len(G.predeploy_plan(ADMIN_BYTES))  # no two predeploys share an address
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
    assert config.alloc[G.MODEL_REGISTRY_ADDRESS]["code"] == predeploy_alloc(CHAIN_ID, ADMIN_BYTES)[
        G.MODEL_REGISTRY_ADDRESS]["code"]
    assert config.base_fee_recipient == G.FEE_VAULT_ADDRESS


def test_cli_on_a_chain_without_the_predeploys_is_a_usage_error(capsys, monkeypatch):
    with InProcessNode(predeploys=False) as node:
        monkeypatch.setattr(ai_cli, "open_connection", lambda args: connect(web3=node.w3, private_key=private_key(args)))
        assert hyperion_main(["model", "list", "--key", dev_key("x").hex()]) == 2
    assert "no predeployed AI contracts" in capsys.readouterr().err


# -- a real node ------------------------------------------------------------------------------------


def test_node_has_the_predeploys_wired_to_lazai(node):
    sdk = node.sdk.client
    expected = predeploy_alloc(sdk.w3.eth.chain_id, ADMIN_BYTES)
    for address, entry in expected.items():
        assert sdk.code(address) == entry["code"]
    ai = node.sdk.ai  # no deployment: the predeployed addresses
    assert ai.deployment == Deployment.predeployed()
    registry = ai.registry.functions
    assert registry.dat().call() == sdk.contract("DAT").address
    assert registry.protocol_vault().call() == sdk.contract("HoldersMining").address
    assert (registry.holders_bps().call(), registry.protocol_bps().call()) == (HOLDERS_BPS, PROTOCOL_BPS)
    assert ai.gateway.functions.registry().call() == ai.registry.address
    assert ai.jobs.functions.challenge_window().call() == G.CHALLENGE_WINDOW
    assert ai.jobs.functions.min_worker_bond().call() == G.WORKER_BOND
    assert ai.jobs.functions.move_window().call() == G.MOVE_WINDOW
    assert registry.model_store().call() == sdk.artifact_contract("ModelStore", G.MODEL_STORE_ADDRESS).address


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
    sdk, ai = node.sdk.client, node.sdk.ai
    dat = sdk.contract("DAT")
    model_hash = digits_model.content_hash
    fee_floor = 10**15
    classes_before = _dat(node, "classCount")

    # registration through the CLI, no --deployment: the bytes go on chain, the registry anchors a DAT class
    assert _cli(node, "model", "register", "digits", "--name", "digits", "--fee", str(fee_floor)) == 0
    assert ai.model_store.functions.is_available(model_hash).call()
    assert ai.fetch_model(model_hash).encode() == digits_model.encode()  # from chain data alone
    assert model_hash not in DirectoryModelStore(node.store_dir)  # nobody put a file anywhere
    info = ai.model_info(model_hash)
    assert info.owner == ADMIN and info.inference_fee == fee_floor
    assert info.dat_class_id == classes_before + 1 == _dat(node, "classCount")
    uri, integrity, _decimals, _policy = _dat(node, "getClassMeta", info.dat_class_id)
    assert (uri, integrity) == ("hyperion-model:digits", model_hash)
    assert _dat(node, "classCreator", info.dat_class_id) == ai.registry.address
    assert _dat(node, "classMinters", info.dat_class_id, ADMIN)
    capsys.readouterr()
    assert _cli(node, "model", "list") == 0
    assert f"0x{model_hash.hex()}" in capsys.readouterr().out
    assert _cli(node, "model", "infer", "0x" + model_hash.hex(), "--digits-sample", "0") == 0
    expected_output = Runner(digits_model).run(digits_inputs[0])
    assert f"0x{expected_output.hex()}" in capsys.readouterr().out
    assert DirectoryModelStore(node.store_dir).get_bytes(model_hash) == digits_model.encode()  # cached from chain

    # the owner (a class minter) mints holder tokens: shares 3 and 1
    holder_a, holder_b = (address_of_key(DEV_ACCOUNTS[i][1]) for i in (1, 2))
    user = DEV_ACCOUNTS[3][1]
    token_ids = []
    for holder, share in ((holder_a, 3), (holder_b, 1)):
        sdk.transact(dat.functions.mint(info.dat_class_id, holder, 1, share, 0))
        token_ids.append(_dat(node, "tokenCount"))

    # a user buys a quota of 3 calls (an access token of the model's class) and lets the gateway meter it
    sdk.transact(dat.functions.mint(info.dat_class_id, address_of_key(user), 3, 0, 0))
    access = _dat(node, "tokenCount")
    sdk.transact(dat.functions.approveForClass(info.dat_class_id, ai.gateway.address, True), sender=user)

    # a paid inference through the gateway: the fee splits holders / protocol vault / coinbase exactly,
    # and each share is paid in the same transaction
    fee = 4 * 10**15 + 7  # odd, so every share rounds
    holders_share = fee * HOLDERS_BPS // BPS
    protocol_share = fee * PROTOCOL_BPS // BPS
    producer_share = fee - holders_share - protocol_share
    assert ai.split(fee) == (holders_share, protocol_share, producer_share)
    coinbase = sdk.w3.eth.get_block("latest")["miner"]
    assert int(coinbase, 16) != 0  # the node's block producer, not the zero address
    vault_before = _vault_stream(node, 1)
    coinbase_before = sdk.balance(coinbase)
    receipt = ai.infer_paid(model_hash, digits_inputs[0], fee, sender=user, access_token=access)
    block = sdk.w3.eth.get_block(receipt.block_number)
    assert block["miner"] == coinbase
    events = dict(receipt.named_events())
    assert events["ComputeFeePaid"] == {"model_hash": model_hash, "payer": ai.gateway.address,
                                        "producer": coinbase, "holders_share": holders_share,
                                        "protocol_share": protocol_share, "producer_share": producer_share}
    assert events["InferenceServed"]["output_hash"] == keccak256(expected_output)
    assert _dat(node, "valueOf", access) == 2
    # the holders' share went into the DAT class at once, shared 3 : 1 by the accumulator
    accumulator = holders_share * 10**18 // 4
    assert _dat(node, "pendingRevenue", token_ids[0], ETH) == 3 * accumulator // 10**18
    assert _dat(node, "pendingRevenue", token_ids[1], ETH) == accumulator // 10**18
    assert ai.registry.functions.holders_revenue(model_hash).call() == 0
    # the protocol share is the vault's compute stream; the producer got its share and the tip
    assert _vault_stream(node, 1) - vault_before == protocol_share
    paid_price = sdk.w3.eth.get_transaction_receipt(receipt.tx_hash)["effectiveGasPrice"]
    tip = receipt.gas_used * (paid_price - block["baseFeePerGas"])
    assert sdk.balance(coinbase) - coinbase_before == producer_share + tip
    assert ai.credits(coinbase) == 0

    # an off-chain job through the CLI defaults: post, register a worker, submit, wait the window, finalize
    requester_key, worker_key = DEV_ACCOUNTS[4][1], DEV_ACCOUNTS[5][1]
    worker = address_of_key(worker_key)
    job_fee = 10**15 + 3
    assert _cli(node, "job", "post", "0x" + model_hash.hex(), "--digits-sample", "1", "--fee", str(job_fee),
                key=requester_key) == 0
    job_id = ai.jobs.functions.job_count().call()
    assert _cli(node, "job", "register-worker", key=worker_key) == 0
    assert _cli(node, "job", "submit", str(job_id), "--compute", "--digits-sample", "1",
                "--bond", str(G.WORKER_BOND), key=worker_key) == 0
    assert ai.job(job_id).status == "submitted"
    assert ai.job(job_id).result_hash == keccak256(Runner(digits_model).run(digits_inputs[1]))
    assert _cli(node, "job", "finalize", str(job_id)) == 1  # the challenge window is still open
    worker_before = sdk.balance(worker)
    sdk.increase_time(G.CHALLENGE_WINDOW)
    assert _cli(node, "job", "finalize", str(job_id)) == 0
    assert ai.job(job_id).status == "finalized"
    job_holders = job_fee * HOLDERS_BPS // BPS
    job_protocol = job_fee * PROTOCOL_BPS // BPS
    assert sdk.balance(worker) - worker_before == job_fee - job_holders - job_protocol  # sent to the worker
    assert ai.registry.functions.holders_revenue(model_hash).call() == 0  # settled into the class
    assert ai.credits(worker, "InferenceJobs") == G.WORKER_BOND
    capsys.readouterr()
    assert _cli(node, "job", "status", str(job_id)) == 0
    trail = capsys.readouterr().out
    assert f"job {job_id}: finalized" in trail and "JobFinalized" in trail
