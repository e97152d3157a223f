"""Disputes over job results on a real in-process chain, played by the watcher and worker agents.

The model is a two-layer 64-channel conv tower (38M MACs): its second layer is
cut into 5 row chunks, so a dispute bisects over the layers, then over that
layer's chunk tree, and ends with one chunk re-executed by the layer-step
precompile.
"""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.ai.disputes import (
    PHASE_ANSWER,
    PHASE_CHILDREN,
    PHASE_LAYER,
    PHASE_MIDPOINT,
    PHASE_PICK,
    PHASE_STEP,
    DisputeState,
    challenger_move,
    worker_move,
)
from hyperion.agents.follower import STATUS_FINALIZED, STATUS_SLASHED, STATUS_SUBMITTED
from hyperion.agents.watcher import Watcher
from hyperion.agents.worker import Worker
from hyperion.ai.model import Conv2D, Flatten, Kind, Pool2D, QuantizedModel
from hyperion.ai.synthetic import conv_tower, trace_with_fault, wrong_result_trace
from hyperion.ai.trace import ZERO_WORD, DisputePlan, Trace, merkle_levels, merkle_root, state_hash
from hyperion.predeploys.plan import (
    CHALLENGE_WINDOW,
    INFERENCE_JOBS_ADDRESS,
    MODEL_REGISTRY_ADDRESS,
    MOVE_WINDOW,
    WORKER_BOND,
)
from hyperion.primitives.keccak import keccak256
from hyperion.sdk import AIClient, TransactionFailed

from .devchain import DevChain

REQUESTER, WORKER, WATCHER, BOGUS = 3, 1, 2, 4


@pytest.fixture(scope="module")
def tower():
    return conv_tower(channels=64, size=32, layers=2, seed=3)


@pytest.fixture(scope="module")
def chain(tower, digits_model):
    chain = DevChain()
    signer = chain.signer(0)
    registry = signer.artifact_contract("ModelRegistry", MODEL_REGISTRY_ADDRESS)
    for model, name in ((tower, "tower"), (digits_model, "digits")):
        AIClient(signer).publish_model(model)
        signer.transact(registry.functions.register(model.content_hash, list(model.input_shape), model.output_size,
                                                    model.macs, 0, 0, name))
    yield chain
    chain.close()


@pytest.fixture(scope="module")
def plan(tower):
    return DisputePlan(tower)


def _jobs(chain):
    return chain.contract("InferenceJobs", INFERENCE_JOBS_ADDRESS)


def _agents(chain, compute=None):
    worker = Worker(chain.signer(WORKER), INFERENCE_JOBS_ADDRESS, from_block=chain.w3.eth.block_number + 1,
                    **({"compute": compute} if compute else {}))
    watcher = Watcher(chain.signer(WATCHER), INFERENCE_JOBS_ADDRESS, from_block=chain.w3.eth.block_number + 1,
                      direct_gas=0)
    return worker, watcher


def _post(chain, model, data: bytes) -> int:
    jobs = _jobs(chain)
    result = chain.signer(REQUESTER).transact(jobs.functions.post_job_with_input(model.content_hash, data, 1000),
                                              value=1000 + 10**15)
    return result.event("JobPosted")["job_id"]


def _job(chain, job_id: int) -> dict:
    from hyperion.agents.follower import JOB_FIELDS

    return dict(zip(JOB_FIELDS, _jobs(chain).functions.jobs(job_id).call()))


def _input(seed: int) -> bytes:
    return np.random.default_rng(seed).integers(-100, 101, 1024).astype(np.int8).tobytes()


def _open(chain, job_id: int, challenger: int) -> int:
    jobs = _jobs(chain)
    result = chain.signer(challenger).transact(jobs.functions.open_dispute(job_id), value=WORKER_BOND)
    return result.event("DisputeOpened")["dispute_id"]


