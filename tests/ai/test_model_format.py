"""The HYQM format: canonical bytes, content hash, and validation of everything inference relies on."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.ai.digits import load_digits_metadata
from hyperion.ai.errors import ModelFormatError
from hyperion.ai.fixedpoint import quantize_multiplier, requantize, round_half_up_div
from hyperion.ai.model import (
    Argmax,
    Dense,
    Flatten,
    Kind,
    Pool2D,
    QuantizedModel,
    ReLU,
    decode_model,
    model_hash,
)
from hyperion.primitives import rlp


def _dense(out_f=3, in_f=4, seed=0, **kw) -> Dense:
    rng = np.random.default_rng(seed)
    return Dense(rng.integers(-127, 128, (out_f, in_f)).astype(np.int8), rng.integers(-1000, 1000, out_f).astype(np.int32),
                 np.full(out_f, 1 << 30, np.int32), np.full(out_f, 36, np.uint8), **kw)


def test_round_trip_and_hash(digits_model):
    data = digits_model.encode()
    again = decode_model(data)
    assert again.encode() == data
    assert again.content_hash == model_hash(data) == digits_model.content_hash
    assert "0x" + digits_model.content_hash.hex() == load_digits_metadata()["model_hash"]
    assert digits_model.macs == 64 * 32 + 32 * 10
    assert digits_model.input_shape == (64,) and digits_model.output_size == 32


def test_hash_changes_with_any_weight(digits_model):
    layer = digits_model.layers[0]
    weight = layer.weight.copy()
    weight[0, 0] ^= 1
    changed = QuantizedModel.create(digits_model.input_shape,
                                    (Dense(weight, layer.bias, layer.multiplier, layer.shift, layer.relu, layer.out_bits),
                                     *digits_model.layers[1:]), digits_model.input_scale_q32)
    assert changed.content_hash != digits_model.content_hash


@pytest.mark.parametrize("data", [b"", b"\x00", b"garbage", rlp.encode([b"HYQX", 1, [64], 0, 0, []]),
                                  rlp.encode([b"HYQM", 2, [4], 0, 0, [[8, [], []]]]),
                                  rlp.encode([b"HYQM", 1, [4], 0, 0, [[99, [], []]]]),
                                  rlp.encode([b"HYQM", 1, [4], 0, 0, []]),
                                  rlp.encode([b"HYQM", 1, [], 0, 0, [[8, [], []]]]),
                                  rlp.encode([b"HYQM", 1, [4], 0, 0, [[1, [4, 3, 0, 8], [b"\x01", b"", b"", b""]]]]),
                                  rlp.encode([b"HYQM", 1, [4], 0, 0, [[8, [1], []]]]),
                                  rlp.encode([b"HYQM", 1, [4], 0, 0, [[8, [], []], [3, [], []]]])])
def test_malformed_models_are_refused(data):
    with pytest.raises(ModelFormatError):
        decode_model(data)
    assert issubclass(ModelFormatError, ValueError)


def test_truncated_and_extended_bytes_are_refused(digits_model):
    data = digits_model.encode()
    for bad in (data[:-1], data + b"\x00", data[:100]):
        with pytest.raises(ModelFormatError):
            decode_model(bad)


def test_accumulator_overflow_is_refused_at_decode():
    in_f = 60_000  # 127 * 128 * 60000 < 2**31, but plus a bias near 2**31 it is not
    layer = Dense(np.full((1, in_f), 127, np.int8), np.array([2**31 - 10**6], np.int32),
                  np.full(1, 1 << 30, np.int32), np.full(1, 40, np.uint8))
    with pytest.raises(ModelFormatError, match="overflow"):
        QuantizedModel.create((in_f,), [layer])
    layer = Dense(layer.weight, np.zeros(1, np.int32), layer.multiplier, layer.shift)
    assert QuantizedModel.create((in_f,), [layer]).macs == in_f


def test_shape_mismatch_and_bad_requant_are_refused():
    with pytest.raises(ModelFormatError, match="expects input"):
        QuantizedModel.create((5,), [_dense()])
    bad_shift = _dense()
    bad_shift.shift[0] = 0
    with pytest.raises(ModelFormatError, match="shift"):
        QuantizedModel.create((4,), [bad_shift])
    with pytest.raises(ModelFormatError, match="argmax"):
        QuantizedModel.create((4,), [Argmax(), ReLU()])
    with pytest.raises(ModelFormatError, match="kernel"):
        QuantizedModel.create((1, 2, 2), [Pool2D(Kind.MAXPOOL, (3, 3), (1, 1))])
    with pytest.raises(ModelFormatError, match="int8 input"):
        QuantizedModel.create((4,), [_dense(out_bits=32), Flatten(), _dense(in_f=3)])


def test_requantize_rounds_half_up_and_saturates():
    acc = np.array([5, -5, 6, -6, 7, -7, 10_000, -10_000], dtype=np.int64)
    # multiplier * 2**-shift = 2**30 * 2**-32 = 1/4
    out = requantize(acc, np.int64(1 << 30), np.int64(32), -128, 127)
    assert out.tolist() == [1, -1, 2, -1, 2, -2, 127, -128]  # 1.25->1, -1.25->-1, 1.5->2, -1.5->-1 (half up)
    assert round_half_up_div(np.array([3, -3, 5, -5]), 2).tolist() == [2, -1, 3, -2]


@pytest.mark.parametrize("real", [1e-9, 0.0003, 0.25, 0.5, 0.7071, 0.999999, 1.0, 3.5, 1000.0])
def test_quantize_multiplier_is_accurate(real):
    multiplier, shift = quantize_multiplier(real)
    assert 1 <= shift <= 62
    assert abs(multiplier * 2.0**-shift - real) <= real * 2**-29 + 2.0**-62
