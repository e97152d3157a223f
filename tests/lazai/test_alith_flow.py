"""The whole LazAI data-contribution flow, driven by the real alith SDK (alith.lazai.Client) against a node."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("alith.lazai", reason="alith is not installed (pip install alith)")

from alith.lazai import ChainConfig, Client, ProofData, SettlementData  # noqa: E402
from alith.lazai.contracts import ContractConfig  # noqa: E402
from alith.lazai.request import INFERENCE_TYPE, validate_account_and_signature  # noqa: E402

from hyperion.predeploys.plan import LAZAI_CHAIN_ID  # noqa: E402
from hyperion.sdk import connect  # noqa: E402
from tests.lazai.node_process import (  # noqa: E402
    DEV_KEYS,
    REPO_ROOT,
    NodeStartError,
    port_is_free,
    start_lazai_node,
)
from tests.lazai.sdk_flows import admit, verifier_idao  # noqa: E402

pytestmark = pytest.mark.e2e
ETHER = 10**18


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    process = start_lazai_node(tmp_path_factory.mktemp("alith-node"))
    yield process
    assert process.stop() == 0


def alith_client(node, key: str) -> Client:
    chain = ChainConfig("LazAI Devnet", node.url, LAZAI_CHAIN_ID)
    return Client(chain_config=chain, contract_config=ContractConfig.local(), private_key=key)


def test_data_contribution_flow_with_alith(node):
    admin, contributor, verifier = (alith_client(node, key) for key in DEV_KEYS[:3])
    # nobody adds a verifier by fiat any more, the admin included ...
    with pytest.raises(Exception, match="admitted only by an iDAO vote"):
        admin.add_node(verifier.wallet.address, "http://verifier.local", "verifier-public-key")
    # ... an iDAO above the protocol floors votes it in, once it has bonded stake
    owner = connect(node.url, DEV_KEYS[0])
    admit(owner, connect(node.url, DEV_KEYS[2]), verifier_idao(owner))
    assert admin.is_node(verifier.wallet.address)
    assert verifier.wallet.address in admin.active_node_list()
    # the contributor adds a file and grants the verifier access
    url = "ipfs://bafy-alith-e2e-dataset"
    file_id = contributor.add_file_with_hash(url, "sha256:feedbeef")
    assert file_id == contributor.get_file_id_by_url(url) and file_id >= 1
    contributor.add_permission_for_file(file_id, verifier.wallet.address, "encrypted-key-for-verifier")
    assert contributor.get_file_permission(file_id, verifier.wallet.address) == "encrypted-key-for-verifier"
    assert contributor.get_public_key().startswith("-----BEGIN PUBLIC KEY-----")
    # proof job: requested by the contributor, completed by the assigned validator node
    contributor.request_proof(file_id, value=contributor.node_fee())
    job_id = contributor.file_job_ids(file_id)[-1]
    job = contributor.get_job(job_id)
    assert job[0] == file_id and job[5] == verifier.wallet.address
    verifier.complete_job(job_id)
    assert contributor.get_job(job_id)[2] == 2  # Completed
    # the validator signs and adds the proof
    verifier.add_proof(file_id, ProofData(id=file_id, score=87, file_url=url, proof_url="ipfs://proof-report"))
    proof = contributor.get_file_proof(file_id, 1)
    assert len(proof[2]) == 65
    # reward: once the proof's dispute window is over, a DAT is minted for the contributor
    owner.client.increase_time(owner.governance.param("verifiers.disputeWindow") + 1)
    contributor.request_reward(file_id)
    info = contributor.get_file(file_id)
    assert info[1] == contributor.wallet.address and info[4] == 1 and info[5] == 87
    registry = contributor.w3.eth.contract(address=contributor.contract_config.data_registry_address,
                                           abi=_registry_extra_abi())
    dat_token_id = registry.functions.rewardTokenOf(file_id).call()
    assert contributor.get_dat_balance(contributor.wallet.address, dat_token_id) == 87
    assert contributor.data_uri(dat_token_id) == url
    # a proof signed by a non-node is refused
    with pytest.raises(Exception, match="signer is not a verifier node"):
        contributor.add_proof(file_id, ProofData(id=file_id, score=99, file_url=url, proof_url="x"))
    with pytest.raises(Exception, match="reward already requested"):
        contributor.request_reward(file_id)


def test_settlement_flow_with_alith(node):
    admin, user, inference_node = (alith_client(node, key) for key in (DEV_KEYS[0], DEV_KEYS[3], DEV_KEYS[4]))
    admin.add_inference_node(inference_node.wallet.address, "http://inference.local", "pk")
    # (alith's inference_node_list() calls NodeList(), which alith's own ABI lacks; use getNode instead)
    assert admin.get_inference_node(inference_node.wallet.address)[2] == 1  # Active
    user.add_user(2 * ETHER)
    user.deposit(ETHER)
    user.deposit_inference(inference_node.wallet.address, ETHER)
    record = user.get_user(user.wallet.address)
    assert tuple(record[1:3]) == (2 * ETHER, 3 * ETHER)
    assert inference_node.wallet.address in record[4]
    # the user signs request headers; the node validates them and settles the fee
    headers = user.get_request_headers(inference_node.wallet.address, nonce=1001)
    signature = headers["X-LazAI-Signature"]
    validate_account_and_signature(user.wallet.address, 1001, signature, INFERENCE_TYPE, client=inference_node)
    data = SettlementData(id="req-1", user=user.wallet.address, cost=10**16, nonce=1001, user_signature=signature)
    inference_node.inference_settlement_fees(data)
    account = inference_node.get_inference_account(user.wallet.address, inference_node.wallet.address)
    assert account[2] == 1001 and account[3] == ETHER - 10**16
    with pytest.raises(Exception, match="Invalid nonce"):
        validate_account_and_signature(user.wallet.address, 1001, signature, INFERENCE_TYPE, client=inference_node)
    user.retrieve_inference([inference_node.wallet.address])
    record = user.get_user(user.wallet.address)
    assert record[1] == 3 * ETHER - 10**16 and record[2] == 3 * ETHER - 10**16
    user.withdraw(ETHER)
    assert user.get_user(user.wallet.address)[1] == 2 * ETHER - 10**16


def _registry_extra_abi() -> list:
    return [{"type": "function", "name": "rewardTokenOf", "stateMutability": "view",
             "inputs": [{"name": "fileId", "type": "uint256"}], "outputs": [{"name": "", "type": "uint256"}]}]


def _start_on_alith_default_port(tmp_path, patience: float = 120.0):
    """A node on 127.0.0.1:8545, alith's fixed local-devnet URL.

    Another process of this machine may hold the port for a while (a dev node, an anvil, this test in a
    second suite): wait for it, and start again if it was taken between the check and the node's bind.
    Held all along: a skip, as before (the port is not this test's to take).
    """
    deadline = time.monotonic() + patience
    while True:
        if port_is_free(8545):
            try:
                return start_lazai_node(tmp_path, port=8545)
            except NodeStartError:
                if port_is_free(8545):
                    raise  # it failed for another reason
        if time.monotonic() > deadline:
            pytest.skip(f"port 8545 stayed busy for {patience:.0f} s; alith's local devnet URL is fixed to it")
        time.sleep(1.0)


def test_alith_local_chain_defaults_need_no_configuration(tmp_path):
    """``LAZAI_LOCAL_CHAIN=1`` plus a key is all alith needs against ``hyperion node --chain-id 133718``."""
    node = _start_on_alith_default_port(tmp_path)
    try:
        script = textwrap.dedent("""
            from alith.lazai import Client
            client = Client()
            assert client.config.chain_id == 133718
            assert client.w3.eth.chain_id == 133718
            file_id = client.add_file("ipfs://defaults-check")
            print("file", file_id, client.get_files_count(), client.nodes_count())
        """)
        env = dict(os.environ, LAZAI_LOCAL_CHAIN="1", PRIVATE_KEY=DEV_KEYS[5])
        done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("file 1 1 0")
    finally:
        assert node.stop() == 0
