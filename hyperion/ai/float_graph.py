"""The float model a quantizer starts from (as loaded from ONNX), with a numpy reference forward pass.

This is the offline side: floats are fine here. ``forward`` is the reference
the quantized engine is compared against and the source of the activation
ranges used for calibration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(eq=False)
class FloatDense:
    weight: np.ndarray  # (out, in)
    bias: np.ndarray  # (out,)


@dataclass(eq=False)
class FloatConv2D:
    weight: np.ndarray  # (out_c, in_c, kh, kw)
    bias: np.ndarray
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right


@dataclass(frozen=True)
class FloatReLU:
    pass


@dataclass(frozen=True)
class FloatPool2D:
    is_max: bool
    kernel: tuple[int, int]
    stride: tuple[int, int]


@dataclass(frozen=True)
class FloatFlatten:
    pass


@dataclass(frozen=True)
class FloatSoftmax:
    pass


@dataclass(frozen=True)
class FloatArgmax:
    pass


FloatLayer = Union[FloatDense, FloatConv2D, FloatReLU, FloatPool2D, FloatFlatten, FloatSoftmax, FloatArgmax]


@dataclass(eq=False)
class FloatGraph:
    """A sequential float model over inputs shaped ``(N, *input_shape)``."""

    input_shape: tuple[int, ...]
    layers: list[FloatLayer]


def _windows(x: np.ndarray, kernel, stride) -> np.ndarray:
    return sliding_window_view(x, kernel, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]


def apply_layer(layer: FloatLayer, x: np.ndarray) -> np.ndarray:
    """One float layer on a batch."""
    if isinstance(layer, FloatDense):
        return x @ layer.weight.T + layer.bias
    if isinstance(layer, FloatConv2D):
        top, left, bottom, right = layer.pads
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
        out_c, in_c, kh, kw = layer.weight.shape
        win = _windows(x, (kh, kw), layer.stride)
        n, _, oh, ow = win.shape[:4]
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh, ow, -1)
        return (cols @ layer.weight.reshape(out_c, -1).T + layer.bias).transpose(0, 3, 1, 2)
    if isinstance(layer, FloatReLU):
        return np.maximum(x, 0.0)
    if isinstance(layer, FloatPool2D):
        win = _windows(x, layer.kernel, layer.stride)
        return win.max(axis=(4, 5)) if layer.is_max else win.mean(axis=(4, 5))
    if isinstance(layer, FloatFlatten):
        return x.reshape(x.shape[0], -1)
    if isinstance(layer, FloatSoftmax):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if isinstance(layer, FloatArgmax):
        return np.argmax(x.reshape(x.shape[0], -1), axis=1).reshape(-1, 1)
    raise TypeError(f"unknown float layer {layer!r}")


def forward(graph: FloatGraph, batch: np.ndarray, upto: int | None = None) -> np.ndarray:
    """Run the first ``upto`` layers (all by default) on a float batch."""
    x = np.asarray(batch, dtype=np.float64)
    for layer in graph.layers[:upto]:
        x = apply_layer(layer, x)
    return x


def predict(graph: FloatGraph, batch: np.ndarray) -> np.ndarray:
    """Class index per sample."""
    out = forward(graph, batch)
    if graph.layers and isinstance(graph.layers[-1], FloatArgmax):
        return out[:, 0].astype(np.int64)
    return np.argmax(out.reshape(out.shape[0], -1), axis=1)
