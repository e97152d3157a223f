"""Models with random weights and lying workers' traces, for tests and benchmarks.

``conv_tower`` builds a deep 3x3 convolution stack whose size is set by its
multiply-accumulate count (the 150M-MAC model of the verification tests is
``conv_tower()``: 17 layers, about 151M MACs in 175 KB of weights). Each
layer's requantization is calibrated on the integer activations of a few
random inputs, so activations stay spread over the int8 range instead of
saturating or collapsing to zero, and a wrong layer changes the output.

``trace_with_fault`` / ``wrong_result_trace`` are the traces of a worker
whose computation goes wrong at one layer and is carried on correctly from
the wrong tensor, so exactly one step of its trace is inconsistent: what the
dispute tests and ``hyperion bench ai`` play against.
"""

from __future__ import annotations

import numpy as np

from hyperion.ai.engine import Runner, kernel_for
from hyperion.ai.fixedpoint import quantize_multiplier
from hyperion.ai.model import Argmax, Conv2D, Dense, Flatten, Kind, Pool2D, QuantizedModel
from hyperion.ai.trace import DisputePlan, Trace

TARGET_PEAK = 100  # calibrated activations reach about this magnitude


def _calibrated(weight: np.ndarray, bias: np.ndarray, build, x: np.ndarray, out_bits: int = 8):
    """A layer whose per-channel rescale maps the largest accumulator seen on ``x`` to ``TARGET_PEAK``."""
    channels = weight.shape[0]
    probe = build(weight, bias, np.full(channels, 1, np.int32), np.full(channels, 1, np.uint8), 32)
    acc = kernel_for(probe)(x, None, None)  # shift 1, multiplier 1: acc / 2, rounded
    axis = tuple(i for i in range(acc.ndim) if i != 1)
    peaks = np.maximum(np.abs(acc).max(axis=axis) * 2, 1)
    target = TARGET_PEAK if out_bits == 8 else 1 << 20
    pairs = [quantize_multiplier(target / float(p)) for p in peaks]
    return build(weight, bias, np.array([m for m, _ in pairs], np.int32), np.array([s for _, s in pairs], np.uint8),
                 out_bits)


def conv_tower(channels: int = 32, size: int = 32, layers: int = 17, classes: int = 10, seed: int = 0,
               calibration: int = 4) -> QuantizedModel:
    """Input (1, size, size) -> ``layers`` 3x3 convs (padding 1, ReLU) -> 4x4 average pool -> dense -> argmax."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-100, 101, (calibration, 1, size, size))
    built = []
    in_c = 1
    for _ in range(layers):
        weight = rng.integers(-127, 128, (channels, in_c, 3, 3)).astype(np.int8)
        bias = rng.integers(-2000, 2001, channels).astype(np.int32)

        def conv(w, b, m, s, bits):
            return Conv2D(w, b, m, s, (1, 1), (1, 1, 1, 1), relu=bits == 8)

        layer = _calibrated(weight, bias, conv, x)
        built.append(layer)
        x = kernel_for(layer)(x, None, None)
        in_c = channels
    pool = Pool2D(Kind.AVGPOOL, (4, 4), (4, 4))
    x = kernel_for(Flatten())(kernel_for(pool)(x, None, None), None, None)
    weight = rng.integers(-127, 128, (classes, x.shape[1])).astype(np.int8)

    def dense(w, b, m, s, bits):
        return Dense(w, b, m, s, relu=False, out_bits=bits)

    head = _calibrated(weight, np.zeros(classes, np.int32), dense, x, out_bits=32)
    return QuantizedModel.create((1, size, size), [*built, pool, Flatten(), head, Argmax()])


def trace_with_fault(plan: DisputePlan, data: bytes, layer: int, runner: Runner | None = None,
                     flip: int = 0x7F, rows: int = 1) -> Trace:
    """The trace of a worker whose layer ``layer`` went wrong (the bytes of its first ``rows`` rows flipped),
    and which then computed every later layer correctly from the wrong tensor: only step ``layer`` is
    inconsistent."""
    runner = runner or Runner(plan.model)
    tensors = [np.frombuffer(data, np.int8).astype(np.int64).reshape(1, *plan.model.input_shape)]
    encoded = [bytes(data)]

    def corrupt(index: int, raw: bytes) -> bytes:
        wrong = bytearray(raw)
        for i in range(min(len(wrong), rows * plan.tensors[index].row_bytes)):
            wrong[i] ^= flip
        return bytes(wrong)

    for index, kernel in enumerate(runner.kernels, start=1):
        other = plan.others[index]
        out = kernel(tensors[-1], None if other is None else tensors[other], None)
        raw = plan.encode_tensor(index, out[0])
        if index == layer:
            raw = corrupt(index, raw)
            if index < plan.model_layers:  # the model's output is never read back (an argmax index may not fit)
                out = plan.decode_tensor(index, raw)[None]
        tensors.append(out)
        encoded.append(raw)
    output = corrupt(plan.layer_count, encoded[-1]) if layer == plan.layer_count else encoded[-1]
    return Trace(plan, encoded + [output])


def wrong_result_trace(plan: DisputePlan, data: bytes, layer: int, runner: Runner | None = None) -> Trace:
    """``trace_with_fault`` whose output really differs from the honest one (tries a few corruptions)."""
    honest = Trace.compute(plan, data, runner).output
    for rows in (1, plan.tensors[layer].rows):
        for flip in (0x7F, 0x55, 0x33, 0x0F, 0x01):
            lying = trace_with_fault(plan, data, layer, runner, flip, rows)
            if lying.output != honest:
                return lying
    raise AssertionError("no corruption of this layer changes the output")
