"""The inference precompile inside the EVM: gas per the formula, and every failure path failing cleanly."""

from __future__ import annotations

import dataclasses

import pytest

from hyperion.execution.transaction import apply_transaction  # noqa: F401  (imports the VM in its usual order)
from hyperion.ai.store import MemoryModelStore
from hyperion.execution.intrinsic import intrinsic_gas
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
    MAX_INPUT_BYTES,
    fork_with_inference,
    inference_gas,
    make_inference_precompile,
)
from hyperion.ai.engine import Runner

CALLER = b"\x01" * 20


@pytest.fixture
def store(digits_model):
    store = MemoryModelStore()
    store.put(digits_model)
    return store


def _call(store, data: bytes, gas: int):
    fork = fork_with_inference(store)
    state = MemoryState()
    ctx = TxContext(state, BlockEnv(fork=fork), fork, CALLER, 0)
    state.begin_transaction()
    return execute_call(ctx, CALLER, INFERENCE_ADDRESS, INFERENCE_ADDRESS, 0, data, gas, 0, False, True, b"")


def test_gas_formula(digits_model):
    expected = INFER_BASE_GAS + INFER_MAC_GAS * 2368 + INFER_BYTE_GAS * (64 + 32)
    assert inference_gas(digits_model.macs, 64, 32) == expected == 5656


def test_exact_gas_is_charged_and_output_matches_python(store, digits_model, digits_inputs):
    cost = inference_gas(digits_model.macs, 64, 32)
    for x in digits_inputs[:5]:
        status, gas_left, output = _call(store, digits_model.content_hash + x, 100_000)
        assert status == SUCCESS and gas_left == 100_000 - cost
        assert output == Runner(digits_model).run(x)
    status, gas_left, output = _call(store, digits_model.content_hash + digits_inputs[0], cost)
    assert (status, gas_left) == (SUCCESS, 0)


def test_out_of_gas_fails_and_consumes_the_call_gas(store, digits_model, digits_inputs):
    cost = inference_gas(digits_model.macs, 64, 32)
    assert _call(store, digits_model.content_hash + digits_inputs[0], cost - 1) == (FAILED, 0, b"")


@pytest.mark.parametrize("case", ["unknown model", "short input", "long input", "no hash", "oversized", "empty"])
def test_bad_inputs_fail_cleanly(store, digits_model, case):
    h = digits_model.content_hash
    data = {
        "unknown model": b"\x42" * 32 + b"\x00" * 64,
        "short input": h + b"\x00" * 63,
        "long input": h + b"\x00" * 65,
        "no hash": h[:31],
        "oversized": h + b"\x00" * (MAX_INPUT_BYTES + 1),
        "empty": b"",
    }[case]
    assert _call(store, data, 1_000_000) == (FAILED, 0, b"")
    precompile = make_inference_precompile(store)
    with pytest.raises(PrecompileError):
        precompile.gas(data)


def test_transaction_to_the_precompile_charges_intrinsic_plus_formula(digits_model, digits_inputs):
    from hyperion.ai.backends import InProcessBackend, address_of_key, dev_key

    store = MemoryModelStore()
    store.put(digits_model)
    key = dev_key("precompile-tx")
    backend = InProcessBackend(store, funded={address_of_key(key): 10**20})
    data = digits_model.content_hash + digits_inputs[0]
    tx = backend.sign(key, INFERENCE_ADDRESS, data, gas=100_000)
    intrinsic, floor = intrinsic_gas(tx, backend.fork)
    receipt = backend.apply(tx)
    assert receipt.success and receipt.output == Runner(digits_model).run(digits_inputs[0])
    assert receipt.gas_used == max(intrinsic + inference_gas(digits_model.macs, 64, 32), floor)
    # a failing inference is still a valid, included transaction that burns its gas
    bad = backend.apply(backend.sign(key, INFERENCE_ADDRESS, b"\x13" * 32 + digits_inputs[0], gas=100_000))
    assert not bad.success and bad.gas_used == 100_000
    ok = backend.send(key, INFERENCE_ADDRESS, data, gas=100_000)
    assert ok.success  # the node carries on
    # out of gas at transaction level: one gas short of intrinsic + formula
    short = backend.sign(key, INFERENCE_ADDRESS, data, gas=intrinsic + inference_gas(digits_model.macs, 64, 32) - 1)
    receipt = backend.apply(short)
    assert not receipt.success and receipt.output == b"" and receipt.gas_used == short.gas
    exact = backend.apply(backend.sign(key, INFERENCE_ADDRESS, data, gas=short.gas + 1))
    assert exact.success and exact.gas_used == exact_gas_check(intrinsic, floor, digits_model)


def exact_gas_check(intrinsic: int, floor: int, model) -> int:
    return max(intrinsic + inference_gas(model.macs, 64, 32), floor)


def test_mainnet_forks_are_unchanged(store):
    for fork in (SHANGHAI, CANCUN, PRAGUE):
        assert INFERENCE_ADDRESS not in precompiles_for(fork)
        assert "precompiles" not in fork.extra
    variant = fork_with_inference(store)
    assert variant.name != PRAGUE.name and variant.name.startswith("Prague+AI")
    assert fork_with_inference(store) is variant
    assert fork_with_inference(MemoryModelStore()).name != variant.name  # VM tables are cached per name
    assert INFERENCE_ADDRESS in precompiles_for(variant)
    assert set(precompiles_for(PRAGUE)) < set(precompiles_for(variant))
    assert dataclasses.replace(variant, extra={}).has_bls_precompiles
    with pytest.raises(ValueError):
        fork_with_inference(store, base=CANCUN)


def test_model_added_to_a_directory_store_later_is_seen(tmp_path, digits_model, digits_inputs):
    from hyperion.ai.store import DirectoryModelStore

    node_store = DirectoryModelStore(tmp_path)
    data = digits_model.content_hash + digits_inputs[0]
    assert _call(node_store, data, 100_000)[0] == FAILED
    DirectoryModelStore(tmp_path).put(digits_model)  # e.g. `hyperion model register --store`
    assert _call(node_store, data, 100_000)[0] == SUCCESS
    # a corrupted file is treated as absent, never trusted
    other = tmp_path / "sub"
    corrupt = DirectoryModelStore(other)
    corrupt.path_for(digits_model.content_hash).write_bytes(digits_model.encode()[:-1] + b"\x00")
    assert _call(corrupt, data, 100_000)[0] == FAILED
