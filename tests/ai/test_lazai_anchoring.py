"""Registration anchors a model as a LazAI DAT class; inference uses its quota and pays its holders by share.

Runs on an in-process chain holding the LazAI predeploys (DAT, Holders Mining, ProtocolGovernor), with the
AI contracts deployed on top of them.
"""

from __future__ import annotations

import pytest

from hyperion.predeploys.plan import DAT_ADDRESS
from hyperion.sdk import AIClient, HyperionClient, TransactionFailed
from hyperion.sdk.inprocess import InProcessNode

from .conftest import GOVERNOR, VAULT, address_of_key, dev_key

ETH = "0x" + "00" * 20


@pytest.fixture
def anchored(digits_model):
    keys = {n: dev_key(f"lazai/{n}") for n in ("admin", "owner", "user", "holder_a", "holder_b")}
    node = InProcessNode(funded={address_of_key(k): 10**24 for k in keys.values()})
    try:
        sdk = HyperionClient(web3=node.w3, private_key=keys["admin"])
        client = AIClient.deploy(sdk, VAULT, GOVERNOR, dat=DAT_ADDRESS)
        client.register_model(digits_model, name="digits", inference_fee=10**15, sender=keys["owner"])
        yield client, keys, sdk.contract("DAT")
    finally:
        node.close()


def _access_token(client: AIClient, keys: dict, dat, class_id: int, quota: int) -> int:
    """The owner (a class minter) sells `quota` calls to the user; the user lets the gateway meter them."""
    sdk = client.client
    sdk.transact(dat.functions.mint(class_id, address_of_key(keys["user"]), quota, 0, 0), sender=keys["owner"])
    token = dat.functions.tokenCount().call()
    sdk.transact(dat.functions.approveForClass(class_id, client.gateway.address, True), sender=keys["user"])
    return token


def test_registration_creates_a_dat_class_the_owner_can_mint(anchored, digits_model, digits_inputs):
    client, keys, dat = anchored
    sdk = client.client
    info = client.model_info(digits_model.content_hash)
    assert info.dat_class_id == 2  # class 1 is the seed class of LazAI data contributions
    uri, integrity, _, _ = dat.functions.getClassMeta(info.dat_class_id).call()
    assert integrity == digits_model.content_hash and uri == "hyperion-model:digits"
    # the owner was offered the class's management; it may take it (and hand it to an iDAO later)
    sdk.transact(dat.functions.acceptClassManagement(info.dat_class_id), sender=keys["owner"])
    assert dat.functions.classCreator(info.dat_class_id).call() == address_of_key(keys["owner"])

    # the model owner mints holder tokens: shares 3 and 1
    for holder, share in (("holder_a", 3), ("holder_b", 1)):
        sdk.transact(dat.functions.mint(info.dat_class_id, address_of_key(keys[holder]), 0, share, 0),
                     sender=keys["owner"])
    token = _access_token(client, keys, dat, info.dat_class_id, quota=1)

    fee = 4 * 10**15
    with pytest.raises(TransactionFailed, match="access token"):
        client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"])
    receipt = client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"],
                                access_token=token)
    holders_share, _protocol, _producer = client.split(fee)
    assert ("HoldersRevenueSettled", {"model_hash": digits_model.content_hash, "dat_class_id": info.dat_class_id,
                                      "amount": holders_share}) in receipt.named_events()
    assert dat.functions.pendingRevenue(1, ETH).call() == holders_share * 3 // 4
    assert dat.functions.pendingRevenue(2, ETH).call() == holders_share // 4
    assert dat.functions.valueOf(token).call() == 0
    with pytest.raises(TransactionFailed, match="quota exhausted"):
        client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"], access_token=token)
    with pytest.raises(TransactionFailed, match="nothing to settle"):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])


def test_revenue_before_any_holder_exists_waits_and_settles_later(anchored, digits_model, digits_inputs):
    client, keys, dat = anchored
    class_id = client.model_info(digits_model.content_hash).dat_class_id
    token = _access_token(client, keys, dat, class_id, quota=5)
    client.infer_paid(digits_model.content_hash, digits_inputs[0], 10**15, sender=keys["user"], access_token=token)
    waiting = client.registry.functions.holders_revenue(digits_model.content_hash).call()
    assert waiting == client.split(10**15)[0]
    with pytest.raises(TransactionFailed):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])  # the class has no shares yet
    client.client.transact(dat.functions.mint(class_id, address_of_key(keys["holder_a"]), 0, 1, 0),
                           sender=keys["owner"])
    client.settle_holders(digits_model.content_hash, sender=keys["user"])
    assert dat.functions.pendingRevenue(dat.functions.tokenCount().call(), ETH).call() == waiting
