"""Registration anchors a model as a LazAI DAT class, and compute fees reach the class's holders.

Uses the LazAI engineer's compiled DAT contract (hyperion/lazai/artifacts/DAT.json) through its
public functions createClass / setClassMinter / mint / settleRevenueETH / claim / pendingRevenue.
"""

from __future__ import annotations

import pytest

from hyperion.ai.abi import ContractABI
from hyperion.ai.backends import CallFailed, InProcessBackend, address_of_key, dev_key
from hyperion.ai.sdk import AIClient

lazai = pytest.importorskip("hyperion.artifacts")

ETH = b"\x00" * 20
VAULT = b"\x77" * 20


@pytest.fixture
def anchored(digits_model):
    try:
        artifact = lazai.load_artifact("DAT")
    except lazai.ArtifactError as exc:
        pytest.skip(f"LazAI DAT artifact unavailable: {exc}")
    keys = {n: dev_key(f"lazai/{n}") for n in ("admin", "owner", "user", "holder_a", "holder_b")}
    backend = InProcessBackend(funded={address_of_key(k): 10**24 for k in keys.values()})
    dat_abi = ContractABI(artifact["abi"])
    deploy = backend.send(keys["admin"], None, artifact["bytecode"] + dat_abi.encode_constructor(
        address_of_key(keys["admin"]), address_of_key(keys["admin"]), "ipfs://seed", ""), gas=8_000_000)
    assert deploy.success
    dat = deploy.contract_address
    client = AIClient.deploy(backend, keys["admin"], VAULT, dat=dat)
    client.register_model(digits_model, name="digits", inference_fee=10**15, sender=keys["owner"])
    return backend, client, keys, dat, dat_abi


def _dat_call(backend, dat, abi, name, *args):
    return abi.decode_result(name, backend.call(dat, abi.encode_call(name, *args)))


def test_registration_creates_a_dat_class_the_owner_can_mint(anchored, digits_model, digits_inputs):
    backend, client, keys, dat, abi = anchored
    info = client.model_info(digits_model.content_hash)
    assert info.dat_class_id == 2  # class 1 is the seed class of LazAI data contributions
    uri, integrity, _, _ = _dat_call(backend, dat, abi, "getClassMeta", info.dat_class_id)
    assert integrity == digits_model.content_hash and uri == "hyperion-model:digits"

    # the model owner mints holder tokens: shares 3 and 1
    for holder, share in (("holder_a", 3), ("holder_b", 1)):
        mint = abi.encode_call("mint", info.dat_class_id, address_of_key(keys[holder]), 1, share, 0)
        assert backend.send(keys["owner"], dat, mint).success

    fee = 4 * 10**15
    client.infer_paid(digits_model.content_hash, digits_inputs[0], fee, sender=keys["user"])
    holders_share, protocol_share, producer_share = client.split(fee)
    assert client.read("ModelRegistry", client.deployment.registry, "holders_revenue",
                       digits_model.content_hash) == holders_share
    assert client.credits(VAULT) == protocol_share and client.credits(backend.env.coinbase) == producer_share
    receipt = client.settle_holders(digits_model.content_hash, sender=keys["user"])
    assert ("HoldersRevenueSettled", {"model_hash": digits_model.content_hash, "dat_class_id": info.dat_class_id,
                                      "amount": holders_share}) in client.events(receipt)
    assert _dat_call(backend, dat, abi, "pendingRevenue", 1, ETH) == holders_share * 3 // 4
    assert _dat_call(backend, dat, abi, "pendingRevenue", 2, ETH) == holders_share // 4
    with pytest.raises(CallFailed, match="nothing to settle"):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])


def test_settling_before_any_holder_exists_keeps_the_revenue(anchored, digits_model, digits_inputs):
    backend, client, keys, dat, abi = anchored
    client.infer_paid(digits_model.content_hash, digits_inputs[0], 10**15, sender=keys["user"])
    with pytest.raises(CallFailed):
        client.settle_holders(digits_model.content_hash, sender=keys["user"])  # the class has no shares yet
    assert client.read("ModelRegistry", client.deployment.registry, "holders_revenue",
                       digits_model.content_hash) == client.split(10**15)[0]
