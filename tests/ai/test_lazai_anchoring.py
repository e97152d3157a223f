"""Registration anchors a model as a LazAI DAT class, and compute fees reach the class's holders.

Uses the compiled LazAI DAT contract through its public functions
createClass / setClassMinter / mint / settleRevenueETH / claim / pendingRevenue.
"""

from __future__ import annotations

import pytest

from hyperion.artifacts import load_artifact
from hyperion.sdk import AIClient, HyperionClient, TransactionFailed
from hyperion.sdk.inprocess import InProcessNode

from .conftest import address_of_key, dev_key

ETH = "0x" + "00" * 20
VAULT = "0x" + "77" * 20


@pytest.fixture
def anchored(digits_model):
    keys = {n: dev_key(f"lazai/{n}") for n in ("admin", "owner", "user", "holder_a", "holder_b")}
    node = InProcessNode(funded={address_of_key(k): 10**24 for k in keys.values()})
    try:
        sdk = HyperionClient(web3=node.w3, private_key=keys["admin"])
        artifact = load_artifact("DAT")
        admin = address_of_key(keys["admin"])
        dat = sdk.deploy(artifact["abi"], artifact["bytecode"], admin, admin, "ipfs://seed", "")
        client = AIClient.deploy(sdk, VAULT, dat=dat.address)
        client.register_model(digits_model, name="digits", inference_fee=10**15, sender=keys["owner"])
        yield node, client, keys, dat
    finally:
        node.close()


def test_registration_creates_a_dat_class_the_owner_can_mint(anchored, digits_model, digits_inputs):
    node, client, keys, dat = anchored
    sdk = client.client
    info = client.model_info(digits_model.content_hash)
    assert info.dat_class_id == 2  # class 1 is the seed class of LazAI data contributions
    uri, integrity, _, _ = dat.functions.getClassMeta(info.dat_class_id).call()
    assert integrity == digits_model.content_hash and uri == "hyperion-model:digits"

    # the model owner mints holder tokens: shares 3 and 1
    for holder, share in (("holder_a", 3), ("holder_b", 1)):
        sdk.transact(dat.functions.mint(info.dat_class_id, address_of_key(keys[holder]), 1, share, 0),
                     sender=keys["owner"])

    fee = 4 * 10**15
    receipt = client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"])
    holders_share, protocol_share, producer_share = client.split(fee)
    assert client.registry.functions.holders_revenue(digits_model.content_hash).call() == holders_share
    producer = node.w3.eth.get_block(receipt.block_number)["miner"]
    assert client.credits(VAULT) == protocol_share and client.credits(producer) == producer_share
    receipt = client.settle_holders(digits_model.content_hash, sender=keys["user"])
    assert ("HoldersRevenueSettled", {"model_hash": digits_model.content_hash, "dat_class_id": info.dat_class_id,
                                      "amount": holders_share}) in receipt.named_events()
    assert dat.functions.pendingRevenue(1, ETH).call() == holders_share * 3 // 4
    assert dat.functions.pendingRevenue(2, ETH).call() == holders_share // 4
    with pytest.raises(TransactionFailed, match="nothing to settle"):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])


def test_settling_before_any_holder_exists_keeps_the_revenue(anchored, digits_model, digits_inputs):
    _node, client, keys, _dat = anchored
    client.infer_paid(digits_model.content_hash, digits_inputs[0], 10**15, sender=keys["user"])
    with pytest.raises(TransactionFailed):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])  # the class has no shares yet
    assert client.registry.functions.holders_revenue(digits_model.content_hash).call() == client.split(10**15)[0]
