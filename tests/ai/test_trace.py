"""The verification trace: Merkle commitments, state hashes, and single-step re-execution."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.ai.engine import Runner
from hyperion.ai.errors import InferenceError
from hyperion.ai.model import Conv2D, Dense, Flatten, QuantizedModel
from hyperion.ai.trace import (
    ZERO_WORD,
    DisputePlan,
    Trace,
    final_state,
    initial_state,
    merkle_proof,
    merkle_root,
    step,
    verify_proof,
)
from hyperion.ai.transformer import quantize_transformer, random_params
from hyperion.primitives.keccak import keccak256


@pytest.fixture(scope="module")
def transformer():
    params = random_params(vocab=40, seq_len=16, dim=32, heads=4, ff=64, blocks=2, seed=3)
    return quantize_transformer(params, np.random.default_rng(0).integers(0, 40, (128, 16)))


def _tokens(seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 40, 16).astype(np.int8).tobytes()


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 13])
def test_merkle_proofs(count):
    leaves = [keccak256(bytes([i])) for i in range(count)]
    root = merkle_root(leaves)
    for i, leaf in enumerate(leaves):
        proof = merkle_proof(leaves, i)
        assert verify_proof(root, leaf, i, proof)
        assert not verify_proof(root, leaf, i ^ 1, proof) or count == 1
        assert not verify_proof(root, ZERO_WORD, i, proof)
    assert merkle_root(leaves[:1]) == leaves[0]


def test_every_chunk_of_every_layer_re_executes_to_the_trace(transformer):
    plan = DisputePlan(transformer, mac_budget=20_000)  # small budget: several layers split into chunks
    assert plan.verifiable
    assert any(layout.chunks > 1 for layout in plan.tensors)
    runner = Runner(transformer)
    trace = Trace.compute(plan, _tokens(1), runner)
    assert trace.output == runner.run(_tokens(1))
    assert trace.states[0] == initial_state(keccak256(_tokens(1)))
    assert trace.states[-1] == final_state(plan.layer_count, keccak256(trace.output))
    for layer in range(1, plan.layer_count + 1):
        state = trace.step_state(layer)
        for chunk in range(plan.tensors[layer].chunks):
            assert step(plan, layer, chunk, state, runner) == \
                (trace.states[layer - 1], trace.carries[layer], trace.chunk_hashes[layer][chunk])
    for index, state in enumerate(trace.states):
        assert verify_proof(trace.root, state, index, trace.state_proof(index))


def test_a_wrong_layer_shows_up_at_exactly_that_step(transformer):
    plan = DisputePlan(transformer)
    honest = Trace.compute(plan, _tokens(2))
    tensors = list(honest.tensors)
    broken = bytearray(tensors[7])
    broken[0] ^= 1
    tensors[7] = bytes(broken)
    lying = Trace(plan, tensors)
    assert lying.states[:7] == honest.states[:7] and lying.states[7] != honest.states[7]
    before, carry, chunk_hash = step(plan, 7, 0, lying.step_state(7))
    assert before == lying.states[6]
    assert keccak256(carry + chunk_hash) != lying.states[7]  # the chain would catch the lie here
    before, _, _ = step(plan, 8, 0, lying.step_state(8))
    assert before == lying.states[7]  # the next step is consistent with the (wrong) tensor it was given


def test_a_step_refuses_bad_requests(transformer):
    plan = DisputePlan(transformer)
    trace = Trace.compute(plan, _tokens(3))
    with pytest.raises(InferenceError):
        step(plan, 0, 0, trace.step_state(1))
    with pytest.raises(InferenceError):
        step(plan, plan.layer_count + 1, 0, b"")
    with pytest.raises(InferenceError):
        step(plan, 2, 1, trace.step_state(2))
    with pytest.raises(InferenceError):
        step(plan, 2, 0, trace.step_state(2)[:-1])
    tampered = bytearray(trace.step_state(3))
    tampered[-1] ^= 0x40
    assert step(plan, 3, 0, bytes(tampered))[0] != trace.states[2]


def test_a_row_over_the_step_budget_makes_a_model_unverifiable():
    rng = np.random.default_rng(0)
    wide = Dense(rng.integers(-1, 2, (4, 4096)).astype(np.int8), np.zeros(4, np.int32), np.full(4, 1 << 30, np.int32),
                 np.full(4, 31, np.uint8))
    model = QuantizedModel.create((4096,), [wide])
    assert DisputePlan(model).verifiable
    problems = DisputePlan(model, mac_budget=1000).problems
    assert problems and "step budget" in problems[0]
    conv = Conv2D(rng.integers(-1, 2, (8, 1, 3, 3)).astype(np.int8), np.zeros(8, np.int32),
                  np.full(8, 1 << 30, np.int32), np.full(8, 31, np.uint8))
    big_state = QuantizedModel.create((1, 130, 130), [conv, Flatten()])
    assert any("state" in p for p in DisputePlan(big_state).problems)


def test_a_last_layer_cut_into_chunks_is_verifiable_through_the_output_step():
    """The output step hashes the output whole, so the model's last layer may be split like any other."""
    rng = np.random.default_rng(1)
    head = Dense(rng.integers(-100, 100, (40, 64)).astype(np.int8), np.zeros(40, np.int32),
                 np.full(40, 1 << 30, np.int32), np.full(40, 30, np.uint8), out_bits=32)
    model = QuantizedModel.create((64,), [head])
    plan = DisputePlan(model, mac_budget=64 * 16)  # 16 output rows per chunk: 3 chunks
    assert plan.verifiable and plan.tensors[1].chunks == 3 and plan.tensors[2].chunks == 1
    assert plan.layer_count == 2 and plan.is_output_step(2)
    data = rng.integers(-128, 128, 64).astype(np.int8).tobytes()
    trace = Trace.compute(plan, data)
    assert trace.tensor_hashes[2] == keccak256(Runner(model).run(data)) != trace.tensor_hashes[1]
    assert trace.states[-1] == final_state(plan.layer_count, keccak256(trace.output))
    for chunk in range(3):
        assert step(plan, 1, chunk, trace.step_state(1))[2] == trace.chunk_hashes[1][chunk]
    assert step(plan, 2, 0, trace.step_state(2)) == (trace.states[1], trace.carries[2], keccak256(trace.output))
