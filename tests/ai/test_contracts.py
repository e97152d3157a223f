"""The Vyper contracts on an in-process chain: registry, gateway fee split, example consumer, jobs."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.ai.engine import Runner
from hyperion.ai.model import Dense, QuantizedModel
from hyperion.primitives.keccak import keccak256
from hyperion.sdk import TransactionFailed as CallFailed

from .conftest import VAULT, WINDOW, WORKER_BOND

FEE = 10**15
HOLDERS = "0x" + "05" * 20


def vault_stream(world, stream: int) -> int:
    """Holders Mining's revenueByStream(stream) (the LazAI vault predeployed on the world's chain)."""
    return world.sdk.contract("HoldersMining").functions.revenueByStream(stream).call()


# -- registry ----------------------------------------------------------------------------------


def test_registration_records_the_model(world):
    info = world.client.model_info(world.model.content_hash)
    assert info.owner == world.address("owner") and info.holders == world.address("owner")
    assert info.dat_class_id == 0  # this deployment has no DAT contract
    assert (info.input_shape, info.output_size, info.macs) == ([64], 32, 2368)
    assert info.input_scale_q32 == world.model.input_scale_q32 and info.name == "digits"
    assert [m.model_hash for m in world.client.list_models()] == [world.model.content_hash]
    assert world.client.registry.functions.is_registered(world.model.content_hash).call()


def _tiny_model() -> QuantizedModel:
    return QuantizedModel.create((4,), [Dense(np.ones((2, 4), np.int8), np.zeros(2, np.int32),
                                              np.full(2, 1 << 30, np.int32), np.full(2, 31, np.uint8))])


def test_registration_emits_and_refuses_duplicates_unpublished_models_and_bad_shapes(world):
    register = world.client.registry.functions.register
    with pytest.raises(CallFailed, match="already registered"):
        world.client.register_model(world.model, sender=world.keys["user"])
    with pytest.raises(CallFailed, match="model bytes not published"):
        world.sdk.transact(register(b"\x02" * 32, [1, 8, 8], 40, 123, 0, 0, "cnn"), sender=world.keys["user"])
    tiny = _tiny_model()
    digest = world.client.publish_model(tiny, sender=world.keys["user"])
    with pytest.raises(CallFailed, match="zero dimension"):
        world.sdk.transact(register(digest, [4, 0], 2, 8, 0, 0, "bad"), sender=world.keys["user"])
    receipt = world.sdk.transact(register(digest, [4], 2, 8, 0, 0, "tiny"), sender=world.keys["user"])
    (name, fields), = receipt.named_events()
    assert name == "ModelRegistered" and fields["dat_class_id"] == 0 and fields["macs"] == 8
    assert len(world.client.list_models()) == 2


def test_only_the_owner_updates_a_model(world):
    h = world.model.content_hash
    with pytest.raises(CallFailed, match="not the model owner"):
        world.client.update_model(h, HOLDERS, 0, 0, sender=world.keys["user"])
    with pytest.raises(CallFailed, match="no DAT contract"):
        world.client.update_model(h, HOLDERS, 3, 0, sender=world.keys["owner"])
    world.client.update_model(h, HOLDERS, 0, 7, sender=world.keys["owner"])
    info = world.client.model_info(h)
    assert info.holders == HOLDERS and info.inference_fee == 7
    world.client.infer_paid(h, b"\x00" * 64, 1000, sender=world.keys["user"])
    assert world.client.credits(HOLDERS) == 500


# -- precompile from contracts -------------------------------------------------------------------


def test_example_contract_acts_on_the_prediction(world, digits_inputs):
    runner = Runner(world.model)
    predictions = [int.from_bytes(runner.run(x), "big") for x in digits_inputs]
    target = predictions[3]
    bounty = world.client.deploy_contract("DigitBounty", world.model.content_hash, target, value=10**18,
                                          sender=world.keys["admin"])
    before = world.sdk.balance(world.address("user"))
    # a non-matching image first: counted, not rewarded
    other = next(x for x, p in zip(digits_inputs, predictions) if p != target)
    receipt = world.sdk.transact(bounty.functions.classify(other), sender=world.keys["user"])
    assert receipt.named_events()[0][1]["rewarded"] is False
    receipt = world.sdk.transact(bounty.functions.classify(digits_inputs[3]), sender=world.keys["user"])
    (name, fields), = receipt.named_events()
    assert name == "Classified" and fields["digit"] == target and fields["rewarded"] is True
    assert bounty.functions.winner().call() == world.address("user")
    assert bounty.functions.predictions(target).call() == 1
    assert world.sdk.balance(world.address("user")) > before + 10**18 - 10**16  # reward minus gas
    assert world.sdk.balance(bounty.address) == 0
    # the return value of the call equals the plain Python inference
    for x, p in zip(digits_inputs[:10], predictions):
        assert bounty.functions.classify(x).call() == p


def test_contract_call_with_a_bad_image_reverts_cleanly(world, digits_inputs):
    bounty = world.client.deploy_contract("DigitBounty", world.model.content_hash, 1, sender=world.keys["admin"])
    with pytest.raises(CallFailed):
        world.sdk.transact(bounty.functions.classify(digits_inputs[0][:63]), sender=world.keys["user"])
    unknown = world.client.deploy_contract("DigitBounty", b"\x09" * 32, 1, sender=world.keys["admin"])
    with pytest.raises(CallFailed):
        world.sdk.transact(unknown.functions.classify(digits_inputs[0]), sender=world.keys["user"])
    # the chain goes on
    assert world.sdk.transact(bounty.functions.classify(digits_inputs[0]), sender=world.keys["user"]).receipt["status"]


# -- gateway and fee split -------------------------------------------------------------------


@pytest.mark.parametrize("amount", [FEE, 10**15 + 10_001, 3, 0])
def test_fee_split_arithmetic(world, amount):
    holders, protocol, producer = world.client.split(amount)
    assert holders == amount * 5000 // 10000 and protocol == amount * 2000 // 10000
    assert holders + protocol + producer == amount


def test_gateway_charges_runs_and_splits(world, digits_inputs):
    """Each share is paid in the inference's own transaction: no flush, no admin-set rates."""
    client, h = world.client, world.model.content_hash
    with pytest.raises(CallFailed, match="fee too low"):
        client.infer_paid(h, digits_inputs[0], FEE - 1, sender=world.keys["user"])
    with pytest.raises(CallFailed, match="unknown model"):
        client.infer_paid(b"\x03" * 32, digits_inputs[0], FEE, sender=world.keys["user"])
    paid = FEE + 10_001
    vault_before = world.sdk.balance(VAULT)
    receipt = client.infer_paid(h, digits_inputs[0], paid, sender=world.keys["user"])
    events = dict(receipt.named_events())
    assert events["InferenceServed"]["output_hash"] == keccak256(Runner(world.model).run(digits_inputs[0]))
    holders, protocol, producer = client.split(paid)
    coinbase = world.node.w3.eth.get_block(receipt.block_number)["miner"]
    assert events["ComputeFeePaid"]["producer"] == coinbase
    assert client.credits(world.address("owner")) == holders  # no DAT class: the holders' address, as a credit
    assert vault_stream(world, 1) == protocol  # deposited as the vault's compute stream
    assert world.sdk.balance(VAULT) - vault_before >= protocol  # (plus the base fees the chain routes there)
    assert client.credits(coinbase) == 0 and world.sdk.balance(coinbase) >= producer  # sent, plus tips
    before = world.sdk.balance(world.address("owner"))
    client.withdraw(sender=world.keys["owner"])
    assert client.credits(world.address("owner")) == 0
    assert world.sdk.balance(world.address("owner")) > before  # credit minus the withdrawal's gas
    with pytest.raises(CallFailed, match="nothing to withdraw"):
        client.withdraw(sender=world.keys["owner"])