def _challenge_by_hand(chain, dispute_id: int, worker: Worker, believed: Trace, challenger: int) -> DisputeState:
    """Play the challenger's side from ``believed`` while the worker agent answers; returns the last state.

    A step the chain refuses (the challenger was wrong) is left to time out."""
    jobs, signer = _jobs(chain), chain.signer(challenger)
    for _ in range(60):
        worker.tick()
        state = DisputeState.from_tuple(jobs.functions.disputes(dispute_id).call())
        if not state.open:
            return state
        move = challenger_move(state, believed)
        if move is not None:
            try:
                signer.transact(getattr(jobs.functions, move[0])(dispute_id, *move[1]))
            except TransactionFailed as exc:
                assert move[0] == "step", exc
                chain.advance(MOVE_WINDOW + 1)
    raise AssertionError("the dispute did not end")


def _play(agents, until, rounds: int = 200) -> None:
    for _ in range(rounds):
        for agent in agents:
            agent.tick()
        if until():
            return
    raise AssertionError("the agents did not finish")


def test_a_wrong_result_is_slashed_through_bisection_by_the_watcher(chain, tower, plan):
    data = _input(1)
    lying = wrong_result_trace(plan, data, 2)
    worker, watcher = _agents(chain, compute=lambda model, x: lying)
    job_id = _post(chain, tower, data)
    worker_balance = chain.w3.eth.get_balance(chain.address(WATCHER))
    _play([worker, watcher], lambda: _job(chain, job_id)["status"] == STATUS_SLASHED and not watcher.disputes)
    job = _job(chain, job_id)
    assert job["challenger"] == chain.address(WATCHER) and job["open_disputes"] == 0
    text = "\n".join(watcher.decisions)
    assert f"job {job_id}: result" in text and "is wrong" in text and "opened dispute" in text
    assert "re-executing chunk" in text and "won, the worker is slashed" in text and "withdrew" in text
    assert watcher.stats.disputes_won == 1
    assert chain.w3.eth.get_balance(chain.address(WATCHER)) > worker_balance  # bond back + the worker's
    worker.tick()
    assert any("lost, the bond is slashed" in d for d in worker.decisions)
    with pytest.raises(TransactionFailed, match="no result to finalize"):
        chain.signer(0).transact(_jobs(chain).functions.finalize(job_id))


def test_a_wrong_output_over_a_right_last_layer_is_caught_at_the_output_step(chain, tower, plan):
    data = _input(7)
    lying = wrong_result_trace(plan, data, plan.layer_count)  # every layer right, the claimed output not
    assert lying.tensors[-2] == Trace.compute(plan, data).tensors[-2]
    worker, watcher = _agents(chain, compute=lambda model, x: lying)
    job_id = _post(chain, tower, data)
    _play([worker, watcher], lambda: _job(chain, job_id)["status"] == STATUS_SLASHED and not watcher.disputes)
    assert any(f"layer {plan.layer_count} on chain" in d for d in watcher.decisions)


def test_an_honest_worker_defeats_a_bogus_challenger(chain, tower, plan):
    data = _input(2)
    worker, _ = _agents(chain)
    job_id = _post(chain, tower, data)
    worker.tick()
    assert _job(chain, job_id)["status"] == STATUS_SUBMITTED
    jobs = _jobs(chain)
    dispute_id = _open(chain, job_id, BOGUS)
    believed = trace_with_fault(plan, data, 1)  # the challenger's own (wrong) computation
    _challenge_by_hand(chain, dispute_id, worker, believed, BOGUS)  # its step fails on chain, then times out
    won, reason = worker.dispute_outcome(dispute_id)
    assert won is False and _job(chain, job_id)["status"] == STATUS_SUBMITTED
    assert jobs.functions.credits(chain.address(WORKER)).call() == 0  # the worker withdrew it already
    chain.advance(CHALLENGE_WINDOW)
    worker.tick()
    assert _job(chain, job_id)["status"] == STATUS_FINALIZED
    assert any(f"job {job_id}: finalized" in d for d in worker.decisions)


def test_a_worker_that_stops_answering_loses_by_timeout(chain, tower):
    data = _input(3)
    worker, watcher = _agents(chain, compute=lambda model, x: wrong_result_trace(DisputePlan(model.model), x, 1))
    job_id = _post(chain, tower, data)
    worker.tick()
    watcher.tick()  # opens the dispute; the worker never moves again
    assert len(watcher.disputes) == 1
    watcher.tick()
    assert _job(chain, job_id)["status"] == STATUS_SUBMITTED  # the deadline has not passed yet
    chain.advance(MOVE_WINDOW + 1)
    watcher.tick()
    assert _job(chain, job_id)["status"] == STATUS_SLASHED
    assert any("missed its midpoint deadline" in d for d in watcher.decisions)


