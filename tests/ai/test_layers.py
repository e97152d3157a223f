"""The transformer layers: format, exactness against the pure-Python reference, and their semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperion.ai import reference
from hyperion.ai.engine import Runner, kernel_for, layer_norm_rows
from hyperion.ai.errors import InferenceError, ModelFormatError
from hyperion.ai.fixedpoint import isqrt
from hyperion.ai.model import (
    SEQPOOL_MEAN,
    Add,
    Argmax,
    Attention,
    Conv2D,
    Dense,
    Embedding,
    Flatten,
    LayerNorm,
    Lut,
    QuantizedModel,
    ReLU,
    SeqPool,
    decode_model,
)
from hyperion.ai.transformer import float_forward, layer_norm, quantize_transformer, random_params


@pytest.fixture(scope="module")
def tiny():
    params = random_params(vocab=30, seq_len=12, dim=16, heads=2, ff=32, blocks=2, seed=5)
    calibration = np.random.default_rng(1).integers(0, 30, (128, 12))
    return params, quantize_transformer(params, calibration)


def _random_tokens(count: int, vocab: int, seq: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, vocab, seq).astype(np.int8).tobytes() for _ in range(count)]


def test_transformer_bytes_round_trip(tiny):
    _, model = tiny
    again = decode_model(model.encode())
    assert again.encode() == model.encode() and again.content_hash == model.content_hash
    assert [type(layer).__name__ for layer in again.layers][:6] == \
        ["Embedding", "LayerNorm", "Dense", "Attention", "Dense", "Add"]
    assert again.macs == model.macs and model.output_size == 32


def test_engine_matches_the_pure_python_reference(tiny):
    _, model = tiny
    runner = Runner(model)
    for data in _random_tokens(25, 30, 12, seed=2):
        assert runner.run(data) == reference.run(model, data)
        engine_tensors = runner.forward_all(np.frombuffer(data, np.int8)[None])
        reference_tensors = reference.run_all(model, data)
        for mine, theirs in zip(engine_tensors[:-1], reference_tensors[:-1]):
            assert mine[0].tolist() == theirs


def test_quantized_transformer_tracks_the_float_model(tiny):
    params, model = tiny
    tokens = np.random.default_rng(3).integers(0, 30, (300, 12))
    agreement = (Runner(model).predict(tokens.astype(np.int8)) == float_forward(params, tokens).argmax(axis=1)).mean()
    assert agreement > 0.8  # random weights give near-ties; the trained model agrees far better (charlm.json)


def test_causal_attention_ignores_later_tokens(tiny):
    _, model = tiny
    runner = Runner(model)
    tokens = np.random.default_rng(4).integers(0, 30, 12)
    changed = tokens.copy()
    changed[-1] = (changed[-1] + 1) % 30
    attention_index = next(i for i, layer in enumerate(model.layers, 1) if isinstance(layer, Attention))
    before = runner.forward_all(tokens.astype(np.int8)[None])[attention_index][0]
    after = runner.forward_all(changed.astype(np.int8)[None])[attention_index][0]
    assert np.array_equal(before[:-1], after[:-1]) and not np.array_equal(before, after)


def test_embedding_refuses_tokens_outside_the_vocabulary(tiny):
    _, model = tiny
    bad = bytes([29] * 11 + [30])
    with pytest.raises(InferenceError):
        Runner(model).run(bad)
    with pytest.raises(InferenceError):
        reference.run(model, bad)


def test_integer_layer_norm_tracks_the_float_one():
    rng = np.random.default_rng(6)
    gain, bias = 1 + rng.normal(0, 0.2, 24), rng.normal(0, 0.3, 24)
    out_scale = 4 / 127
    from hyperion.ai.transformer import _layer_norm

    layer = _layer_norm(gain, bias, out_scale)
    x = rng.integers(-128, 128, (200, 24))
    integer = layer_norm_rows(x, layer.gain.astype(np.int64), layer.bias.astype(np.int64), layer.shift)
    expected = np.clip(np.rint(layer_norm(x.astype(float), gain, bias) / out_scale), -128, 127)
    assert np.max(np.abs(integer - expected)) <= 1
    constant = np.full((1, 24), 17)  # zero variance: the output is the bias alone
    out = layer_norm_rows(constant, layer.gain.astype(np.int64), layer.bias.astype(np.int64), layer.shift)
    assert np.array_equal(out[0], np.clip(np.rint(bias / out_scale), -128, 127))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**62 - 1), min_size=1, max_size=20))
def test_isqrt_is_exact(values):
    assert isqrt(np.array(values, np.int64)).tolist() == [math.isqrt(v) for v in values]


def _residual_cnn() -> QuantizedModel:
    rng = np.random.default_rng(8)
    conv = Conv2D(rng.integers(-60, 60, (3, 3, 3, 3)).astype(np.int8), rng.integers(-500, 500, 3).astype(np.int32),
                  np.full(3, 1 << 30, np.int32), np.full(3, 38, np.uint8), pads=(1, 1, 1, 1))
    lut = Lut(np.clip(np.arange(-128, 128) // 2 + 5, -128, 127).astype(np.int8))
    return QuantizedModel.create((3, 6, 6), [
        conv, ReLU(), Add(0, 1 << 29, 1 << 29, 30), lut, Flatten(),
        Dense(rng.integers(-20, 20, (5, 108)).astype(np.int8), np.zeros(5, np.int32), np.full(5, 1 << 30, np.int32),
              np.full(5, 30, np.uint8), out_bits=32),
        Argmax()])


def test_residual_from_the_input_and_a_lookup_table():
    model = _residual_cnn()
    assert decode_model(model.encode()).encode() == model.encode()
    runner = Runner(model)
    rng = np.random.default_rng(9)
    for _ in range(20):
        data = rng.integers(-128, 128, 108).astype(np.int8).tobytes()
        assert runner.run(data) == reference.run(model, data)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_row_slice_equals_the_slice_of_the_full_result(data):
    """Verification re-executes a chunk of rows: it must give exactly the rows of the full run."""
    model = data.draw(st.sampled_from([_residual_cnn(), _tiny_model()]))
    runner = Runner(model)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    if isinstance(model.layers[0], Embedding):
        x = rng.integers(0, 30, (1, *model.input_shape))
    else:
        x = rng.integers(-128, 128, (1, *model.input_shape))
    tensors = runner.forward_all(x.astype(np.int8))
    for index, (kernel, plan) in enumerate(zip(runner.kernels, model.plans), start=1):
        if not plan.row_split:
            continue
        start = data.draw(st.integers(0, plan.rows - 1))
        stop = data.draw(st.integers(start + 1, plan.rows))
        other = None if plan.other is None else tensors[plan.other]
        part = kernel(tensors[index - 1], other, slice(start, stop))
        assert np.array_equal(part, tensors[index][:, start:stop]), type(model.layers[index - 1]).__name__


_TINY = []


def _tiny_model() -> QuantizedModel:
    if not _TINY:
        params = random_params(vocab=30, seq_len=12, dim=16, heads=2, ff=32, blocks=1, seed=11)
        _TINY.append(quantize_transformer(params, np.random.default_rng(1).integers(0, 30, (64, 12))))
    return _TINY[0]


@pytest.mark.parametrize("layers, message", [
    ([Embedding(np.zeros((4, 2), np.int8), np.zeros((0, 2), np.int8)), Add(3, 1, 1, 1)], "residual"),
    ([Embedding(np.zeros((4, 2), np.int8), np.zeros((0, 2), np.int8)),
      LayerNorm(np.full(2, 1 << 24, np.int32), np.zeros(2, np.int32), 3)], "gain"),
    ([Embedding(np.zeros((4, 5), np.int8), np.zeros((0, 5), np.int8)),
      Attention(2, True, 1, 1, 1, 1, np.full(256, 65536, np.int32))], "3 \\* heads"),
    ([Embedding(np.zeros((300, 2), np.int8), np.zeros((0, 2), np.int8))], "vocab"),
    ([Embedding(np.zeros((4, 2), np.int8), np.zeros((3, 2), np.int8))], "positions"),
    ([Embedding(np.zeros((4, 2), np.int8), np.zeros((0, 2), np.int8)), SeqPool(7)], "mode"),
    ([Embedding(np.zeros((4, 2), np.int8), np.zeros((0, 2), np.int8)), Add(1, 1 << 31, 1, 1)], "multipliers"),
])
def test_invalid_transformer_layers_are_refused(layers, message):
    with pytest.raises(ModelFormatError, match=message):
        QuantizedModel.create((5,), layers)


def test_mean_pooling_rounds_half_up():
    model = QuantizedModel.create((2,), [Embedding(np.array([[1], [2], [-1], [-2]], np.int8),
                                                   np.zeros((0, 1), np.int8)), SeqPool(SEQPOOL_MEAN)])
    assert Runner(model).run(bytes([0, 1])) == bytes([2])  # (1 + 2) / 2 = 1.5 -> 2
    assert Runner(model).run(bytes([2, 0])) == bytes([0])  # (-1 + 1) / 2 = 0
    assert Runner(model).run(bytes([2, 3])) == np.array([-1], np.int8).tobytes()  # -1.5 -> -1
    assert reference.run(model, bytes([2, 3])) == Runner(model).run(bytes([2, 3]))


def test_kernel_for_unknown_layer_raises():
    with pytest.raises(InferenceError):
        kernel_for(object())
