"""The verification trace of one inference: per-layer state hashes, row chunks, Merkle commitments.

A worker who claims an output also commits to how it got there, so that a
dispute can be narrowed to one small piece of work that the chain re-executes
(opML-style; see docs/ai.md, "Verification beyond one block").

* Tensor 0 is the input; tensor ``k`` is the output of layer ``k`` (1-based).
* Tensor bytes: int8 raw, int32 4-byte big-endian, an argmax index one 32-byte
  word (the precompile's output encoding). Rows are the first axis.
* Each tensor is cut into chunks of whole rows. Rows per chunk come from the
  layer that produced it: as many rows as fit ``STEP_MAC_BUDGET``
  multiply-accumulates (layers whose rows depend on each other, and the
  input, are one chunk). ``h_k`` = Merkle root over ``keccak(chunk)``; with one
  chunk it is just ``keccak(tensor bytes)``, so ``h_0`` is the job's input hash.
* The state after layer ``k`` is the set of tensors still needed: tensor ``k``
  and the earlier tensors a later residual Add reads ("carried").
  ``C_k = keccak(u32 k ‖ (u32 j ‖ h_j) for carried j ascending)``,
  ``S_k = keccak(C_k ‖ h_k)``.
* One more step follows the model's ``M`` layers: the *output step*, an
  identity whose tensor ``M+1`` is the output as one chunk, so its hash is
  ``keccak(output)`` however the last layer was cut. A plan therefore has
  ``L = M + 1`` steps, ``S_0 = keccak(keccak(u32 0) ‖ input_hash)`` and
  ``S_L = keccak(keccak(u32 L) ‖ keccak(output))``: the contract derives both
  ends of a dispute itself.
* The trace root a worker submits is the Merkle root over ``S_0 .. S_L``.

Merkle trees pad their leaves with zero words to a power of two; a node is
``keccak(left ‖ right)``; a single leaf is its own root.

``step(model, k, chunk, state)`` is the single-layer re-execution behind the
layer-step precompile: from the bytes of the tensors of state ``k-1`` it
returns ``S_{k-1}`` (so the caller can check it is the agreed state), ``C_k``
and the hash of output chunk ``chunk`` of layer ``k``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hyperion.ai.engine import Runner, encode_output
from hyperion.ai.errors import InferenceError
from hyperion.ai.model import DType, QuantizedModel
from hyperion.primitives.keccak import keccak256

STEP_MAC_BUDGET = 8_000_000  # multiply-accumulates one on-chain step may re-execute (8M gas at 1 gas/MAC)
MAX_STEP_STATE_BYTES = 96 * 1024  # the tensors a step reads travel in one transaction's calldata
ZERO_WORD = b"\x00" * 32

# gas of the layer-step precompile (0x…a2): the same prices as inference, per chunk
STEP_BASE_GAS = 5_000
STEP_MAC_GAS = 1
STEP_BYTE_GAS = 3
STEP_INFO_GAS = 3_000


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


# -- Merkle trees --------------------------------------------------------------------------


def merkle_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first (padded with zero words to a power of two)."""
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    size = 1
    while size < len(leaves):
        size *= 2
    level = list(leaves) + [ZERO_WORD] * (size - len(leaves))
    levels = [level]
    while len(level) > 1:
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        levels.append(level)
    return levels


def merkle_root(leaves: list[bytes]) -> bytes:
    return merkle_levels(leaves)[-1][0]


def merkle_depth(count: int) -> int:
    """Levels above the leaves of a tree with ``count`` leaves."""
    depth = 0
    while (1 << depth) < count:
        depth += 1
    return depth


def merkle_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """Sibling hashes from the leaf up (what ``InferenceJobs`` checks a revealed state with)."""
    proof = []
    for level in merkle_levels(leaves)[:-1]:
        proof.append(level[index ^ 1])
        index //= 2
    return proof


def verify_proof(root: bytes, leaf: bytes, index: int, proof: list[bytes]) -> bool:
    node = leaf
    for sibling in proof:
        node = keccak256(sibling + node) if index & 1 else keccak256(node + sibling)
        index //= 2
    return node == root and index == 0


def carry_hash(layer: int, carried: list[tuple[int, bytes]]) -> bytes:
    return keccak256(u32(layer) + b"".join(u32(j) + h for j, h in carried))


def state_hash(carry: bytes, tensor_hash: bytes) -> bytes:
    return keccak256(carry + tensor_hash)


def initial_state(input_hash: bytes) -> bytes:
    """``S_0`` from the job's input hash."""
    return state_hash(carry_hash(0, []), input_hash)


def final_state(layer_count: int, result_hash: bytes) -> bytes:
    """``S_L`` from the claimed output hash."""
    return state_hash(carry_hash(layer_count, []), result_hash)


# -- the plan: how every tensor is cut and which tensors each state holds --------------------


