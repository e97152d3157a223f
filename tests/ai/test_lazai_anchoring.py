"""Registration anchors a model as a LazAI DAT class; inference uses its quota and pays its holders by share.

Runs on an in-process chain holding the LazAI predeploys (DAT, Holders Mining, ProtocolGovernor), with the
AI contracts deployed on top of them.
"""

from __future__ import annotations

import pytest

from hyperion.ai.abi import ContractABI
from hyperion.ai.backends import CallFailed, address_of_key, dev_key
from hyperion.ai.sdk import AIClient
from hyperion.artifacts import load_artifact as load_lazai_artifact
from hyperion.predeploys.plan import DAT_ADDRESS

from .conftest import GOVERNOR, VAULT, lazai_backend

ETH = b"\x00" * 20


@pytest.fixture
def anchored(digits_model):
    keys = {n: dev_key(f"lazai/{n}") for n in ("admin", "owner", "user", "holder_a", "holder_b")}
    backend = lazai_backend(keys)
    client = AIClient.deploy(backend, keys["admin"], VAULT, GOVERNOR, dat=DAT_ADDRESS)
    client.register_model(digits_model, name="digits", inference_fee=10**15, sender=keys["owner"])
    return backend, client, keys, DAT_ADDRESS, ContractABI(load_lazai_artifact("DAT")["abi"])


def _dat_call(backend, dat, abi, name, *args):
    return abi.decode_result(name, backend.call(dat, abi.encode_call(name, *args)))


def _access_token(backend, client, keys, dat, abi, class_id: int, quota: int) -> int:
    """The owner (a class minter) sells `quota` calls to the user; the user lets the gateway meter them."""
    assert backend.send(keys["owner"], dat, abi.encode_call("mint", class_id, address_of_key(keys["user"]), quota,
                                                            0, 0)).success
    token = _dat_call(backend, dat, abi, "tokenCount")
    assert backend.send(keys["user"], dat, abi.encode_call("approveForClass", class_id,
                                                           client.deployment.gateway, True)).success
    return token


def test_registration_creates_a_dat_class_the_owner_can_mint(anchored, digits_model, digits_inputs):
    backend, client, keys, dat, abi = anchored
    info = client.model_info(digits_model.content_hash)
    assert info.dat_class_id == 2  # class 1 is the seed class of LazAI data contributions
    uri, integrity, _, _ = _dat_call(backend, dat, abi, "getClassMeta", info.dat_class_id)
    assert integrity == digits_model.content_hash and uri == "hyperion-model:digits"
    # the owner was offered the class's management; it may take it (and hand it to an iDAO later)
    assert backend.send(keys["owner"], dat, abi.encode_call("acceptClassManagement", info.dat_class_id)).success
    assert _dat_call(backend, dat, abi, "classCreator", info.dat_class_id) == address_of_key(keys["owner"])

    # the model owner mints holder tokens: shares 3 and 1
    for holder, share in (("holder_a", 3), ("holder_b", 1)):
        mint = abi.encode_call("mint", info.dat_class_id, address_of_key(keys[holder]), 0, share, 0)
        assert backend.send(keys["owner"], dat, mint).success
    token = _access_token(backend, client, keys, dat, abi, info.dat_class_id, quota=1)

    fee = 4 * 10**15
    with pytest.raises(CallFailed, match="access token"):
        client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"])
    receipt = client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"],
                                access_token=token)
    holders_share, _protocol, _producer = client.split(fee)
    assert ("HoldersRevenueSettled", {"model_hash": digits_model.content_hash, "dat_class_id": info.dat_class_id,
                                      "amount": holders_share}) in client.events(receipt)
    assert _dat_call(backend, dat, abi, "pendingRevenue", 1, ETH) == holders_share * 3 // 4
    assert _dat_call(backend, dat, abi, "pendingRevenue", 2, ETH) == holders_share // 4
    assert _dat_call(backend, dat, abi, "valueOf", token) == 0
    with pytest.raises(CallFailed, match="quota exhausted"):
        client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"], access_token=token)
    with pytest.raises(CallFailed, match="nothing to settle"):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])


def test_revenue_before_any_holder_exists_waits_and_settles_later(anchored, digits_model, digits_inputs):
    backend, client, keys, dat, abi = anchored
    class_id = client.model_info(digits_model.content_hash).dat_class_id
    token = _access_token(backend, client, keys, dat, abi, class_id, quota=5)
    client.infer_paid(digits_model.content_hash, digits_inputs[0], 10**15, sender=keys["user"], access_token=token)
    waiting = client.read("ModelRegistry", client.deployment.registry, "holders_revenue", digits_model.content_hash)
    assert waiting == client.split(10**15)[0]
    with pytest.raises(CallFailed):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])  # the class has no shares yet
    assert backend.send(keys["owner"], dat, abi.encode_call("mint", class_id, address_of_key(keys["holder_a"]), 0,
                                                            1, 0)).success
    client.settle_holders(digits_model.content_hash, sender=keys["user"])
    assert _dat_call(backend, dat, abi, "pendingRevenue", _dat_call(backend, dat, abi, "tokenCount"), ETH) == waiting
