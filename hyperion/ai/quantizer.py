"""Post-training quantization: ``FloatGraph`` + calibration inputs -> ``QuantizedModel``.

Symmetric int8 everywhere (zero point 0): the input scale is ``max|x| / 127``
over the calibration set, weights get one scale per output channel
(``max|w| / 127``), biases are int32 at ``input_scale * weight_scale``, and each
layer's output scale comes from the float model's activation range on the
calibration set. A ReLU that follows a Dense/Conv is fused into it. The last
Dense before an argmax (or at the end of the graph) keeps int32 outputs so
that close logits do not collapse into ties. A softmax gets a 256-entry
fixed-point exp table computed from its input scale.

Floats are used only here, offline; the result is pure integers.
"""

from __future__ import annotations

import math

import numpy as np

from hyperion.ai.errors import ModelFormatError, QuantizationError
from hyperion.ai.fixedpoint import quantize_multiplier
from hyperion.ai.float_graph import (
    FloatArgmax,
    FloatConv2D,
    FloatDense,
    FloatFlatten,
    FloatGraph,
    FloatPool2D,
    FloatReLU,
    FloatSoftmax,
    apply_layer,
)
from hyperion.ai.model import (
    SOFTMAX_ONE,
    SOFTMAX_TABLE_SIZE,
    Argmax,
    Conv2D,
    Dense,
    Flatten,
    Kind,
    Pool2D,
    QuantizedModel,
    ReLU,
    Softmax,
)

INT32_LOGIT_LEVELS = 2**20  # resolution of int32 logits: max |logit| maps to 2**20


def _scale_for(values: np.ndarray, levels: int = 127) -> float:
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    return peak / levels if peak > 0 else 1.0


def _q32(scale: float) -> int:
    return max(0, round(scale * 2**32))


def quantize_input(model: QuantizedModel, batch: np.ndarray) -> np.ndarray:
    """Float inputs -> int8 with the model's recorded input scale (round half to even, saturating).

    Clients (SDK, CLI, the training script) all use this, so the scale that
    matters is the one in the model bytes, ``input_scale_q32 / 2**32``.
    """
    if model.input_scale_q32 <= 0:
        raise QuantizationError("the model records no input scale")
    scaled = np.asarray(batch, dtype=np.float64) * (2**32 / model.input_scale_q32)
    return np.clip(np.rint(scaled), -128, 127).astype(np.int8)


def _requant_params(weight: np.ndarray, bias: np.ndarray, in_scale: float, out_scale: float):
    channels = weight.shape[0]
    flat = weight.reshape(channels, -1)
    w_scale = np.array([_scale_for(row) for row in flat])
    w_q = np.clip(np.rint(flat / w_scale[:, None]), -127, 127).astype(np.int8).reshape(weight.shape)
    b_q = np.rint(bias / (in_scale * w_scale))
    if np.any(np.abs(b_q) > 2**31 - 1):
        raise QuantizationError("a bias does not fit int32 at this input scale")
    pairs = [quantize_multiplier(in_scale * s / out_scale) for s in w_scale]
    multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.uint8)
    return w_q, b_q.astype(np.int32), multiplier, shift


def quantize_graph(graph: FloatGraph, calibration: np.ndarray) -> tuple[QuantizedModel, float]:
    """Quantize ``graph``; returns the model and the float input scale clients must use."""
    x = np.asarray(calibration, dtype=np.float64)
    if x.ndim != len(graph.input_shape) + 1 or x.shape[1:] != tuple(graph.input_shape) or len(x) == 0:
        raise QuantizationError(f"calibration data must be (N, {graph.input_shape}), got {x.shape}")
    input_scale = _scale_for(x)
    scale = input_scale
    layers = []
    output_scale = input_scale
    float_layers = list(graph.layers)
    i = 0
    while i < len(float_layers):
        layer = float_layers[i]
        nxt = float_layers[i + 1] if i + 1 < len(float_layers) else None
        if isinstance(layer, (FloatDense, FloatConv2D)):
            y = apply_layer(layer, x)
            fuse_relu = isinstance(nxt, FloatReLU)
            if fuse_relu:
                y = np.maximum(y, 0.0)
            rest = float_layers[i + (2 if fuse_relu else 1):]
            wide = isinstance(layer, FloatDense) and all(isinstance(r, FloatArgmax) for r in rest)
            out_scale = _scale_for(y, INT32_LOGIT_LEVELS if wide else 127)
            w_q, b_q, multiplier, shift = _requant_params(layer.weight, layer.bias, scale, out_scale)
            if isinstance(layer, FloatDense):
                layers.append(Dense(w_q, b_q, multiplier, shift, relu=fuse_relu, out_bits=32 if wide else 8))
            else:
                layers.append(Conv2D(w_q, b_q, multiplier, shift, layer.stride, layer.pads, relu=fuse_relu))
            scale = output_scale = out_scale
            x = y
            i += 2 if fuse_relu else 1
            continue
        if isinstance(layer, FloatReLU):
            layers.append(ReLU())
        elif isinstance(layer, FloatPool2D):
            layers.append(Pool2D(Kind.MAXPOOL if layer.is_max else Kind.AVGPOOL, layer.kernel, layer.stride))
        elif isinstance(layer, FloatFlatten):
            layers.append(Flatten())
        elif isinstance(layer, FloatSoftmax):
            table = [round(SOFTMAX_ONE * math.exp(-d * scale)) for d in range(SOFTMAX_TABLE_SIZE)]
            layers.append(Softmax(np.array(table, dtype=np.int32)))
            scale = output_scale = 1.0 / SOFTMAX_ONE
        elif isinstance(layer, FloatArgmax):
            layers.append(Argmax())
            output_scale = 0.0
        else:
            raise QuantizationError(f"cannot quantize {type(layer).__name__}")
        x = apply_layer(layer, x)
        i += 1
    try:
        model = QuantizedModel.create(graph.input_shape, layers, _q32(input_scale), _q32(output_scale))
    except ModelFormatError as exc:
        raise QuantizationError(f"quantized model is invalid: {exc}") from None
    return model, input_scale
