"""Integer-only inference: identical output bytes on every CPU.

Every tensor is an int64 numpy array holding int8 or int32 values, every
operation is an integer operation with one defined result (matmul over int64
never goes through BLAS or floating point; rounding is written out in
``fixedpoint``), and model decoding has already proven that no accumulator
leaves int32. There is no float anywhere on this path.

``Runner(model)`` prepares int64 copies of the weights once; ``run(bytes)``
executes one input, ``forward(int8 batch)`` many (used for accuracy checks),
``forward_all`` keeps every intermediate tensor (the verification trace).
``hyperion.ai.reference`` is an independent pure-Python implementation of
the same arithmetic that the tests hold this one to, bit for bit.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hyperion.ai.errors import InferenceError
from hyperion.ai.fixedpoint import INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, Requantizer, isqrt, round_half_up_div
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

# A kernel computes one layer on a batch: ``kernel(x, other, rows) -> y`` where ``x`` is the
# previous tensor (N, ...), ``other`` the residual tensor of an Add (else None) and ``rows``
# a ``slice`` of the output's first per-sample axis, or None for all of it. Computing a
# slice gives exactly the same values as slicing the full result: verification re-executes
# one chunk of rows of one layer on chain.


def _take(array: np.ndarray, rows):
    return array if rows is None else array[rows]


def _dense_kernel(layer: Dense):
    weight = layer.weight.astype(np.int64)
    weight_t = np.ascontiguousarray(weight.T)
    bias = layer.bias.astype(np.int64)
    low = 0 if layer.relu else (INT8_MIN if layer.out_bits == 8 else INT32_MIN)
    high = INT8_MAX if layer.out_bits == 8 else INT32_MAX
    requantize = Requantizer(layer.multiplier, layer.shift, low, high)

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        if rows is None:
            acc = x @ weight_t
            acc += bias
            return requantize(acc)
        if x.ndim == 2:  # a vector: rows are output features
            acc = x @ np.ascontiguousarray(weight[rows].T) + bias[rows]
            return requantize.rows(rows)(acc)
        acc = x[:, rows] @ weight_t  # a sequence: rows are positions
        acc += bias
        return requantize(acc)

    return kernel


def _conv_kernel(layer: Conv2D):
    out_c, in_c, kh, kw = layer.weight.shape
    kernel_t = np.ascontiguousarray(layer.weight.astype(np.int64).reshape(out_c, in_c * kh * kw).T)
    bias = layer.bias.astype(np.int64)
    stride_h, stride_w = layer.stride
    top, left, bottom, right = layer.pads
    requantize = Requantizer(layer.multiplier, layer.shift, 0 if layer.relu else INT8_MIN, INT8_MAX)

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        if top or left or bottom or right:  # zero point is 0, so zero padding is exact
            x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride_h, ::stride_w]
        n, _, out_h, out_w = windows.shape[:4]
        # (N, C, OH, OW, kh, kw) -> (N, OH, OW, C*kh*kw), same (c, i, j) order as the kernel rows
        columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, out_h, out_w, in_c * kh * kw)
        if rows is None:
            acc = columns @ kernel_t + bias  # (N, OH, OW, OC)
            return requantize(acc).transpose(0, 3, 1, 2)
        acc = columns @ np.ascontiguousarray(kernel_t[:, rows]) + bias[rows]  # rows are output channels
        return requantize.rows(rows)(acc).transpose(0, 3, 1, 2)

    return kernel


def _pool_kernel(layer: Pool2D):
    kh, kw = layer.kernel
    stride_h, stride_w = layer.stride
    area = kh * kw
    is_max = layer.kind == Kind.MAXPOOL

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        if rows is not None:
            x = x[:, rows]  # rows are channels
        windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride_h, ::stride_w]
        if is_max:
            return windows.max(axis=(4, 5))
        return round_half_up_div(windows.sum(axis=(4, 5)), area)

    return kernel


def _softmax_kernel(layer: Softmax):
    table = layer.exp_table.astype(np.int64)

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        exps = table[x.max(axis=1, keepdims=True) - x]  # differences are in 0..255 for int8 inputs
        total = exps.sum(axis=1, keepdims=True)
        return np.floor_divide(exps * SOFTMAX_ONE + total // 2, total)

    return kernel


def _embedding_kernel(layer: Embedding):
    table = layer.table.astype(np.int64)
    positions = layer.positions.astype(np.int64) if layer.positions.shape[0] else None
    vocab = table.shape[0]

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        ids = np.bitwise_and(_take_axis1(x, rows), 0xFF)  # bytes are token ids 0..255
        if ids.size and int(ids.max()) >= vocab:
            raise InferenceError(f"token id {int(ids.max())} is outside the vocabulary of {vocab}")
        out = table[ids]
        if positions is not None:
            out = out + _take(positions, rows)
        return np.clip(out, INT8_MIN, INT8_MAX)

    return kernel


def _add_kernel(layer: Add):
    multiplier, other_multiplier = np.int64(layer.multiplier), np.int64(layer.other_multiplier)
    rounding, shift = np.int64(1 << (layer.shift - 1)), np.int64(layer.shift)

    def kernel(x: np.ndarray, other: np.ndarray, rows) -> np.ndarray:
        total = _take_axis1(x, rows) * multiplier + _take_axis1(other, rows) * other_multiplier + rounding
        return np.clip(np.right_shift(total, shift), INT8_MIN, INT8_MAX)

    return kernel


def layer_norm_rows(x: np.ndarray, gain: np.ndarray, bias: np.ndarray, shift: int) -> np.ndarray:
    """Integer layer norm over the last axis of ``x`` (int64 in, int64 out; see ``LayerNorm``)."""
    width = x.shape[-1]
    deviation = width * x - x.sum(axis=-1, keepdims=True)  # D * (x - mean), exact
    spread = (deviation * deviation).sum(axis=-1, keepdims=True)
    den = isqrt(spread << (2 * NORM_SQRT_BITS))  # sqrt(spread) * 2**8
    numerator = deviation * gain << NORM_SQRT_BITS
    safe = np.maximum(den, 1)
    scaled = np.where(den > 0, np.floor_divide(2 * numerator + safe, 2 * safe), 0)
    out = np.right_shift(scaled + bias + (1 << (shift - 1)), shift)
    return np.clip(out, INT8_MIN, INT8_MAX)


def _layernorm_kernel(layer: LayerNorm):
    gain, bias, shift = layer.gain.astype(np.int64), layer.bias.astype(np.int64), layer.shift

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        return layer_norm_rows(_take_axis1(x, rows), gain, bias, shift)

    return kernel


def _attention_kernel(layer: Attention):
    table = layer.exp_table.astype(np.int64)
    heads, causal = layer.heads, layer.causal
    score = Requantizer(np.int64(layer.score_multiplier), np.int64(layer.score_shift), INT8_MIN, INT8_MAX)
    out = Requantizer(np.int64(layer.out_multiplier), np.int64(layer.out_shift), INT8_MIN, INT8_MAX)

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        n, seq, fused = x.shape
        width = fused // 3
        head_dim = width // heads
        first = 0 if rows is None else rows.start
        queries = x[:, :, :width] if rows is None else x[:, rows, :width]
        count = queries.shape[1]
        # (N, heads, T, head_dim)
        q = queries.reshape(n, count, heads, head_dim).transpose(0, 2, 1, 3)
        k = x[:, :, width:2 * width].reshape(n, seq, heads, head_dim).transpose(0, 2, 1, 3)
        v = x[:, :, 2 * width:].reshape(n, seq, heads, head_dim).transpose(0, 2, 1, 3)
        z = score(q @ k.transpose(0, 1, 3, 2))  # (N, heads, count, T) in int8 range
        if causal:
            visible = np.arange(seq)[None, :] <= np.arange(first, first + count)[:, None]
            z_max = np.where(visible, z, INT8_MIN).max(axis=-1, keepdims=True)
            exps = np.where(visible, table[np.clip(z_max - z, 0, 255)], 0)
        else:
            exps = table[z.max(axis=-1, keepdims=True) - z]
        total = exps.sum(axis=-1, keepdims=True)
        probs = np.floor_divide(exps * SOFTMAX_ONE + total // 2, total)  # Q16
        y = out(probs @ v)  # (N, heads, count, head_dim)
        return y.transpose(0, 2, 1, 3).reshape(n, count, width)

    return kernel


def _lut_kernel(layer: Lut):
    table = layer.table.astype(np.int64)

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        return table[_take_axis1(x, rows) + 128]

    return kernel


def _seqpool_kernel(layer: SeqPool):
    mean = layer.mode == SEQPOOL_MEAN

    def kernel(x: np.ndarray, other, rows) -> np.ndarray:
        if mean:
            return round_half_up_div(x.sum(axis=1), x.shape[1])
        return x[:, -1]

    return kernel


def _take_axis1(x: np.ndarray, rows):
    return x if rows is None else x[:, rows]


def _relu(x: np.ndarray, other, rows) -> np.ndarray:
    return np.maximum(_take_axis1(x, rows), 0)


def _flatten(x: np.ndarray, other, rows) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def _argmax(x: np.ndarray, other, rows) -> np.ndarray:
    return x.reshape(x.shape[0], -1).argmax(axis=1).reshape(-1, 1)


_KERNELS = {
    Dense: _dense_kernel, Conv2D: _conv_kernel, Pool2D: _pool_kernel, Softmax: _softmax_kernel,
    Embedding: _embedding_kernel, Add: _add_kernel, LayerNorm: _layernorm_kernel, Attention: _attention_kernel,
    Lut: _lut_kernel, SeqPool: _seqpool_kernel,
}
_STATELESS = {ReLU: _relu, Flatten: _flatten, Argmax: _argmax}


def kernel_for(layer):
    """The batch kernel of one layer (see the comment above ``_dense_kernel``)."""
    factory = _KERNELS.get(type(layer))
    if factory is not None:
        return factory(layer)
    stateless = _STATELESS.get(type(layer))
    if stateless is not None:
        return stateless
    raise InferenceError(f"no kernel for layer {type(layer).__name__}")


class Runner:
    """A model prepared for repeated inference."""

    __slots__ = ("model", "input_size", "input_shape", "kernels", "_others", "_keep", "_output_dtype")

    def __init__(self, model: QuantizedModel):
        self.model = model
        self.input_shape = model.input_shape
        self.input_size = model.input_size
        self.kernels = tuple(kernel_for(layer) for layer in model.layers)
        self._others = tuple(plan.other for plan in model.plans)
        # tensors some later Add reads; all others are dropped as soon as the next layer ran
        self._keep = frozenset(other for other in self._others if other is not None)
        self._output_dtype = model.output_dtype

    def _check_batch(self, batch: np.ndarray) -> np.ndarray:
        x = np.asarray(batch)
        if x.shape[1:] != self.input_shape:
            raise InferenceError(f"input batch must have shape (N, {self.input_shape}), got {x.shape}")
        x = x.astype(np.int64)
        if x.size and (x.min() < INT8_MIN or x.max() > INT8_MAX):
            raise InferenceError("inputs must be int8 values")
        return x

    def _run(self, x: np.ndarray, keep_all: bool = False) -> list:
        kept = {0: x} if (keep_all or 0 in self._keep) else {}
        for index, (kernel, other) in enumerate(zip(self.kernels, self._others), start=1):
            x = kernel(x, None if other is None else (x if other == index - 1 else kept[other]), None)
            if keep_all or index in self._keep:
                kept[index] = x
        if keep_all:
            return [kept[i] for i in range(len(self.kernels) + 1)]
        return [x]

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Run int8 inputs shaped ``(N, *input_shape)``; returns the int64 output tensor ``(N, ...)``."""
        return self._run(self._check_batch(batch))[-1]

    def forward_all(self, batch: np.ndarray) -> list[np.ndarray]:
        """Every tensor of the run: ``[input, output of layer 1, ..., output of layer L]`` (each (N, ...))."""
        return self._run(self._check_batch(batch), keep_all=True)

    def run(self, data: bytes) -> bytes:
        """One inference: ``input_size`` int8 bytes in, the encoded output tensor out."""
        if len(data) != self.input_size:
            raise InferenceError(f"input must be {self.input_size} bytes (shape {self.input_shape}), got {len(data)}")
        x = np.frombuffer(data, dtype=np.int8).astype(np.int64).reshape((1, *self.input_shape))
        return encode_output(self._run(x)[-1][0], self._output_dtype)  # int8 bytes are in range by construction

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class index per sample (argmax of the output, or the argmax layer's result)."""
        out = self.forward(batch)
        if self._output_dtype == DType.INDEX:
            return out[:, 0]
        return np.argmax(out.reshape(out.shape[0], -1), axis=1)


def encode_output(tensor: np.ndarray, dtype: DType) -> bytes:
    """Output bytes: int8 raw, int32 4-byte big-endian, an argmax index as a uint256 word."""
    if dtype == DType.INDEX:
        return int(tensor.reshape(-1)[0]).to_bytes(32, "big")
    if dtype == DType.INT32:
        return tensor.astype(">i4").tobytes()
    return tensor.astype(np.int8).tobytes()


def decode_output(data: bytes, model: QuantizedModel) -> np.ndarray:
    """Inverse of ``encode_output`` for ``model``'s output (int64 array of the output shape)."""
    dtype = model.output_dtype
    if len(data) != model.output_size:
        raise InferenceError(f"output must be {model.output_size} bytes, got {len(data)}")
    if dtype == DType.INDEX:
        return np.array([int.from_bytes(data, "big")], dtype=np.int64)
    raw = np.frombuffer(data, dtype=">i4" if dtype == DType.INT32 else np.int8)
    return raw.astype(np.int64).reshape(model.output_shape)


def infer(model: QuantizedModel, data: bytes) -> bytes:
    """Convenience one-shot inference (prefer a cached ``Runner`` for repeated calls)."""
    return Runner(model).run(data)
