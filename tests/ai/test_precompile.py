"""The AI precompiles inside the EVM: models read from the state, gas per the formulas, clean failures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hyperion.execution.transaction import apply_transaction  # noqa: F401  (imports the VM in its usual order)
from hyperion.ai.chainstore import ChainModels, install_model
from hyperion.ai.engine import Runner
from hyperion.ai.store import DirectoryModelStore
from hyperion.ai.trace import STEP_INFO_GAS, DisputePlan, Trace
from hyperion.ai.transformer import quantize_transformer, random_params
from hyperion.execution.intrinsic import intrinsic_gas
from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import CANCUN, PRAGUE, SHANGHAI
from hyperion.vm.frame import TxContext
from hyperion.vm.interpreter import FAILED, SUCCESS, execute_call
from hyperion.vm.precompiles import precompiles_for
from hyperion.vm.precompiles.base import PrecompileError
from hyperion.vm.precompiles.inference import (
    INFER_BASE_GAS,
    INFER_BYTE_GAS,
    INFER_MAC_GAS,
    INFERENCE_ADDRESS,
    LAYER_STEP_ADDRESS,
    MAX_INPUT_BYTES,
    fork_with_inference,
    inference_gas,
    make_inference_precompile,
    make_layer_step_precompile,
)

CALLER = b"\x01" * 20


@pytest.fixture
def models():
    return ChainModels(MODEL_STORE_ADDRESS)


@pytest.fixture
def state(digits_model):
    state = MemoryState()
    install_model(state, MODEL_STORE_ADDRESS, digits_model.encode())
    return state


def _call(models, state, data: bytes, gas: int, address: bytes = INFERENCE_ADDRESS):
    fork = fork_with_inference(models)
    ctx = TxContext(state, BlockEnv(fork=fork), fork, CALLER, 0)
    state.begin_transaction()
    try:
        return execute_call(ctx, CALLER, address, address, 0, data, gas, 0, False, True, b"")
    finally:
        state.end_transaction()


def test_gas_formula(digits_model):
    expected = INFER_BASE_GAS + INFER_MAC_GAS * 2368 + INFER_BYTE_GAS * (64 + 32)
    assert inference_gas(digits_model.macs, 64, 32) == expected == 5656


def test_exact_gas_is_charged_and_output_matches_python(models, state, digits_model, digits_inputs):
    cost = inference_gas(digits_model.macs, 64, 32)
    for x in digits_inputs[:5]:
        status, gas_left, output = _call(models, state, digits_model.content_hash + x, 100_000)
        assert status == SUCCESS and gas_left == 100_000 - cost
        assert output == Runner(digits_model).run(x)
    status, gas_left, output = _call(models, state, digits_model.content_hash + digits_inputs[0], cost)
    assert (status, gas_left) == (SUCCESS, 0)


def test_out_of_gas_fails_and_consumes_the_call_gas(models, state, digits_model, digits_inputs):
    cost = inference_gas(digits_model.macs, 64, 32)
    assert _call(models, state, digits_model.content_hash + digits_inputs[0], cost - 1) == (FAILED, 0, b"")


@pytest.mark.parametrize("case", ["unknown model", "short input", "long input", "no hash", "oversized", "empty"])
def test_bad_inputs_fail_cleanly(models, state, digits_model, case):
    h = digits_model.content_hash
    data = {
        "unknown model": b"\x42" * 32 + b"\x00" * 64,
        "short input": h + b"\x00" * 63,
        "long input": h + b"\x00" * 65,
        "no hash": h[:31],
        "oversized": h + b"\x00" * (MAX_INPUT_BYTES + 1),
        "empty": b"",
    }[case]
    assert _call(models, state, data, 1_000_000) == (FAILED, 0, b"")
    with pytest.raises(PrecompileError):
        make_inference_precompile(models).gas(data, state)


def test_only_models_in_the_executing_state_run(tmp_path, digits_model, digits_inputs):
    """A model file a node holds decides nothing: the state does (the chain split of issue 20)."""
    cache = DirectoryModelStore(tmp_path)
    cache.put(digits_model)  # the node has the file ...
    models = ChainModels(MODEL_STORE_ADDRESS, cache)
    data = digits_model.content_hash + digits_inputs[0]
    bare = MemoryState()
    assert _call(models, bare, data, 100_000)[0] == FAILED  # ... but the chain never got the bytes
    published = MemoryState()
    install_model(published, MODEL_STORE_ADDRESS, digits_model.encode())
    assert _call(models, published, data, 100_000)[0] == SUCCESS
    assert _call(models, bare, data, 100_000)[0] == FAILED  # still unknown there, although now cached


def test_a_node_without_the_file_reads_the_chain_and_caches_it(tmp_path, digits_model, digits_inputs):
    state = MemoryState()
    install_model(state, MODEL_STORE_ADDRESS, digits_model.encode())
    cache = DirectoryModelStore(tmp_path / "empty")
    models = ChainModels(MODEL_STORE_ADDRESS, cache)
    status, _, output = _call(models, state, digits_model.content_hash + digits_inputs[0], 100_000)
    assert status == SUCCESS and output == Runner(digits_model).run(digits_inputs[0])
    assert cache.get_bytes(digits_model.content_hash) == digits_model.encode()
    # a corrupted cache file is never trusted: the chain's bytes are used
    corrupt = DirectoryModelStore(tmp_path / "corrupt")
    corrupt.path_for(digits_model.content_hash).write_bytes(digits_model.encode()[:-1] + b"\x00")
    status, _, output = _call(ChainModels(MODEL_STORE_ADDRESS, corrupt), state,
                              digits_model.content_hash + digits_inputs[0], 100_000)
    assert status == SUCCESS and output == Runner(digits_model).run(digits_inputs[0])


def test_transaction_to_the_precompile_charges_intrinsic_plus_formula(digits_model, digits_inputs):
    from .conftest import dev_key
    from .evm import ScratchEvm

    key = dev_key("precompile-tx")
    evm = ScratchEvm([key], [digits_model])
    data = digits_model.content_hash + digits_inputs[0]
    tx = evm.sign(key, INFERENCE_ADDRESS, data, gas=100_000)
    intrinsic, floor = intrinsic_gas(tx, evm.fork)
    receipt = evm.apply(tx)
    assert receipt.success and receipt.output == Runner(digits_model).run(digits_inputs[0])
    assert receipt.gas_used == max(intrinsic + inference_gas(digits_model.macs, 64, 32), floor)
    # a failing inference is still a valid, included transaction that burns its gas
    bad = evm.apply(evm.sign(key, INFERENCE_ADDRESS, b"\x13" * 32 + digits_inputs[0], gas=100_000))
    assert not bad.success and bad.gas_used == 100_000
    ok = evm.send(key, INFERENCE_ADDRESS, data, gas=100_000)
    assert ok.success  # the node carries on
    # out of gas at transaction level: one gas short of intrinsic + formula
    short = evm.sign(key, INFERENCE_ADDRESS, data, gas=intrinsic + inference_gas(digits_model.macs, 64, 32) - 1)
    receipt = evm.apply(short)
    assert not receipt.success and receipt.output == b"" and receipt.gas_used == short.gas
    exact = evm.apply(evm.sign(key, INFERENCE_ADDRESS, data, gas=short.gas + 1))
    assert exact.success and exact.gas_used == max(intrinsic + inference_gas(digits_model.macs, 64, 32), floor)


def test_mainnet_forks_are_unchanged(models):
    for fork in (SHANGHAI, CANCUN, PRAGUE):
        assert INFERENCE_ADDRESS not in precompiles_for(fork)
        assert LAYER_STEP_ADDRESS not in precompiles_for(fork)
        assert "precompiles" not in fork.extra
    variant = fork_with_inference(models)
    assert variant.name != PRAGUE.name and variant.name.startswith("Prague+AI")
    assert fork_with_inference(models) is variant
    assert fork_with_inference(ChainModels(MODEL_STORE_ADDRESS)).name != variant.name  # tables cached per name
    assert {INFERENCE_ADDRESS, LAYER_STEP_ADDRESS} <= set(precompiles_for(variant))
    assert set(precompiles_for(PRAGUE)) < set(precompiles_for(variant))
    assert dataclasses.replace(variant, extra={}).has_bls_precompiles
    with pytest.raises(ValueError):
        fork_with_inference(models, base=CANCUN)


@pytest.fixture(scope="module")
def tiny_transformer():
    params = random_params(vocab=30, seq_len=12, dim=16, heads=2, ff=32, blocks=1, seed=4)
    return quantize_transformer(params, np.random.default_rng(1).integers(0, 30, (64, 12)))


def test_layer_step_precompile_info_and_steps(models, tiny_transformer):
    state = MemoryState()
    digest = install_model(state, MODEL_STORE_ADDRESS, tiny_transformer.encode())
    plan = DisputePlan(tiny_transformer)
    trace = Trace.compute(plan, bytes(range(12)))
    status, gas_left, info = _call(models, state, digest + (0).to_bytes(4, "big"), 10_000, LAYER_STEP_ADDRESS)
    assert status == SUCCESS and gas_left == 10_000 - STEP_INFO_GAS
    assert [int.from_bytes(info[i:i + 32], "big") for i in range(0, 160, 32)] == [plan.layer_count, 1, 0, 0, 1]
    for layer in range(1, plan.layer_count + 1):
        header = digest + layer.to_bytes(4, "big")
        _, _, info = _call(models, state, header, 10_000, LAYER_STEP_ADDRESS)
        assert int.from_bytes(info[32:64], "big") == plan.tensors[layer].chunks
        data = header + (0).to_bytes(4, "big") + trace.step_state(layer)
        cost = plan.step_gas(layer, 0)
        status, gas_left, output = _call(models, state, data, cost, LAYER_STEP_ADDRESS)
        assert (status, gas_left) == (SUCCESS, 0)
        assert output == trace.states[layer - 1] + trace.carries[layer] + trace.chunk_hashes[layer][0]
        assert _call(models, state, data, cost - 1, LAYER_STEP_ADDRESS) == (FAILED, 0, b"")


@pytest.mark.parametrize("case", ["unknown model", "layer 0 step", "layer past the end", "chunk past the end",
                                  "short state", "header only", "info past the end"])
def test_layer_step_bad_inputs_fail_cleanly(models, tiny_transformer, case):
    state = MemoryState()
    digest = install_model(state, MODEL_STORE_ADDRESS, tiny_transformer.encode())
    plan = DisputePlan(tiny_transformer)
    good_state = Trace.compute(plan, bytes(range(12))).step_state(2)

    def u32(value: int) -> bytes:
        return value.to_bytes(4, "big")

    data = {
        "unknown model": b"\x42" * 32 + u32(2) + u32(0) + good_state,
        "layer 0 step": digest + u32(0) + u32(0) + good_state,
        "layer past the end": digest + u32(plan.layer_count + 1) + u32(0) + good_state,
        "chunk past the end": digest + u32(2) + u32(plan.tensors[2].chunks) + good_state,
        "short state": digest + u32(2) + u32(0) + good_state[:-1],
        "header only": digest + u32(2) + u32(0),
        "info past the end": digest + u32(plan.layer_count + 1),
    }[case]
    assert _call(models, state, data, 10_000_000, LAYER_STEP_ADDRESS) == (FAILED, 0, b"")
    precompile = make_layer_step_precompile(models)
    with pytest.raises(PrecompileError):
        precompile.gas(data, state)
        precompile.run(data, state)