@dataclass(frozen=True)
class TensorLayout:
    shape: tuple[int, ...]
    dtype: DType
    rows_per_chunk: int

    @property
    def rows(self) -> int:
        return self.shape[0]

    @property
    def row_bytes(self) -> int:
        if self.dtype == DType.INDEX:
            return 32
        return int(np.prod(self.shape[1:], dtype=np.int64)) * (4 if self.dtype == DType.INT32 else 1)

    @property
    def size(self) -> int:
        return self.rows * self.row_bytes

    @property
    def chunks(self) -> int:
        return -(-self.rows // self.rows_per_chunk)

    def chunk_rows(self, chunk: int) -> slice:
        start = chunk * self.rows_per_chunk
        return slice(start, min(self.rows, start + self.rows_per_chunk))


class DisputePlan:
    """How a model's inferences are committed to and disputed (pure function of the model).

    Steps ``1..M`` are the model's layers, step ``M+1 = layer_count`` the output step.
    """

    def __init__(self, model: QuantizedModel, mac_budget: int = STEP_MAC_BUDGET,
                 max_state_bytes: int = MAX_STEP_STATE_BYTES):
        self.model = model
        self.mac_budget = mac_budget
        self.max_state_bytes = max_state_bytes
        plans = model.plans
        self.model_layers = len(plans)
        self.layer_count = len(plans) + 1
        layouts = [TensorLayout(model.input_shape, DType.INT8, model.input_shape[0])]
        for plan in plans:
            rows = plan.rows
            if plan.row_split and plan.macs_per_row > 0:
                per_chunk = max(1, min(rows, mac_budget // plan.macs_per_row))
            else:
                per_chunk = rows
            layouts.append(TensorLayout(plan.output_shape, plan.output_dtype, per_chunk))
        output = layouts[-1]
        layouts.append(TensorLayout(output.shape, output.dtype, output.rows))  # the output step: one chunk
        self.tensors = tuple(layouts)
        others = [None] + [plan.other for plan in plans] + [None]  # others[k]: residual read by step k
        last_use = {}
        for k in range(1, self.layer_count + 1):
            if others[k] is not None:
                last_use[others[k]] = k
        # carried(k): tensors j < k still read by a layer after k
        self.carried = tuple(tuple(sorted(j for j, last in last_use.items() if j < k < last))
                             for k in range(self.layer_count + 1))
        self.others = tuple(others)

    def step_inputs(self, layer: int) -> tuple[int, ...]:
        """Tensors a step of ``layer`` reads, in calldata order: state ``layer-1``'s carried, then ``layer-1``."""
        return (*self.carried[layer - 1], layer - 1)

    def state_bytes(self, layer: int) -> int:
        return sum(self.tensors[j].size for j in self.step_inputs(layer))

    def is_output_step(self, layer: int) -> bool:
        return layer == self.layer_count

    def chunk_macs(self, layer: int, chunk: int) -> int:
        if self.is_output_step(layer):
            return 0
        plan = self.model.plans[layer - 1]
        rows = self.tensors[layer].chunk_rows(chunk)
        return plan.macs_per_row * (rows.stop - rows.start) if plan.row_split else plan.macs

    def max_step_macs(self) -> int:
        return max(self.chunk_macs(k, 0) for k in range(1, self.layer_count + 1))

    @cached_property
    def problems(self) -> tuple[str, ...]:
        """Why this model cannot be disputed step by step (empty when it can)."""
        found = []
        for k in range(1, self.layer_count + 1):
            if self.chunk_macs(k, 0) > self.mac_budget:
                found.append(f"layer {k}: one row needs {self.chunk_macs(k, 0)} MACs, over the step budget "
                             f"of {self.mac_budget}")
            if self.state_bytes(k) > self.max_state_bytes:
                found.append(f"layer {k}: its input state is {self.state_bytes(k)} bytes, over "
                             f"{self.max_state_bytes}")
        return tuple(found)

    @property
    def verifiable(self) -> bool:
        return not self.problems

    def layer_rounds(self) -> int:
        """Bisection rounds over the layers (each: the worker reveals a midpoint, the challenger answers)."""
        return merkle_depth(self.layer_count)

    def row_rounds(self, layer: int) -> int:
        return merkle_depth(self.tensors[layer].chunks)

    def step_gas(self, layer: int, chunk: int) -> int:
        """The layer-step precompile's gas for one chunk (its documented formula)."""
        rows = self.tensors[layer].chunk_rows(chunk)
        out_bytes = (rows.stop - rows.start) * self.tensors[layer].row_bytes
        return (STEP_BASE_GAS + STEP_MAC_GAS * self.chunk_macs(layer, chunk)
                + STEP_BYTE_GAS * (self.state_bytes(layer) + out_bytes))

    # -- tensors <-> bytes ------------------------------------------------------------------
    def encode_tensor(self, index: int, tensor: np.ndarray) -> bytes:
        layout = self.tensors[index]
        return encode_output(tensor, layout.dtype)

    def decode_tensor(self, index: int, data: bytes) -> np.ndarray:
        layout = self.tensors[index]
        if layout.dtype == DType.INDEX:
            return np.array([int.from_bytes(data, "big")], dtype=np.int64)
        raw = np.frombuffer(data, dtype=">i4" if layout.dtype == DType.INT32 else np.int8)
        return raw.astype(np.int64).reshape(layout.shape)

    def chunk_hashes(self, index: int, data: bytes) -> list[bytes]:
        layout = self.tensors[index]
        span = layout.rows_per_chunk * layout.row_bytes
        return [keccak256(data[i:i + span]) for i in range(0, max(len(data), 1), span)][:layout.chunks]

    def tensor_hash(self, index: int, data: bytes) -> bytes:
        return merkle_root(self.chunk_hashes(index, data))


class Trace:
    """The full trace of one inference (what a worker commits to and a watcher recomputes)."""

    def __init__(self, plan: DisputePlan, tensors: list[bytes]):
        if len(tensors) != plan.layer_count + 1:
            raise ValueError("a trace has one tensor per layer plus the input")
        self.plan = plan
        self.tensors = tensors  # encoded bytes of tensor 0..L
        self.chunk_hashes = [plan.chunk_hashes(k, data) for k, data in enumerate(tensors)]
        self.tensor_hashes = [merkle_root(hashes) for hashes in self.chunk_hashes]
        self.carries = [carry_hash(k, [(j, self.tensor_hashes[j]) for j in plan.carried[k]])
                        for k in range(plan.layer_count + 1)]
        self.states = [state_hash(c, h) for c, h in zip(self.carries, self.tensor_hashes)]
        self._levels = merkle_levels(self.states)

    @classmethod
    def compute(cls, plan: DisputePlan, data: bytes, runner: Runner | None = None) -> "Trace":
        """Run the model on ``data`` and keep every tensor (the output step repeats the output)."""
        runner = runner or Runner(plan.model)
        if len(data) != runner.input_size:
            raise InferenceError(f"input must be {runner.input_size} bytes, got {len(data)}")
        batch = np.frombuffer(data, dtype=np.int8).reshape(1, *plan.model.input_shape)
        encoded = [plan.encode_tensor(k, t[0]) for k, t in enumerate(runner.forward_all(batch))]
        return cls(plan, encoded + [encoded[-1]])

    @property
    def root(self) -> bytes:
        return self._levels[-1][0]

    @property
    def output(self) -> bytes:
        return self.tensors[-1]

    def state_proof(self, index: int) -> list[bytes]:
        proof = []
        for level in self._levels[:-1]:
            proof.append(level[index ^ 1])
            index //= 2
        return proof

    def step_state(self, layer: int) -> bytes:
        """Calldata of a step of ``layer``: the tensors of state ``layer-1``."""
        return b"".join(self.tensors[j] for j in self.plan.step_inputs(layer))

    def chunk_levels(self, layer: int) -> list[list[bytes]]:
        return merkle_levels(self.chunk_hashes[layer])


def step(plan: DisputePlan, layer: int, chunk: int, state: bytes, runner: Runner | None = None) \
        -> tuple[bytes, bytes, bytes]:
    """Re-execute one chunk of one layer from the bytes of the previous state.

    Returns ``(S_{layer-1}, C_layer, keccak(chunk bytes))``. Raises
    ``InferenceError`` on a layer or chunk out of range or a state of the wrong size.
    """
    if not 1 <= layer <= plan.layer_count:
        raise InferenceError(f"layer {layer} out of range 1..{plan.layer_count}")
    layout = plan.tensors[layer]
    if not 0 <= chunk < layout.chunks:
        raise InferenceError(f"chunk {chunk} out of range 0..{layout.chunks - 1}")
    inputs = plan.step_inputs(layer)
    if len(state) != plan.state_bytes(layer):
        raise InferenceError(f"layer {layer} reads {plan.state_bytes(layer)} state bytes, got {len(state)}")
    pieces, offset = {}, 0
    for j in inputs:
        size = plan.tensors[j].size
        pieces[j] = state[offset:offset + size]
        offset += size
    hashes = {j: plan.tensor_hash(j, data) for j, data in pieces.items()}
    previous = layer - 1
    before = state_hash(carry_hash(previous, [(j, hashes[j]) for j in plan.carried[previous]]), hashes[previous])
    if plan.is_output_step(layer):
        chunk_bytes = pieces[previous]  # the output, hashed whole
    else:
        runner = runner or Runner(plan.model)
        x = plan.decode_tensor(previous, pieces[previous])[None]
        other_index = plan.others[layer]
        other = None if other_index is None else plan.decode_tensor(other_index, pieces[other_index])[None]
        out = runner.kernels[layer - 1](x, other, layout.chunk_rows(chunk) if layout.chunks > 1 else None)
        chunk_bytes = encode_output(out[0], layout.dtype)
    carry = carry_hash(layer, [(j, hashes[j]) for j in plan.carried[layer]])
    return before, carry, keccak256(chunk_bytes)