def test_moves_out_of_turn_wrong_proofs_and_wrong_states_are_refused(chain, tower, plan):
    data = _input(4)
    lying = wrong_result_trace(plan, data, 2)
    worker, watcher = _agents(chain, compute=lambda model, x: lying)
    job_id = _post(chain, tower, data)
    worker.tick()
    jobs = _jobs(chain)
    dispute_id = _open(chain, job_id, WATCHER)
    honest = Trace.compute(plan, data)
    state = DisputeState.from_tuple(jobs.functions.disputes(dispute_id).call())
    assert state.phase == PHASE_MIDPOINT and (state.lo, state.hi) == (0, plan.layer_count)
    with pytest.raises(TransactionFailed, match="not waiting for an answer"):
        chain.signer(WATCHER).transact(jobs.functions.answer_midpoint(dispute_id, True))
    with pytest.raises(TransactionFailed, match="not in the submitted trace"):  # the honest state, not the worker's
        chain.signer(WORKER).transact(jobs.functions.reveal_midpoint(dispute_id, honest.states[state.mid] if
                                                                     honest.states[state.mid] != lying.states[
                                                                         state.mid] else ZERO_WORD,
                                                                     lying.state_proof(state.mid)))
    with pytest.raises(TransactionFailed, match="wrong proof length"):
        chain.signer(WORKER).transact(jobs.functions.reveal_midpoint(dispute_id, lying.states[state.mid], []))
    name, args = worker_move(state, lying)
    chain.signer(WORKER).transact(getattr(jobs.functions, name)(dispute_id, *args))
    with pytest.raises(TransactionFailed, match="not the challenger"):
        chain.signer(BOGUS).transact(jobs.functions.answer_midpoint(dispute_id, True))
    # play on to the step, then send the wrong tensors
    while True:
        state = DisputeState.from_tuple(jobs.functions.disputes(dispute_id).call())
        if state.phase == PHASE_STEP:
            break
        if state.phase in (PHASE_MIDPOINT, PHASE_LAYER, PHASE_CHILDREN):
            name, args = worker_move(state, lying)
            chain.signer(WORKER).transact(getattr(jobs.functions, name)(dispute_id, *args))
        else:
            assert state.phase in (PHASE_ANSWER, PHASE_PICK)
            name, args = challenger_move(state, honest)
            chain.signer(WATCHER).transact(getattr(jobs.functions, name)(dispute_id, *args))
    assert state.hi == 2 and state.chunks == plan.tensors[2].chunks == 5
    wrong_state = bytearray(honest.step_state(2))
    wrong_state[0] ^= 1
    with pytest.raises(TransactionFailed, match="not the agreed state"):
        chain.signer(BOGUS).transact(jobs.functions.step(dispute_id, bytes(wrong_state)), gas=12_000_000)
    with pytest.raises(TransactionFailed, match="a dispute is open"):
        chain.advance(CHALLENGE_WINDOW)
        chain.signer(0).transact(jobs.functions.finalize(job_id))
    chain.signer(BOGUS).transact(jobs.functions.timeout(dispute_id))  # the challenger let the step deadline pass
    assert worker.dispute_outcome(dispute_id) == (False, "timeout")


def test_a_nonzero_padding_leaf_in_a_chunk_tree_loses(chain, tower, plan):
    """Layer 2 has 5 chunks in a tree of 8 leaves; a worker that commits to a non-zero 6th leaf is caught.

    Its layer-2 chunks are right but for the extra leaf, and its later layers are wrong, so the bisection
    over the layers ends at layer 2 and the chunk tree descent at the padding leaf.
    """
    data = _input(5)
    honest = Trace.compute(plan, data)
    lying = wrong_result_trace(plan, data, 3)
    assert lying.chunk_hashes[2] == honest.chunk_hashes[2]
    lying.chunk_hashes[2] = honest.chunk_hashes[2] + [b"\x42" * 32]
    lying.tensor_hashes[2] = merkle_root(lying.chunk_hashes[2])
    lying.states[2] = state_hash(lying.carries[2], lying.tensor_hashes[2])
    lying._levels = merkle_levels(lying.states)
    worker, _ = _agents(chain, compute=lambda model, x: lying)
    job_id = _post(chain, tower, data)
    worker.tick()
    dispute_id = _open(chain, job_id, WATCHER)
    state = _challenge_by_hand(chain, dispute_id, worker, honest, WATCHER)
    assert worker.dispute_outcome(dispute_id) == (True, "padding leaf")
    assert state.hi == 2 and state.node_index == 5
    assert _job(chain, job_id)["status"] == STATUS_SLASHED


