"""Models with random weights, for tests and benchmarks of the parts that do not care what a model knows.

``conv_tower`` builds a deep 3x3 convolution stack whose size is set by its
multiply-accumulate count (the 150M-MAC model of the verification tests is
``conv_tower()``: 17 layers, about 151M MACs in 175 KB of weights). Each
layer's requantization is calibrated on the integer activations of a few
random inputs, so activations stay spread over the int8 range instead of
saturating or collapsing to zero, and a wrong layer changes the output.
"""

from __future__ import annotations

import numpy as np

from hyperion.ai.engine import kernel_for
from hyperion.ai.fixedpoint import quantize_multiplier
from hyperion.ai.model import Argmax, Conv2D, Dense, Flatten, Kind, Pool2D, QuantizedModel

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
