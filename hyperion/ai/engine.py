"""Integer-only inference: identical output bytes on every CPU.

Every tensor is an int64 numpy array holding int8 or int32 values, every
operation is an integer operation with one defined result (matmul over int64
never goes through BLAS or floating point; rounding is written out in
``fixedpoint``), and model decoding has already proven that no accumulator
leaves int32. There is no float anywhere on this path.

``Runner(model)`` prepares int64 copies of the weights once; ``run(bytes)``
executes one input, ``run_batch(int8 array)`` many (used for accuracy checks).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hyperion.ai.errors import InferenceError
from hyperion.ai.fixedpoint import INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, Requantizer, round_half_up_div
from hyperion.ai.model import (
    SOFTMAX_ONE,
    Argmax,
    Conv2D,
    Dense,
    DType,
    Flatten,
    Kind,
    Pool2D,
    QuantizedModel,
    ReLU,
    Softmax,
)


def _dense_step(layer: Dense):
    weight_t = np.ascontiguousarray(layer.weight.astype(np.int64).T)
    bias = layer.bias.astype(np.int64)
    low = 0 if layer.relu else (INT8_MIN if layer.out_bits == 8 else INT32_MIN)
    high = INT8_MAX if layer.out_bits == 8 else INT32_MAX
    requantize = Requantizer(layer.multiplier, layer.shift, low, high)

    def step(x: np.ndarray) -> np.ndarray:
        acc = x @ weight_t
        acc += bias
        return requantize(acc)

    return step


def _conv_step(layer: Conv2D):
    out_c, in_c, kh, kw = layer.weight.shape
    kernel_t = np.ascontiguousarray(layer.weight.astype(np.int64).reshape(out_c, in_c * kh * kw).T)
    bias = layer.bias.astype(np.int64)
    stride_h, stride_w = layer.stride
    top, left, bottom, right = layer.pads
    requantize = Requantizer(layer.multiplier, layer.shift, 0 if layer.relu else INT8_MIN, INT8_MAX)

    def step(x: np.ndarray) -> np.ndarray:
        if top or left or bottom or right:  # zero point is 0, so zero padding is exact
            x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride_h, ::stride_w]
        n, _, out_h, out_w = windows.shape[:4]
        # (N, C, OH, OW, kh, kw) -> (N, OH, OW, C*kh*kw), same (c, i, j) order as the kernel rows
        columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, out_h, out_w, in_c * kh * kw)
        acc = columns @ kernel_t + bias  # (N, OH, OW, OC)
        return requantize(acc).transpose(0, 3, 1, 2)

    return step


def _pool_step(layer: Pool2D):
    kh, kw = layer.kernel
    stride_h, stride_w = layer.stride
    area = kh * kw
    is_max = layer.kind == Kind.MAXPOOL

    def step(x: np.ndarray) -> np.ndarray:
        windows = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride_h, ::stride_w]
        if is_max:
            return windows.max(axis=(4, 5))
        return round_half_up_div(windows.sum(axis=(4, 5)), area)

    return step


def _softmax_step(layer: Softmax):
    table = layer.exp_table.astype(np.int64)

    def step(x: np.ndarray) -> np.ndarray:
        exps = table[x.max(axis=1, keepdims=True) - x]  # differences are in 0..255 for int8 inputs
        total = exps.sum(axis=1, keepdims=True)
        return np.floor_divide(exps * SOFTMAX_ONE + total // 2, total)

    return step


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def _flatten(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1)


def _argmax(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0], -1).argmax(axis=1).reshape(-1, 1)


def _step_for(layer):
    if isinstance(layer, Dense):
        return _dense_step(layer)
    if isinstance(layer, Conv2D):
        return _conv_step(layer)
    if isinstance(layer, Pool2D):
        return _pool_step(layer)
    if isinstance(layer, Softmax):
        return _softmax_step(layer)
    if isinstance(layer, ReLU):
        return _relu
    if isinstance(layer, Flatten):
        return _flatten
    if isinstance(layer, Argmax):
        return _argmax
    raise InferenceError(f"no kernel for layer {type(layer).__name__}")


class Runner:
    """A model prepared for repeated inference."""

    __slots__ = ("model", "input_size", "input_shape", "_steps", "_output_dtype")

    def __init__(self, model: QuantizedModel):
        self.model = model
        self.input_shape = model.input_shape
        self.input_size = model.input_size
        self._steps = tuple(_step_for(layer) for layer in model.layers)
        self._output_dtype = model.output_dtype

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """Run int8 inputs shaped ``(N, *input_shape)``; returns the int64 output tensor ``(N, ...)``."""
        x = np.asarray(batch)
        if x.shape[1:] != self.input_shape:
            raise InferenceError(f"input batch must have shape (N, {self.input_shape}), got {x.shape}")
        x = x.astype(np.int64)
        if x.size and (x.min() < INT8_MIN or x.max() > INT8_MAX):
            raise InferenceError("inputs must be int8 values")
        for step in self._steps:
            x = step(x)
        return x

    def run(self, data: bytes) -> bytes:
        """One inference: ``input_size`` int8 bytes in, the encoded output tensor out."""
        if len(data) != self.input_size:
            raise InferenceError(f"input must be {self.input_size} bytes (shape {self.input_shape}), got {len(data)}")
        x = np.frombuffer(data, dtype=np.int8).astype(np.int64).reshape((1, *self.input_shape))
        for step in self._steps:  # int8 bytes are in range by construction: no check needed
            x = step(x)
        return encode_output(x[0], self._output_dtype)

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
