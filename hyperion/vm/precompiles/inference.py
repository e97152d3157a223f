"""The AI precompiles: deterministic integer inference of models the chain holds.

``0x…a1`` (inference). Input: ``model_hash (32 bytes) || input (the model's
input_size int8 bytes)``. Output: the model's output tensor bytes (an argmax
model returns one uint256 word holding the class index; int8 tensors are raw
bytes; int32 tensors are 4-byte big-endian words). Gas, charged before
anything runs:

    INFER_BASE_GAS + INFER_MAC_GAS * macs(model) + INFER_BYTE_GAS * (len(input) + output_size)

``0x…a2`` (layer step: one layer of a model, for disputes that bisect over
layers). ``model_hash || u32 layer`` (36 bytes) returns five words:
``layer_count, chunks of that layer's output, its step state bytes, its step
gas, 1 if the model can be disputed step by step`` (3,000 gas). ``model_hash || u32 layer || u32 chunk || state`` re-executes
output chunk ``chunk`` of ``layer`` from the bytes of the tensors the previous
state holds and returns ``S_{layer-1} || C_layer || keccak(chunk)`` (96 bytes);
its gas is the layer's published step formula (see ``hyperion.ai.trace``).

Both read the model from the state they execute on: the node binds them to a
``models`` object (``hyperion.ai.chainstore.ChainModels``, injected from
above: the vm does not import the AI layer) whose ``model(state, hash)`` says
whether that state's model store holds the model. A model the state does not
hold is unknown on every node, whatever files a node keeps, so nodes cannot
diverge on model availability. Unknown models and malformed inputs raise
``PrecompileError``: the call fails and consumes the gas given to it, the node
carries on.

These are not in the mainnet tables: ``fork_with_inference(models, base)``
makes a fork variant that carries them in ``Fork.extra["precompiles"]``,
which ``precompiles_for`` merges.
"""

from __future__ import annotations

import dataclasses
import itertools

from hyperion.vm.forks import PRAGUE, Fork

from .base import Precompile, PrecompileError

INFERENCE_ADDRESS = (0xA1).to_bytes(20, "big")
LAYER_STEP_ADDRESS = (0xA2).to_bytes(20, "big")
INFER_BASE_GAS = 3_000
INFER_MAC_GAS = 1
INFER_BYTE_GAS = 3
MAX_INPUT_BYTES = 65_536
MAX_STEP_INPUT_BYTES = 128 * 1024
HASH_BYTES = 32
INFO_BYTES = HASH_BYTES + 4
STEP_HEADER_BYTES = HASH_BYTES + 8
FORK_NAME_SUFFIX = "+AI"


def inference_gas(macs: int, input_bytes: int, output_bytes: int) -> int:
    """The documented gas formula (also used by clients to budget calls)."""
    return INFER_BASE_GAS + INFER_MAC_GAS * macs + INFER_BYTE_GAS * (input_bytes + output_bytes)


def _model(models, state, data: bytes):
    found = models.model(state, bytes(data[:HASH_BYTES]))
    if found is None:
        raise PrecompileError(f"unknown model {bytes(data[:HASH_BYTES]).hex()}")
    return found


def make_inference_precompile(models) -> Precompile:
    """The inference precompile bound to ``models`` (see the module docstring)."""

    def runner_for(data: bytes, state):
        if len(data) < HASH_BYTES:
            raise PrecompileError("inference input must start with a 32-byte model hash")
        if len(data) - HASH_BYTES > MAX_INPUT_BYTES:
            raise PrecompileError(f"inference input larger than {MAX_INPUT_BYTES} bytes")
        runner = _model(models, state, data).runner
        if len(data) - HASH_BYTES != runner.input_size:
            raise PrecompileError(
                f"model expects {runner.input_size} input bytes, got {len(data) - HASH_BYTES}")
        return runner

    def gas(data: bytes, state) -> int:
        runner = runner_for(data, state)
        return inference_gas(runner.model.macs, runner.input_size, runner.model.output_size)

    def run(data: bytes, state) -> bytes:
        runner = runner_for(data, state)
        try:
            return runner.run(bytes(data[HASH_BYTES:]))
        except ValueError as exc:  # InferenceError and friends: fail the call, never the node
            raise PrecompileError(str(exc)) from None

    return Precompile("AI_INFERENCE", gas, run, needs_state=True)


def make_layer_step_precompile(models) -> Precompile:
    """The layer-step precompile bound to ``models`` (see the module docstring)."""

    def parse(data: bytes) -> tuple[bytes, int, int | None, bytes]:
        if len(data) == INFO_BYTES:
            return bytes(data[:HASH_BYTES]), int.from_bytes(data[HASH_BYTES:INFO_BYTES], "big"), None, b""
        if len(data) <= STEP_HEADER_BYTES:
            raise PrecompileError("layer step input is model_hash || u32 layer [|| u32 chunk || state]")
        if len(data) > MAX_STEP_INPUT_BYTES:
            raise PrecompileError(f"layer step input larger than {MAX_STEP_INPUT_BYTES} bytes")
        layer = int.from_bytes(data[HASH_BYTES:INFO_BYTES], "big")
        chunk = int.from_bytes(data[INFO_BYTES:STEP_HEADER_BYTES], "big")
        return bytes(data[:HASH_BYTES]), layer, chunk, bytes(data[STEP_HEADER_BYTES:])

    def gas(data: bytes, state) -> int:
        model_hash, layer, chunk, _ = parse(data)
        try:
            if chunk is None:
                models.layer_info(state, model_hash, layer)
                return models.info_gas()
            return models.step_gas(state, model_hash, layer, chunk)
        except ValueError as exc:
            raise PrecompileError(str(exc)) from None

    def run(data: bytes, state) -> bytes:
        model_hash, layer, chunk, tensors = parse(data)
        try:
            if chunk is None:
                return b"".join(value.to_bytes(32, "big") for value in models.layer_info(state, model_hash, layer))
            return models.step(state, model_hash, layer, chunk, tensors)
        except ValueError as exc:
            raise PrecompileError(str(exc)) from None

    return Precompile("AI_LAYER_STEP", gas, run, needs_state=True)


_variants: dict[tuple[str, int, bytes], Fork] = {}
_variant_numbers = itertools.count(1)


def fork_with_inference(models, base: Fork = PRAGUE, address: bytes = INFERENCE_ADDRESS,
                        step_address: bytes = LAYER_STEP_ADDRESS) -> Fork:
    """``base`` plus the inference and layer-step precompiles bound to ``models``.

    The VM caches precompile and opcode tables per fork *name*, so every
    (base, models) pair gets its own name, ``"<base>+AI"`` for the first and
    ``"<base>+AI.<n>"`` after; asking again for the same pair returns the same
    fork. Only Prague or later may carry the precompiles.
    """
    if base < PRAGUE:
        raise ValueError(f"the inference precompile is active from Prague, not {base.name}")
    key = (base.name, id(models), bytes(address))
    cached = _variants.get(key)
    if cached is not None and cached.extra.get("models") is models:
        return cached
    precompiles = dict(base.extra.get("precompiles", {}))
    precompiles[address] = make_inference_precompile(models)
    precompiles[step_address] = make_layer_step_precompile(models)
    extra = {**base.extra, "precompiles": precompiles, "models": models}
    number = next(_variant_numbers)
    name = base.name + FORK_NAME_SUFFIX + ("" if number == 1 else f".{number}")
    variant = dataclasses.replace(base, name=name, extra=extra)
    _variants[key] = variant
    return variant
