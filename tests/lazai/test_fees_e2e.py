"""Issue 20 on a real ``hyperion node`` process: DAT quota for inference, fee streams, the real producer.

Before: a paid inference consumed no quota, the producer's 30 % went to 0x0
(stranded), the protocol share waited for a manual ``flush`` and was then
booked as base fees, and the split was set by an admin.
"""

from __future__ import annotations

import pytest

pytest.importorskip("web3")

from web3 import Web3  # noqa: E402

from hyperion.ai.digits import load_digits_model, sample_inputs  # noqa: E402
from hyperion.chain.genesis import ChainConfig  # noqa: E402
from hyperion.predeploys.plan import INFERENCE_GATEWAY_ADDRESS, LAZAI_CHAIN_ID, MODEL_REGISTRY_ADDRESS  # noqa: E402
from hyperion.sdk import TransactionFailed, connect  # noqa: E402
from tests.lazai.node_process import DEV_KEYS, LazaiNode  # noqa: E402

ETHER = 10**18
ETH = "0x" + "00" * 20
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fees-node")
    process = LazaiNode(["--port", "0", "--in-memory", "--chain-id", str(LAZAI_CHAIN_ID), "--silent"],
                        folder / "node.log").start()
    yield process
    assert process.stop() == 0


@pytest.fixture(scope="module")
def dev(node):
    return [connect(node.url, key) for key in DEV_KEYS]


def test_the_dev_node_produces_blocks_as_a_real_account(node):
    producer = ChainConfig()  # the node's own mnemonic; the producer is the account after the funded ones
    from hyperion.chain.hdwallet import dev_accounts

    expected = dev_accounts(producer.mnemonic, producer.dev_account_count + 1)[-1][0]
    assert bytes.fromhex(node.rpc("eth_coinbase")[2:]) == expected != b"\0" * 20
    assert bytes.fromhex(node.rpc("eth_getBlockByNumber", "latest", False)["miner"][2:]) == expected


def test_inference_consumes_quota_pays_holders_vault_and_producer(node, dev):
    owner, holder_a, holder_b, user, staker = dev[0], dev[1], dev[2], dev[3], dev[4]
    model = load_digits_model()
    registry = owner.client.contract("ModelRegistry")
    gateway = owner.client.contract("InferenceGateway")
    assert (registry.address, gateway.address) == (Web3.to_checksum_address(MODEL_REGISTRY_ADDRESS),
                                                   Web3.to_checksum_address(INFERENCE_GATEWAY_ADDRESS))
    fee = 10**15
    # the model's bytes are published on chain (ModelStore), then registered: docs/ai.md
    owner.ai.register_model(model, name="digits", inference_fee=fee)
    class_id = registry.functions.dat_class(model.content_hash).call()
    # the model owner, a minter of the model's class, issues revenue shares and a 2-call access token
    share_a = owner.dat.mint(class_id, holder_a.client.address, value=0, share_ratio=3)
    share_b = owner.dat.mint(class_id, holder_b.client.address, value=0, share_ratio=1)
    access = owner.dat.mint(class_id, user.client.address, value=2, share_ratio=0)
    image = sample_inputs(1)[0]

    # before: a paid inference with no quota at all went through; now it needs a token of the class
    with pytest.raises(TransactionFailed, match="access token of the model's DAT class is required"):
        user.client.transact(gateway.functions.infer(model.content_hash, image, 0), value=fee)
    with pytest.raises(TransactionFailed, match="approve the gateway"):
        user.client.transact(gateway.functions.infer(model.content_hash, image, access), value=fee)
    user.dat.approve_for_class(class_id, gateway.address)
    with pytest.raises(TransactionFailed, match="caller may not use this access token"):
        holder_a.client.transact(gateway.functions.infer(model.content_hash, image, access), value=fee)

    producer = node.rpc("eth_coinbase")
    vault_before = owner.staking.state().revenue_by_stream
    producer_before = owner.client.balance(producer)
    result = user.client.transact(gateway.functions.infer(model.content_hash, image, access), value=fee)
    receipt = result.receipt
    holders, protocol, producer_share = registry.functions.split(fee).call()
    assert holders > 0 and protocol > 0 and producer_share > 0
    # quota: one inference_calls unit used
    assert user.dat.token(access).value == 1
    # holders paid by share in the same transaction (no settle step)
    assert holder_a.dat.pending_revenue(share_a) == holders * 3 // 4
    assert holder_b.dat.pending_revenue(share_b) == holders // 4
    # the vault got the protocol share as the compute stream, with no flush
    assert owner.staking.state().revenue_by_stream["compute"] - vault_before["compute"] == protocol
    # the producer (the block's coinbase) got its share and the transaction's tip
    block = owner.client.w3.eth.get_block(receipt["blockNumber"])
    assert block["miner"] == Web3.to_checksum_address(producer)
    tip = receipt["gasUsed"] * (receipt["effectiveGasPrice"] - block["baseFeePerGas"])
    assert owner.client.balance(producer) - producer_before == producer_share + tip
    # the transaction fee (base fee) is the vault's transaction-fee stream, booked at the next checkpoint
    untracked = owner.staking.state().untracked_base_fees
    assert untracked >= receipt["gasUsed"] * block["baseFeePerGas"]
    staker.staking.checkpoint()
    assert owner.staking.state().revenue_by_stream["transaction-fees"] > vault_before["transaction-fees"]

    user.client.transact(gateway.functions.infer(model.content_hash, image, access), value=fee)
    assert user.dat.token(access).value == 0
    with pytest.raises(TransactionFailed, match="quota exhausted"):
        user.client.transact(gateway.functions.infer(model.content_hash, image, access), value=fee)

    # every rate is the stakers': a staker vote moves the protocol share, and the next inference uses it
    staker.staking.stake(10 * ETHER)
    staker.client.increase_time(1)
    proposal = staker.governance.propose_params({"fees.inferenceProtocolBps": 3_000})
    staker.governance.vote(proposal, True)
    staker.governance.finish(proposal)
    assert registry.functions.split(fee).call()[1] == fee * 3_000 // 10_000
