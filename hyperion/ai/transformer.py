"""A small decoder-only transformer: its float reference and its post-training quantization.

The float side (``TransformerParams``, ``float_forward``) is what a training
script exports and what quantized accuracy is measured against; floats are
fine here because this is the offline path. ``quantize_transformer`` turns it
into an integer ``QuantizedModel`` using the layers of ``hyperion.ai.model``:

    Embedding(tokens + positions)
    per block:  LayerNorm -> Dense(q|k|v) -> Attention -> Dense -> Add(residual)
                LayerNorm -> Dense -> Lut(GELU) -> Dense -> Add(residual)
    SeqPool(last position) -> LayerNorm -> Dense(int32 logits) -> Argmax

Pre-norm blocks, causal attention, GELU (tanh form). Scales are symmetric:
activations per tensor from the float activations on a calibration batch
(q, k and v each get their own), weights per output channel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hyperion.ai.errors import ModelFormatError, QuantizationError
from hyperion.ai.fixedpoint import INT32_MAX, quantize_multiplier
from hyperion.ai.model import (
    MAX_NORM_GAIN,
    SEQPOOL_LAST,
    SOFTMAX_ONE,
    SOFTMAX_TABLE_SIZE,
    Add,
    Argmax,
    Attention,
    Dense,
    Embedding,
    LayerNorm,
    Lut,
    QuantizedModel,
    SeqPool,
)

LN_EPS = 1e-5
LOGIT_LEVELS = 2**20  # int32 logits: the largest calibration logit maps to 2**20


@dataclass
class Block:
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    wqkv: np.ndarray  # (3D, D): rows are q, then k, then v outputs
    bqkv: np.ndarray
    wo: np.ndarray  # (D, D)
    bo: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray
    w1: np.ndarray  # (F, D)
    b1: np.ndarray
    w2: np.ndarray  # (D, F)
    b2: np.ndarray


@dataclass
class TransformerParams:
    tok: np.ndarray  # (V, D)
    pos: np.ndarray  # (T, D)
    blocks: list[Block]
    lnf_g: np.ndarray
    lnf_b: np.ndarray
    wout: np.ndarray  # (V, D)
    bout: np.ndarray
    heads: int
    causal: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.tok.shape[1]

    @property
    def seq_len(self) -> int:
        return self.pos.shape[0]

    @classmethod
    def from_arrays(cls, arrays: dict, heads: int, causal: bool = True) -> "TransformerParams":
        """From a flat ``{name: array}`` dict (``block{i}.{field}`` per block), e.g. a saved ``.npz``."""
        count = len({k.split(".")[0] for k in arrays if k.startswith("block")})
        blocks = [Block(**{f: np.asarray(arrays[f"block{i}.{f}"], np.float64) for f in Block.__dataclass_fields__})
                  for i in range(count)]
        get = lambda name: np.asarray(arrays[name], np.float64)  # noqa: E731
        return cls(get("tok"), get("pos"), blocks, get("lnf_g"), get("lnf_b"), get("wout"), get("bout"), heads, causal)

    def to_arrays(self) -> dict:
        arrays = {"tok": self.tok, "pos": self.pos, "lnf_g": self.lnf_g, "lnf_b": self.lnf_b,
                  "wout": self.wout, "bout": self.bout}
        for i, block in enumerate(self.blocks):
            for name in Block.__dataclass_fields__:
                arrays[f"block{i}.{name}"] = getattr(block, name)
        return arrays


def random_params(vocab: int, seq_len: int, dim: int, heads: int, ff: int, blocks: int, seed: int = 0) \
        -> TransformerParams:
    """Randomly initialised weights (for tests and benchmarks of the integer layers)."""
    rng = np.random.default_rng(seed)

    def w(*shape):
        return rng.normal(0, 1 / math.sqrt(shape[-1]), shape)

    def block():
        return Block(1 + rng.normal(0, 0.1, dim), rng.normal(0, 0.1, dim), w(3 * dim, dim), rng.normal(0, 0.02, 3 * dim),
                     w(dim, dim), rng.normal(0, 0.02, dim), 1 + rng.normal(0, 0.1, dim), rng.normal(0, 0.1, dim),
                     w(ff, dim), rng.normal(0, 0.02, ff), w(dim, ff), rng.normal(0, 0.02, dim))

    return TransformerParams(rng.normal(0, 1, (vocab, dim)), rng.normal(0, 0.3, (seq_len, dim)),
                             [block() for _ in range(blocks)], 1 + rng.normal(0, 0.1, dim), rng.normal(0, 0.1, dim),
                             w(vocab, dim), rng.normal(0, 0.02, vocab), heads)


# -- float reference ------------------------------------------------------------------------


def layer_norm(x: np.ndarray, gain: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * gain + bias


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def _scores(q: np.ndarray, k: np.ndarray, causal: bool) -> np.ndarray:
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
    if causal:
        seq = scores.shape[-1]
        scores = np.where(np.tril(np.ones((seq, seq), bool)), scores, -np.inf)
    return scores


def _split_heads(x: np.ndarray, heads: int) -> np.ndarray:
    n, seq, width = x.shape
    return x.reshape(n, seq, heads, width // heads).transpose(0, 2, 1, 3)


def float_forward(params: TransformerParams, tokens: np.ndarray, capture: dict | None = None) -> np.ndarray:
    """Logits (N, V) of the next token after each sequence of ``tokens`` (N, T) (float64)."""
    record = capture if capture is not None else {}
    dim, heads = params.dim, params.heads
    x = params.tok[tokens] + params.pos[None, :tokens.shape[1]]
    record["embed"] = x
    for i, b in enumerate(params.blocks):
        h = layer_norm(x, b.ln1_g, b.ln1_b)
        qkv = h @ b.wqkv.T + b.bqkv
        q, k, v = (_split_heads(qkv[..., j * dim:(j + 1) * dim], heads) for j in range(3))
        scores = _scores(q, k, params.causal)
        weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights /= weights.sum(axis=-1, keepdims=True)
        attended = (weights @ v).transpose(0, 2, 1, 3).reshape(x.shape)
        o = attended @ b.wo.T + b.bo
        x = x + o
        record.update({f"{i}.ln1": h, f"{i}.q": qkv[..., :dim], f"{i}.k": qkv[..., dim:2 * dim],
                       f"{i}.v": qkv[..., 2 * dim:], f"{i}.scores": scores[np.isfinite(scores)],
                       f"{i}.attn": attended, f"{i}.o": o, f"{i}.res1": x})
        h = layer_norm(x, b.ln2_g, b.ln2_b)
        f = h @ b.w1.T + b.b1
        g = gelu(f)
        y = g @ b.w2.T + b.b2
        x = x + y
        record.update({f"{i}.ln2": h, f"{i}.ff1": f, f"{i}.gelu": g, f"{i}.ff2": y, f"{i}.res2": x})
    last = layer_norm(x[:, -1], params.lnf_g, params.lnf_b)
    logits = last @ params.wout.T + params.bout
    record.update({"lnf": last, "logits": logits})
    return logits


# -- quantization ---------------------------------------------------------------------------


def _scale(values: np.ndarray, levels: int = 127) -> float:
    peak = float(np.max(np.abs(values))) if np.size(values) else 0.0
    return peak / levels if peak > 0 else 1.0


def _int8(values: np.ndarray, scale: float) -> np.ndarray:
    return np.clip(np.rint(values / scale), -127, 127).astype(np.int8)


def _dense(weight: np.ndarray, bias: np.ndarray, in_scale: float, out_scales, out_bits: int = 8) -> Dense:
    """Per-output-channel weight scales; ``out_scales`` a float or one scale per output channel."""
    out_scales = np.broadcast_to(np.asarray(out_scales, np.float64), (weight.shape[0],))
    w_scale = np.array([_scale(row) for row in weight])
    w_q = np.clip(np.rint(weight / w_scale[:, None]), -127, 127).astype(np.int8)
    b_q = np.rint(bias / (in_scale * w_scale))
    if np.any(np.abs(b_q) > INT32_MAX):
        raise QuantizationError("a bias does not fit int32 at this input scale")
    pairs = [quantize_multiplier(in_scale * ws / os) for ws, os in zip(w_scale, out_scales)]
    return Dense(w_q, b_q.astype(np.int32), np.array([m for m, _ in pairs], np.int32),
                 np.array([s for _, s in pairs], np.uint8), relu=False, out_bits=out_bits)


def _layer_norm(gain: np.ndarray, bias: np.ndarray, out_scale: float) -> LayerNorm:
    width = gain.shape[0]
    real_gain = gain * math.sqrt(width) / out_scale
    peak = float(np.max(np.abs(real_gain))) or 1.0
    shift = max(1, min(30, int(math.floor(math.log2((MAX_NORM_GAIN - 1) / peak)))))
    g = np.rint(real_gain * 2**shift)
    b = np.rint(bias / out_scale * 2**shift)
    if np.any(np.abs(b) > INT32_MAX):
        raise QuantizationError("a layer-norm bias does not fit int32")
    return LayerNorm(g.astype(np.int32), b.astype(np.int32), shift)


def _add(other: int, scale: float, other_scale: float, out_scale: float) -> Add:
    ratios = (scale / out_scale, other_scale / out_scale)
    shift = 40
    while shift > 1 and max(ratios) * 2**shift >= 2**31:
        shift -= 1
    return Add(other, round(ratios[0] * 2**shift), round(ratios[1] * 2**shift), shift)


def _exp_table(scale: float) -> np.ndarray:
    return np.array([round(SOFTMAX_ONE * math.exp(-d * scale)) for d in range(SOFTMAX_TABLE_SIZE)], np.int32)


def quantize_transformer(params: TransformerParams, calibration: np.ndarray) -> QuantizedModel:
    """An integer model of ``params``; ``calibration`` is a (N, T) batch of token ids (bytes 0..vocab-1)."""
    tokens = np.asarray(calibration)
    if tokens.ndim != 2 or tokens.shape[1] != params.seq_len or len(tokens) == 0:
        raise QuantizationError(f"calibration must be (N, {params.seq_len}) token ids")
    if params.tok.shape[0] > 256:
        raise QuantizationError("at most 256 tokens: an input byte is one token id")
    act: dict = {}
    float_forward(params, tokens, act)
    dim, heads = params.dim, params.heads
    head_dim = dim // heads

    s_x = _scale(act["embed"])
    layers: list = [Embedding(_int8(params.tok, s_x), _int8(params.pos, s_x))]
    residual = 1  # tensor index of the running residual stream

    def push(layer) -> int:
        layers.append(layer)
        return len(layers)  # the new tensor's index

    for i, b in enumerate(params.blocks):
        s_h = _scale(act[f"{i}.ln1"])
        push(_layer_norm(b.ln1_g, b.ln1_b, s_h))
        s_q, s_k, s_v = (_scale(act[f"{i}.{part}"]) for part in "qkv")
        push(_dense(b.wqkv, b.bqkv, s_h, np.repeat([s_q, s_k, s_v], dim)))
        s_z = _scale(act[f"{i}.scores"])
        s_a = _scale(act[f"{i}.attn"])
        score_m, score_s = quantize_multiplier(s_q * s_k / (math.sqrt(head_dim) * s_z))
        out_m, out_s = quantize_multiplier(s_v / (SOFTMAX_ONE * s_a))
        push(Attention(heads, params.causal, score_m, score_s, out_m, out_s, _exp_table(s_z)))
        s_o = _scale(act[f"{i}.o"])
        push(_dense(b.wo, b.bo, s_a, s_o))
        s_r = _scale(act[f"{i}.res1"])
        residual_1 = push(_add(residual, s_o, s_x, s_r))
        s_x = s_r
        s_h2 = _scale(act[f"{i}.ln2"])
        push(_layer_norm(b.ln2_g, b.ln2_b, s_h2))
        s_f = _scale(act[f"{i}.ff1"])
        push(_dense(b.w1, b.b1, s_h2, s_f))
        s_g = _scale(act[f"{i}.gelu"])
        grid = np.arange(-128, 128) * s_f
        push(Lut(np.clip(np.rint(gelu(grid) / s_g), -128, 127).astype(np.int8)))
        s_y = _scale(act[f"{i}.ff2"])
        push(_dense(b.w2, b.b2, s_g, s_y))
        s_r2 = _scale(act[f"{i}.res2"])
        residual = push(_add(residual_1, s_y, s_x, s_r2))
        s_x = s_r2
    push(SeqPool(SEQPOOL_LAST))
    s_f = _scale(act["lnf"])
    push(_layer_norm(params.lnf_g, params.lnf_b, s_f))
    push(_dense(params.wout, params.bout, s_f, _scale(act["logits"], LOGIT_LEVELS), out_bits=32))
    push(Argmax())
    try:
        return QuantizedModel.create((params.seq_len,), layers)
    except ModelFormatError as exc:
        raise QuantizationError(f"quantized transformer is invalid: {exc}") from None