def test_free_inference_by_eth_call(world, digits_inputs):
    for x in digits_inputs[:5]:
        assert world.client.infer(world.model.content_hash, x) == Runner(world.model).run(x)
    with pytest.raises(CallFailed):
        world.client.infer(world.model.content_hash, digits_inputs[0][:10])


# -- off-chain jobs -----------------------------------------------------------------------------


@pytest.fixture
def job(world, digits_inputs):
    """A posted job (fee 1e16, requester bond 1e15) with a registered worker."""
    client = world.client
    client.register_worker(sender=world.keys["worker"])
    job_id = client.post_job(world.model.content_hash, digits_inputs[5], 10**16, 10**15, sender=world.keys["requester"])
    return job_id, digits_inputs[5], Runner(world.model).run(digits_inputs[5])


def _wrong(output: bytes) -> bytes:
    return (int.from_bytes(output, "big") + 1).to_bytes(32, "big")


def test_job_finalizes_after_the_window(world, job):
    client = world.client
    job_id, _, output = job
    client.submit_result(job_id, output, WORKER_BOND, sender=world.keys["worker"])
    with pytest.raises(CallFailed, match="still open"):
        client.finalize(job_id, sender=world.keys["user"])
    world.sdk.increase_time(WINDOW)
    worker_before = world.sdk.balance(world.address("worker"))
    client.finalize(job_id, sender=world.keys["user"])
    info = client.job(job_id)
    assert info.status == "finalized" and info.result_hash == keccak256(output)
    holders, protocol, producer = client.split(10**16)
    assert client.credits(world.address("worker"), "InferenceJobs") == WORKER_BOND
    assert client.credits(world.address("requester"), "InferenceJobs") == 10**15
    # the worker produced the compute: its share is sent to it at settlement
    assert world.sdk.balance(world.address("worker")) - worker_before == producer
    assert client.credits(world.address("owner")) == holders and vault_stream(world, 1) == protocol
    names = [name for name, _ in client.job_trail(job_id)]
    assert names == ["JobPosted", "ResultSubmitted", "JobFinalized"]
    with pytest.raises(CallFailed, match="no result to challenge"):
        client.challenge(job_id, job[1], WORKER_BOND, sender=world.keys["challenger"])


