"""Fixed-point requantization: the only place where scales meet integers.

A real rescaling factor ``r`` (e.g. ``input_scale * weight_scale / output_scale``)
is represented as ``multiplier * 2**-shift`` with ``multiplier`` in
``[2**30, 2**31)`` and ``1 <= shift <= 62``. ``quantize_multiplier`` (float,
used only by the offline quantizer) picks that pair; ``requantize`` (integer
only, used by the inference engine) applies it with round-half-up:

    requantize(acc) = (acc * multiplier + 2**(shift-1)) >> shift      (arithmetic shift = floor)

Accumulators are proven to fit in int32 when a model is decoded (see
``model.py``), so ``acc * multiplier`` < 2**62 and the int64 arithmetic numpy
does here is exact on every CPU.
"""

from __future__ import annotations

import math

import numpy as np

MULTIPLIER_BITS = 31
MIN_SHIFT = 1
MAX_SHIFT = 62
INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``(multiplier, shift)`` with ``multiplier * 2**-shift ~= real`` (offline only; ``real >= 0``)."""
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"rescale factor must be finite and non-negative, got {real!r}")
    if real == 0.0:
        return 0, MIN_SHIFT
    mantissa, exponent = math.frexp(real)  # real = mantissa * 2**exponent, mantissa in [0.5, 1)
    multiplier = round(mantissa * (1 << MULTIPLIER_BITS))
    if multiplier == 1 << MULTIPLIER_BITS:
        multiplier //= 2
        exponent += 1
    shift = MULTIPLIER_BITS - exponent
    if shift < MIN_SHIFT:
        raise ValueError(f"rescale factor {real!r} is too large for fixed-point requantization")
    if shift > MAX_SHIFT:  # a tiny factor: drop mantissa bits rather than overflow the shift
        multiplier >>= shift - MAX_SHIFT
        shift = MAX_SHIFT
    return multiplier, shift


def requantize(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray, low: int, high: int) -> np.ndarray:
    """Integer rescale with round-half-up, then saturate to ``[low, high]`` (int64 in, int64 out).

    ``multiplier`` and ``shift`` broadcast against ``acc`` (per output channel).
    """
    return Requantizer(multiplier, shift, low, high)(acc)


class Requantizer:
    """``requantize`` with its per-channel constants prepared once (the engine's hot path)."""

    __slots__ = ("multiplier", "shift", "rounding", "low", "high")

    def __init__(self, multiplier: np.ndarray, shift: np.ndarray, low: int, high: int):
        self.multiplier = np.asarray(multiplier, dtype=np.int64)
        self.shift = np.asarray(shift, dtype=np.int64)
        self.rounding = np.left_shift(np.int64(1), self.shift - 1)
        self.low = np.int64(low)
        self.high = np.int64(high)

    def rows(self, rows: slice) -> "Requantizer":
        """The same rescale for a slice of the output channels."""
        return Requantizer(self.multiplier[rows], self.shift[rows], int(self.low), int(self.high))

    def __call__(self, acc: np.ndarray) -> np.ndarray:
        scaled = acc * self.multiplier  # a fresh array: the in-place steps below cannot touch ``acc``
        scaled += self.rounding
        np.right_shift(scaled, self.shift, out=scaled)
        np.maximum(scaled, self.low, out=scaled)
        np.minimum(scaled, self.high, out=scaled)
        return scaled


def round_half_up_div(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """``round(numerator / denominator)`` with halves rounded up, in integers (denominator > 0)."""
    return np.floor_divide(2 * numerator + denominator, 2 * denominator)


def isqrt(values: np.ndarray) -> np.ndarray:
    """Element-wise ``floor(sqrt(v))`` of non-negative int64 values below 2**62, in integers only.

    Newton's iteration from a power of two above the root decreases
    monotonically to the floor of the root; no float is involved.
    """
    values = np.asarray(values, dtype=np.int64)
    bits = np.zeros_like(values)
    rest = values.copy()
    for step in (32, 16, 8, 4, 2, 1):
        high = rest >= (1 << step)
        bits += high * step
        rest = np.where(high, rest >> step, rest)
    bits += rest > 0  # bits = bit length of each value
    root = np.left_shift(np.int64(1), (bits + 1) // 2)  # >= sqrt(v), and 1 for v = 0
    while True:
        better = (root + values // root) >> 1
        lower = (better < root) & (better > 0)  # v = 0 would reach root 0: it stays 1 and is masked below
        if not lower.any():
            break
        root = np.where(lower, better, root)
    return np.where(values == 0, 0, root)
