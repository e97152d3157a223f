"""Lying workers for the dispute tests: traces that are wrong from one layer on, yet self-consistent after it."""

from __future__ import annotations

import numpy as np

from hyperion.ai.engine import Runner
from hyperion.ai.trace import DisputePlan, Trace


def trace_with_fault(plan: DisputePlan, data: bytes, layer: int, runner: Runner | None = None,
                     flip: int = 0x7F, rows: int = 1) -> Trace:
    """The trace of a worker whose layer ``layer`` went wrong (the bytes of its last ``rows`` rows flipped),
    and which then computed every later layer correctly from the wrong tensor: only step ``layer`` is
    inconsistent."""
    runner = runner or Runner(plan.model)
    tensors = [np.frombuffer(data, np.int8).astype(np.int64).reshape(1, *plan.model.input_shape)]
    for index, kernel in enumerate(runner.kernels, start=1):
        other = plan.others[index]
        out = kernel(tensors[-1], None if other is None else tensors[other], None)
        if index == layer:
            encoded = bytearray(plan.encode_tensor(index, out[0]))
            for i in range(max(0, len(encoded) - rows * plan.tensors[index].row_bytes), len(encoded)):
                encoded[i] ^= flip
            out = plan.decode_tensor(index, bytes(encoded))[None]
        tensors.append(out)
    return Trace(plan, [plan.encode_tensor(k, t[0]) for k, t in enumerate(tensors)])


def wrong_result_trace(plan: DisputePlan, data: bytes, layer: int, runner: Runner | None = None) -> Trace:
    """``trace_with_fault`` whose output really differs from the honest one (tries a few corruptions)."""
    honest = Trace.compute(plan, data, runner).output
    for rows in (1, plan.tensors[layer].rows):
        for flip in (0x7F, 0x55, 0x33, 0x0F, 0x01):
            lying = trace_with_fault(plan, data, layer, runner, flip, rows)
            if lying.output != honest:
                return lying
    raise AssertionError("no corruption of this layer changes the output")