def test_challenged_job_worker_loses(world, job):
    client = world.client
    job_id, x, output = job
    client.submit_result(job_id, _wrong(output), WORKER_BOND, sender=world.keys["worker"])
    receipt = client.challenge(job_id, x, WORKER_BOND, sender=world.keys["challenger"])
    resolved = dict(receipt.named_events())["ChallengeResolved"]
    assert resolved["worker_slashed"] is True and resolved["canonical_hash"] == keccak256(output)
    assert client.job(job_id).status == "slashed"
    assert client.credits(world.address("challenger"), "InferenceJobs") == 2 * WORKER_BOND
    assert client.credits(world.address("requester"), "InferenceJobs") == 10**16 + 10**15
    assert client.credits(world.address("worker"), "InferenceJobs") == 0
    before = world.sdk.balance(world.address("challenger"))
    client.withdraw("InferenceJobs", sender=world.keys["challenger"])
    assert world.sdk.balance(world.address("challenger")) > before + 2 * WORKER_BOND - 10**15
    names = [name for name, _ in client.job_trail(job_id)]
    assert names == ["JobPosted", "ResultSubmitted", "JobChallenged", "ChallengeResolved"]
    with pytest.raises(CallFailed, match="no result to finalize"):
        world.sdk.increase_time(WINDOW)
        client.finalize(job_id, sender=world.keys["user"])


def test_challenged_job_challenger_loses(world, job):
    client = world.client
    job_id, x, output = job
    client.submit_result(job_id, output, WORKER_BOND, sender=world.keys["worker"])
    worker_before = world.sdk.balance(world.address("worker"))
    receipt = client.challenge(job_id, x, WORKER_BOND, sender=world.keys["challenger"])
    assert dict(receipt.named_events())["ChallengeResolved"]["worker_slashed"] is False
    assert client.job(job_id).status == "submitted"  # still open to other challenges until the window closes
    assert client.credits(world.address("worker"), "InferenceJobs") == WORKER_BOND  # the challenger's bond
    assert client.credits(world.address("challenger"), "InferenceJobs") == 0
    world.sdk.increase_time(WINDOW)
    client.finalize(job_id)
    assert client.credits(world.address("worker"), "InferenceJobs") == 2 * WORKER_BOND  # + its own bond back
    assert world.sdk.balance(world.address("worker")) - worker_before == client.split(10**16)[2]  # sent
    names = [name for name, _ in client.job_trail(job_id)]
    assert names == ["JobPosted", "ResultSubmitted", "JobChallenged", "ChallengeResolved", "JobFinalized"]


