"""A second, independent implementation of integer inference: plain Python ints, no numpy.

It exists to hold ``hyperion.ai.engine`` to its promise: the numpy engine and
this interpreter must produce the same output bytes for every model and
input (``tests/ai/test_reference.py``). Python integers never overflow, so a
bound that the model validation got wrong would show up here as a
difference instead of silently wrapping. It is slow (a few million
multiply-accumulates a second) and meant for tests and audits, not for the
node.
"""

from __future__ import annotations

import math

from hyperion.ai.errors import InferenceError
from hyperion.ai.model import (
    NORM_SQRT_BITS,
    SEQPOOL_MEAN,
    SOFTMAX_ONE,
    Add,
    Argmax,
    Attention,
    Conv2D,
    Dense,
    DType,
    Embedding,
    Flatten,
    Kind,
    LayerNorm,
    Lut,
    Pool2D,
    QuantizedModel,
    ReLU,
    SeqPool,
    Softmax,
)

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _clamp(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value


def _requant(acc: int, multiplier: int, shift: int, low: int, high: int) -> int:
    return _clamp((acc * multiplier + (1 << (shift - 1))) >> shift, low, high)


def _round_half_up_div(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def _ints(array) -> list:
    """A numpy array as nested lists of Python ints (the model's tensors; read once)."""
    return array.tolist()


def _reshape(flat: list, shape: tuple[int, ...]):
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [_reshape(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _flatten(nested) -> list:
    if not isinstance(nested, list):
        return [nested]
    out = []
    for item in nested:
        out.extend(_flatten(item))
    return out


def _map(nested, function):
    if isinstance(nested, list):
        return [_map(item, function) for item in nested]
    return function(nested)


def _dense_vector(x: list, weight: list, bias: list, multiplier: list, shift: list, low: int, high: int) -> list:
    return [_requant(sum(a * b for a, b in zip(x, row)) + bias[o], multiplier[o], shift[o], low, high)
            for o, row in enumerate(weight)]


def _dense(layer: Dense, x):
    weight, bias = _ints(layer.weight), _ints(layer.bias)
    multiplier, shift = _ints(layer.multiplier), _ints(layer.shift)
    low = 0 if layer.relu else (INT8_MIN if layer.out_bits == 8 else INT32_MIN)
    high = INT8_MAX if layer.out_bits == 8 else INT32_MAX
    if x and isinstance(x[0], list):
        return [_dense_vector(row, weight, bias, multiplier, shift, low, high) for row in x]
    return _dense_vector(x, weight, bias, multiplier, shift, low, high)


def _conv(layer: Conv2D, x):
    weight, bias = _ints(layer.weight), _ints(layer.bias)
    multiplier, shift = _ints(layer.multiplier), _ints(layer.shift)
    out_c, in_c, kh, kw = layer.weight.shape
    stride_h, stride_w = layer.stride
    top, left, bottom, right = layer.pads
    height, width = len(x[0]), len(x[0][0])
    out_h = (height + top + bottom - kh) // stride_h + 1
    out_w = (width + left + right - kw) // stride_w + 1
    low = 0 if layer.relu else INT8_MIN

    def pixel(c: int, i: int, j: int) -> int:
        if 0 <= i < height and 0 <= j < width:
            return x[c][i][j]
        return 0  # zero padding

    out = []
    for o in range(out_c):
        plane = []
        for oi in range(out_h):
            row = []
            for oj in range(out_w):
                acc = bias[o]
                for c in range(in_c):
                    for di in range(kh):
                        for dj in range(kw):
                            acc += weight[o][c][di][dj] * pixel(c, oi * stride_h + di - top, oj * stride_w + dj - left)
                row.append(_requant(acc, multiplier[o], shift[o], low, INT8_MAX))
            plane.append(row)
        out.append(plane)
    return out


def _pool(layer: Pool2D, x):
    kh, kw = layer.kernel
    stride_h, stride_w = layer.stride
    out = []
    for plane in x:
        out_h = (len(plane) - kh) // stride_h + 1
        out_w = (len(plane[0]) - kw) // stride_w + 1
        rows = []
        for oi in range(out_h):
            row = []
            for oj in range(out_w):
                window = [plane[oi * stride_h + di][oj * stride_w + dj] for di in range(kh) for dj in range(kw)]
                row.append(max(window) if layer.kind == Kind.MAXPOOL else _round_half_up_div(sum(window), kh * kw))
            rows.append(row)
        out.append(rows)
    return out


def _softmax_probs(values: list, table: list) -> list:
    top = max(values)
    exps = [table[top - v] for v in values]
    total = sum(exps)
    return [(e * SOFTMAX_ONE + total // 2) // total for e in exps]


def _embedding(layer: Embedding, x):
    table, positions = _ints(layer.table), _ints(layer.positions)
    out = []
    for t, token in enumerate(x):
        token &= 0xFF
        if token >= len(table):
            raise InferenceError(f"token id {token} is outside the vocabulary of {len(table)}")
        row = table[token]
        if positions:
            row = [_clamp(a + b, INT8_MIN, INT8_MAX) for a, b in zip(row, positions[t])]
        out.append(list(row))
    return out


def _add(layer: Add, x, other):
    rounding = 1 << (layer.shift - 1)
    flat = [_clamp((a * layer.multiplier + b * layer.other_multiplier + rounding) >> layer.shift, INT8_MIN, INT8_MAX)
            for a, b in zip(_flatten(x), _flatten(other))]
    return _reshape(flat, _shape(x))


def _shape(nested) -> tuple[int, ...]:
    shape = []
    while isinstance(nested, list):
        shape.append(len(nested))
        nested = nested[0] if nested else None
    return tuple(shape)


def _norm_row(row: list, gain: list, bias: list, shift: int) -> list:
    width = len(row)
    total = sum(row)
    deviation = [width * v - total for v in row]
    den = math.isqrt(sum(d * d for d in deviation) << (2 * NORM_SQRT_BITS))
    out = []
    for d, g, b in zip(deviation, gain, bias):
        scaled = _round_half_up_div((d * g) << NORM_SQRT_BITS, den) if den else 0
        out.append(_clamp((scaled + b + (1 << (shift - 1))) >> shift, INT8_MIN, INT8_MAX))
    return out


def _layernorm(layer: LayerNorm, x):
    gain, bias = _ints(layer.gain), _ints(layer.bias)
    if x and isinstance(x[0], list):
        return [_norm_row(row, gain, bias, layer.shift) for row in x]
    return _norm_row(x, gain, bias, layer.shift)


def _attention(layer: Attention, x):
    table = _ints(layer.exp_table)
    seq = len(x)
    width = len(x[0]) // 3
    head_dim = width // layer.heads
    out = [[0] * width for _ in range(seq)]
    for h in range(layer.heads):
        lo, hi = h * head_dim, (h + 1) * head_dim
        queries = [row[lo:hi] for row in x]
        keys = [row[width + lo:width + hi] for row in x]
        values = [row[2 * width + lo:2 * width + hi] for row in x]
        for i in range(seq):
            visible = range(i + 1) if layer.causal else range(seq)
            z = [_requant(sum(a * b for a, b in zip(queries[i], keys[j])), layer.score_multiplier, layer.score_shift,
                          INT8_MIN, INT8_MAX) for j in visible]
            probs = _softmax_probs(z, table)
            for d in range(head_dim):
                acc = sum(p * values[j][d] for p, j in zip(probs, visible))
                out[i][lo + d] = _requant(acc, layer.out_multiplier, layer.out_shift, INT8_MIN, INT8_MAX)
    return out


def _seqpool(layer: SeqPool, x):
    if layer.mode == SEQPOOL_MEAN:
        return [_round_half_up_div(sum(column), len(x)) for column in zip(*x)]
    return list(x[-1])


def run_layer(layer, x, other=None):
    """One layer on nested lists of ints (the residual tensor ``other`` for an Add)."""
    if isinstance(layer, Dense):
        return _dense(layer, x)
    if isinstance(layer, Conv2D):
        return _conv(layer, x)
    if isinstance(layer, ReLU):
        return _map(x, lambda v: v if v > 0 else 0)
    if isinstance(layer, Pool2D):
        return _pool(layer, x)
    if isinstance(layer, Flatten):
        return _flatten(x)
    if isinstance(layer, Softmax):
        return _softmax_probs(x, _ints(layer.exp_table))
    if isinstance(layer, Argmax):
        flat = _flatten(x)
        return [flat.index(max(flat))]
    if isinstance(layer, Embedding):
        return _embedding(layer, x)
    if isinstance(layer, Add):
        return _add(layer, x, other)
    if isinstance(layer, LayerNorm):
        return _layernorm(layer, x)
    if isinstance(layer, Attention):
        return _attention(layer, x)
    if isinstance(layer, Lut):
        table = _ints(layer.table)
        return _map(x, lambda v: table[v + 128])
    if isinstance(layer, SeqPool):
        return _seqpool(layer, x)
    raise InferenceError(f"no reference for layer {type(layer).__name__}")


def encode(values: list, dtype: DType) -> bytes:
    """Output bytes, written out without numpy (int8 raw, int32 big-endian, an index as a uint256 word)."""
    flat = _flatten(values)
    if dtype == DType.INDEX:
        return flat[0].to_bytes(32, "big")
    if dtype == DType.INT32:
        return b"".join(v.to_bytes(4, "big", signed=True) for v in flat)
    return bytes(v & 0xFF for v in flat)


def run_all(model: QuantizedModel, data: bytes) -> list:
    """Every tensor of one inference as nested lists: ``[input, layer 1, ..., layer L]``."""
    if len(data) != model.input_size:
        raise InferenceError(f"input must be {model.input_size} bytes, got {len(data)}")
    tensors = [_reshape([b - 256 if b > 127 else b for b in data], model.input_shape)]
    for layer, plan in zip(model.layers, model.plans):
        other = tensors[plan.other] if plan.other is not None else None
        tensors.append(run_layer(layer, tensors[-1], other))
    return tensors


def run(model: QuantizedModel, data: bytes) -> bytes:
    """One inference, the same contract as ``engine.Runner.run``."""
    return encode(run_all(model, data)[-1], model.output_dtype)