def test_two_disputes_on_one_job_the_second_is_refunded_once_the_first_wins(chain, tower, plan):
    data = _input(6)
    lying = wrong_result_trace(plan, data, 2)
    worker, watcher = _agents(chain, compute=lambda model, x: lying)
    job_id = _post(chain, tower, data)
    worker.tick()
    jobs = _jobs(chain)
    bogus = chain.signer(BOGUS)
    idle = _open(chain, job_id, BOGUS)  # a second challenger, which never moves
    _play([worker, watcher], lambda: _job(chain, job_id)["status"] == STATUS_SLASHED)
    assert _job(chain, job_id)["open_disputes"] == 1
    bogus.transact(jobs.functions.close_dispute(idle))
    assert worker.dispute_outcome(idle) == (True, "moot")
    assert jobs.functions.credits(bogus.address).call() == WORKER_BOND  # its bond back, nothing more


def test_small_models_are_challenged_by_whole_re_execution(chain, digits_model, digits_inputs):
    jobs = _jobs(chain)
    worker = Worker(chain.signer(WORKER), INFERENCE_JOBS_ADDRESS, from_block=chain.w3.eth.block_number + 1,
                    compute=lambda model, x: wrong_result_trace(model.plan, x, 2))
    watcher = Watcher(chain.signer(WATCHER), INFERENCE_JOBS_ADDRESS, from_block=chain.w3.eth.block_number + 1)
    job_id = _post(chain, digits_model, digits_inputs[0])
    private = jobs.functions.post_job(digits_model.content_hash, keccak256(digits_inputs[1]), 1000)
    chain.signer(REQUESTER).transact(private, value=1000)
    worker.tick()
    watcher.tick()
    assert _job(chain, job_id)["status"] == STATUS_SLASHED
    assert any("re-executing it whole on chain" in d for d in watcher.decisions)
    assert not watcher.disputes


def test_a_model_that_cannot_be_bisected_is_refused_a_dispute(chain):
    """Its first layer's output (409,600 bytes) is more state than a step can carry in calldata."""
    rng = np.random.default_rng(0)
    wide = QuantizedModel.create((1, 160, 160), [
        Conv2D(rng.integers(-5, 6, (16, 1, 3, 3)).astype(np.int8), np.zeros(16, np.int32),
               np.full(16, 1 << 30, np.int32), np.full(16, 33, np.uint8), pads=(1, 1, 1, 1)),
        Pool2D(Kind.MAXPOOL, (160, 160), (160, 160)), Flatten()])
    assert any("state" in problem for problem in DisputePlan(wide).problems)
    signer = chain.signer(0)
    AIClient(signer).publish_model(wide)
    registry = signer.artifact_contract("ModelRegistry", MODEL_REGISTRY_ADDRESS)
    signer.transact(registry.functions.register(wide.content_hash, list(wide.input_shape), wide.output_size,
                                                wide.macs, 0, 0, "wide"))
    jobs = _jobs(chain)
    job_id = chain.signer(REQUESTER).transact(jobs.functions.post_job(wide.content_hash, b"\x01" * 32, 0)).event(
        "JobPosted")["job_id"]
    worker = chain.signer(WORKER)
    worker.transact(jobs.functions.register_worker())
    worker.transact(jobs.functions.submit_result(job_id, b"\x02" * 32, b"\x03" * 32, b""), value=WORKER_BOND)
    with pytest.raises(TransactionFailed, match="cannot be disputed step by step"):
        _open(chain, job_id, WATCHER)