def test_job_failure_paths(world, job, digits_inputs):
    client = world.client
    job_id, x, output = job
    with pytest.raises(CallFailed, match="not a registered worker"):
        client.submit_result(job_id, output, WORKER_BOND, sender=world.keys["user"])
    with pytest.raises(CallFailed, match="bond too small"):
        client.submit_result(job_id, output, WORKER_BOND - 1, sender=world.keys["worker"])
    with pytest.raises(CallFailed, match="does not match commitment"):
        world.sdk.transact(client.jobs.functions.submit_result(job_id, b"\x00" * 32, b"\x00" * 32, output),
                           value=WORKER_BOND, sender=world.keys["worker"])
    client.submit_result(job_id, _wrong(output), WORKER_BOND, sender=world.keys["worker"])
    with pytest.raises(CallFailed, match="job not open"):
        client.submit_result(job_id, output, WORKER_BOND, sender=world.keys["worker"])
    with pytest.raises(CallFailed, match="bond below"):
        client.challenge(job_id, x, WORKER_BOND - 1, sender=world.keys["challenger"])
    with pytest.raises(CallFailed, match="input does not match"):
        client.challenge(job_id, digits_inputs[6], WORKER_BOND, sender=world.keys["challenger"])
    world.sdk.increase_time(WINDOW)
    with pytest.raises(CallFailed, match="window closed"):
        client.challenge(job_id, x, WORKER_BOND, sender=world.keys["challenger"])
    client.finalize(job_id, sender=world.keys["user"])  # the wrong result stands: nobody challenged in time
    assert client.job(job_id).status == "finalized"


def test_unregistered_model_jobs_cannot_be_challenged_and_pay_the_worker(world):
    client = world.client
    client.register_worker(sender=world.keys["worker"])
    job_id = client.post_job(b"\x0b" * 32, b"big input", 10**16, sender=world.keys["requester"])
    client.submit_result(job_id, b"claimed", WORKER_BOND, sender=world.keys["worker"], publish_output=False)
    with pytest.raises(CallFailed, match="no deterministic path"):
        client.challenge(job_id, b"big input", WORKER_BOND, sender=world.keys["challenger"])
    world.sdk.increase_time(WINDOW)
    client.finalize(job_id, sender=world.keys["user"])
    assert client.credits(world.address("worker"), "InferenceJobs") == WORKER_BOND + 10**16


def test_challenge_with_an_input_the_model_rejects_reverts(world):
    client = world.client
    client.register_worker(sender=world.keys["worker"])
    bad_input = b"\x01" * 10  # wrong size for the digits model
    job_id = client.post_job(world.model.content_hash, bad_input, 0, sender=world.keys["requester"])
    client.submit_result(job_id, b"anything", WORKER_BOND, sender=world.keys["worker"])
    with pytest.raises(CallFailed):
        client.challenge(job_id, bad_input, WORKER_BOND, sender=world.keys["challenger"])
    assert client.job(job_id).status == "submitted"


def test_cancel_open_job(world, job):
    client = world.client
    job_id = job[0]
    with pytest.raises(CallFailed, match="not the requester"):
        client.cancel_job(job_id, sender=world.keys["user"])
    client.cancel_job(job_id, sender=world.keys["requester"])
    assert client.job(job_id).status == "cancelled"
    assert client.credits(world.address("requester"), "InferenceJobs") == 10**16 + 10**15


def test_a_public_job_puts_its_input_on_chain(world, digits_inputs):
    client = world.client
    job_id = client.post_public_job(world.model.content_hash, digits_inputs[7], 10, sender=world.keys["requester"])
    trail = dict(client.job_trail(job_id))
    assert trail["JobInput"]["input"] == digits_inputs[7]
    assert client.job(job_id).input_hash == keccak256(digits_inputs[7])
