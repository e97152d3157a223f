"""The inference precompile: deterministic integer inference of a registered model.

Input:  ``model_hash (32 bytes) || input (the model's input_size int8 bytes)``.
Output: the model's output tensor bytes (an argmax model returns one uint256
word holding the class index; int8 tensors are raw bytes; int32 tensors are
4-byte big-endian words).

Gas, charged before anything runs:

    INFER_BASE_GAS + INFER_MAC_GAS * macs(model) + INFER_BYTE_GAS * (len(input) + output_size)

Unknown models, malformed inputs (too short, wrong length for the model's
input shape, larger than ``MAX_INPUT_BYTES``) raise ``PrecompileError``: the
call fails and consumes the gas given to it, the node carries on.

Unlike the stateless precompiles, this one needs node state (the model
store), so it is not in the mainnet tables: ``make_inference_precompile(store)``
builds it and ``fork_with_inference(base, store)`` makes a fork variant that
carries it in ``Fork.extra["precompiles"]``, which ``precompiles_for`` merges.
"""

from __future__ import annotations

import dataclasses
import itertools

from hyperion.vm.forks import PRAGUE, Fork

from .base import Precompile, PrecompileError

INFERENCE_ADDRESS = (0xA1).to_bytes(20, "big")
INFER_BASE_GAS = 3_000
INFER_MAC_GAS = 1
INFER_BYTE_GAS = 3
MAX_INPUT_BYTES = 65_536
HASH_BYTES = 32
FORK_NAME_SUFFIX = "+AI"


def inference_gas(macs: int, input_bytes: int, output_bytes: int) -> int:
    """The documented gas formula (also used by clients to budget calls)."""
    return INFER_BASE_GAS + INFER_MAC_GAS * macs + INFER_BYTE_GAS * (input_bytes + output_bytes)


def make_inference_precompile(store) -> Precompile:
    """An inference precompile bound to ``store`` (a ``hyperion.ai.store.ModelStore``)."""

    def runner_for(data: bytes):
        if len(data) < HASH_BYTES:
            raise PrecompileError("inference input must start with a 32-byte model hash")
        if len(data) - HASH_BYTES > MAX_INPUT_BYTES:
            raise PrecompileError(f"inference input larger than {MAX_INPUT_BYTES} bytes")
        runner = store.runner(bytes(data[:HASH_BYTES]), missing_ok=True)
        if runner is None:
            raise PrecompileError(f"unknown model {bytes(data[:HASH_BYTES]).hex()}")
        if len(data) - HASH_BYTES != runner.input_size:
            raise PrecompileError(
                f"model expects {runner.input_size} input bytes, got {len(data) - HASH_BYTES}")
        return runner

    def gas(data: bytes) -> int:
        runner = runner_for(data)
        return inference_gas(runner.model.macs, runner.input_size, runner.model.output_size)

    def run(data: bytes) -> bytes:
        runner = runner_for(data)
        try:
            return runner.run(bytes(data[HASH_BYTES:]))
        except ValueError as exc:  # InferenceError and friends: fail the call, never the node
            raise PrecompileError(str(exc)) from None

    return Precompile("AI_INFERENCE", gas, run)


_variants: dict[tuple[str, int, bytes], Fork] = {}
_variant_numbers = itertools.count(1)


def fork_with_inference(store, base: Fork = PRAGUE, address: bytes = INFERENCE_ADDRESS) -> Fork:
    """``base`` plus the inference precompile bound to ``store`` at ``address``.

    The VM caches precompile and opcode tables per fork *name*, so every
    (base, store) pair gets its own name, ``"<base>+AI"`` for the first and
    ``"<base>+AI.<n>"`` after; asking again for the same pair returns the same
    fork. Only Prague or later may carry the precompile.
    """
    if base < PRAGUE:
        raise ValueError(f"the inference precompile is active from Prague, not {base.name}")
    key = (base.name, id(store), bytes(address))
    cached = _variants.get(key)
    if cached is not None and cached.extra.get("model_store") is store:
        return cached
    precompiles = dict(base.extra.get("precompiles", {}))
    precompiles[address] = make_inference_precompile(store)
    extra = {**base.extra, "precompiles": precompiles, "model_store": store}
    number = next(_variant_numbers)
    name = base.name + FORK_NAME_SUFFIX + ("" if number == 1 else f".{number}")
    variant = dataclasses.replace(base, name=name, extra=extra)
    _variants[key] = variant
    return variant
