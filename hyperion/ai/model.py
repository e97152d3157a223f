"""The quantized model format: layers, canonical serialization, content hash.

A model is a chain of layers over one int8 input tensor; a residual ``Add``
may also read the output of any earlier layer (tensor 0 is the input, tensor
``k`` the output of layer ``k``, counting from 1). Its bytes are a canonical
RLP list

    [b"HYQM", version, input_shape, input_scale_q32, output_scale_q32, layers]

where each layer is ``[kind, [int attributes], [tensor bytes]]``; int8 tensors
are raw two's-complement bytes, int32 tensors 4-byte big-endian. The model's
identity is ``keccak256(bytes)``: the chain stores only that hash, nodes keep
the bytes in their model store.

Decoding validates everything inference relies on, once: shapes chain, every
tensor has the right length, and no accumulator can leave int32 (the bound
``sum|w| * 128 + |bias|`` is checked per output channel). The scales
(``*_scale_q32`` = scale * 2**32) are metadata for clients that quantize
inputs and read outputs; inference itself never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Union

import numpy as np

from hyperion.ai.errors import ModelFormatError
from hyperion.ai.fixedpoint import INT32_MAX, MAX_SHIFT, MIN_SHIFT
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256

MAGIC = b"HYQM"
FORMAT_VERSION = 1

MAX_MODEL_BYTES = 32 * 1024 * 1024
MAX_LAYERS = 64
MAX_RANK = 4
MAX_INPUT_ELEMENTS = 65_536  # the largest input a model may declare (and the precompile accepts)
MAX_TENSOR_ELEMENTS = 1 << 22  # any intermediate activation, per sample
MAX_SOFTMAX_WIDTH = 4096  # keeps sum(exp) * 2**16 inside int64 with room to spare
MAX_SEQUENCE = 1024  # attention / embedding positions
MAX_NORM_WIDTH = 1024  # layer norm: |D*x - sum| < 2**18, so d * gain * 2**8 stays below 2**50
MAX_NORM_GAIN = 1 << 24
NORM_SQRT_BITS = 8  # layer norm divides by isqrt(var_sum << 16) = sqrt(var_sum) * 2**8
LUT_SIZE = 256  # one int8 output per int8 input
SOFTMAX_TABLE_SIZE = 256  # exp(-d * scale) for d = 0..255 (int8 differences)
SOFTMAX_ONE = 1 << 16  # softmax outputs are Q16 fixed point: 65536 == probability 1


class Kind(IntEnum):
    DENSE = 1
    CONV2D = 2
    RELU = 3
    MAXPOOL = 4
    AVGPOOL = 5
    FLATTEN = 6
    SOFTMAX = 7
    ARGMAX = 8
    EMBEDDING = 9
    ADD = 10
    LAYERNORM = 11
    ATTENTION = 12
    LUT = 13
    SEQPOOL = 14


class DType(IntEnum):
    """Element type of an activation tensor (and of the output encoding)."""

    INDEX = 0  # argmax result: one 32-byte big-endian word
    INT8 = 8
    INT32 = 32


@dataclass(frozen=True, eq=False)
class Dense:
    """``y = requant(x @ W.T + b)`` over the last axis; ``out_bits`` 8 saturates to int8, 32 keeps int32 logits.

    A (T, in) input gives (T, out): the same weights applied to every position.
    """

    weight: np.ndarray  # int8 (out, in)
    bias: np.ndarray  # int32 (out,)
    multiplier: np.ndarray  # int32 (out,)
    shift: np.ndarray  # (out,), each in [1, 62]
    relu: bool = False
    out_bits: int = 8
    kind = Kind.DENSE


@dataclass(frozen=True, eq=False)
class Conv2D:
    """2-D convolution over (C, H, W), zero padding, per-output-channel requantization."""

    weight: np.ndarray  # int8 (out_c, in_c, kh, kw)
    bias: np.ndarray  # int32 (out_c,)
    multiplier: np.ndarray
    shift: np.ndarray
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    relu: bool = False
    kind = Kind.CONV2D


@dataclass(frozen=True)
class ReLU:
    kind = Kind.RELU


@dataclass(frozen=True)
class Pool2D:
    """Max or average pooling over (C, H, W) without padding; averages round half up."""

    kind: Kind
    kernel: tuple[int, int]
    stride: tuple[int, int]


@dataclass(frozen=True)
class Flatten:
    kind = Kind.FLATTEN


@dataclass(frozen=True, eq=False)
class Softmax:
    """Fixed-point softmax: ``exp_table[d] = round(2**16 * exp(-d * input_scale))``; Q16 outputs."""

    exp_table: np.ndarray  # int32 (256,), non-increasing, exp_table[0] == 65536
    kind = Kind.SOFTMAX


@dataclass(frozen=True)
class Argmax:
    """Index of the largest element (first one on ties), returned as a uint256 word."""

    kind = Kind.ARGMAX


@dataclass(frozen=True, eq=False)
class Embedding:
    """Token ids (input bytes read as unsigned) to rows of ``table``, plus a position row each.

    ``out[t] = saturate_int8(table[id_t] + positions[t])``; an id >= vocab is an input error.
    ``positions`` is (T, D), or (0, D) for none.
    """

    table: np.ndarray  # int8 (vocab, dim)
    positions: np.ndarray  # int8 (seq_len, dim) or (0, dim)
    kind = Kind.EMBEDDING


@dataclass(frozen=True)
class Add:
    """Residual add of the running tensor and tensor ``other`` (0 = input, k = layer k's output).

    ``y = saturate_int8((x * multiplier + r * other_multiplier + 2**(shift-1)) >> shift)``.
    """

    other: int
    multiplier: int
    other_multiplier: int
    shift: int
    kind = Kind.ADD


@dataclass(frozen=True, eq=False)
class LayerNorm:
    """Integer layer norm over the last axis (width D), fixed point throughout.

    ``d = D*x - sum(x)`` (exact), ``den = isqrt(sum(d*d) << 16)``,
    ``t = round(d * gain * 2**8 / den)`` (0 when den is 0), ``y = saturate_int8((t + bias + 2**(shift-1)) >> shift)``.
    ``gain`` folds gamma, sqrt(D) and the output scale; ``bias`` folds beta.
    """

    gain: np.ndarray  # int32 (D,), |gain| < 2**24
    bias: np.ndarray  # int32 (D,)
    shift: int
    kind = Kind.LAYERNORM


@dataclass(frozen=True, eq=False)
class Attention:
    """Multi-head self-attention over a fused (T, 3D) int8 tensor [q | k | v], integer softmax.

    Per head: ``s = q @ k.T``; ``z = saturate_int8(requant(s, score_multiplier, score_shift))``;
    ``e = exp_table[max(z) - z]`` over the visible keys (``causal``: keys j <= query i);
    ``p = (e * 2**16 + sum(e) // 2) // sum(e)``; ``y = saturate_int8(requant(p @ v, out_multiplier, out_shift))``.
    """

    heads: int
    causal: bool
    score_multiplier: int
    score_shift: int
    out_multiplier: int
    out_shift: int
    exp_table: np.ndarray  # int32 (256,), like Softmax
    kind = Kind.ATTENTION


@dataclass(frozen=True, eq=False)
class Lut:
    """Element-wise int8 -> int8 table (GELU and other activations): ``y = table[x + 128]``."""

    table: np.ndarray  # int8 (256,)
    kind = Kind.LUT


@dataclass(frozen=True)
class SeqPool:
    """(T, D) -> (D,): ``mode`` 0 averages the positions (round half up), 1 keeps the last one."""

    mode: int
    kind = Kind.SEQPOOL


SEQPOOL_MEAN = 0
SEQPOOL_LAST = 1

Layer = Union[Dense, Conv2D, ReLU, Pool2D, Flatten, Softmax, Argmax, Embedding, Add, LayerNorm, Attention, Lut,
              SeqPool]


@dataclass(frozen=True)
class LayerPlan:
    """Static facts about one layer, derived from the input shape.

    ``rows`` is the length of the output's first axis (what a verification step
    may split); ``row_split`` says whether rows can be computed independently
    (a softmax or a pooled sequence needs all of its input at once);
    ``other`` is the extra tensor a residual Add reads (None otherwise).
    """

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    output_dtype: DType
    macs: int
    row_split: bool = False
    other: int | None = None

    @property
    def rows(self) -> int:
        return self.output_shape[0]

    @property
    def macs_per_row(self) -> int:
        return self.macs // self.rows if self.row_split else self.macs


@dataclass(eq=False)
class QuantizedModel:
    """A validated model; build with ``QuantizedModel.create`` or ``decode_model``."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    input_scale_q32: int = 0
    output_scale_q32: int = 0
    plans: tuple[LayerPlan, ...] = field(default=(), repr=False)
    _encoded: bytes | None = field(default=None, repr=False)

    @classmethod
    def create(cls, input_shape, layers, input_scale_q32: int = 0, output_scale_q32: int = 0) -> "QuantizedModel":
        """Validate and plan a model (raises ModelFormatError)."""
        input_shape = tuple(int(d) for d in input_shape)
        layers = tuple(layers)
        plans = plan_model(input_shape, layers)
        for name, value in (("input_scale_q32", input_scale_q32), ("output_scale_q32", output_scale_q32)):
            if not isinstance(value, int) or value < 0 or value >= 2**128:
                raise ModelFormatError(f"{name} must be an integer in [0, 2**128)")
        return cls(input_shape, layers, input_scale_q32, output_scale_q32, plans)

    @property
    def input_size(self) -> int:
        """Input length in bytes (one int8 per element)."""
        return int(np.prod(self.input_shape))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.plans[-1].output_shape if self.plans else self.input_shape

    @property
    def output_dtype(self) -> DType:
        return self.plans[-1].output_dtype if self.plans else DType.INT8

    @property
    def output_size(self) -> int:
        """Output length in bytes."""
        dtype = self.output_dtype
        if dtype == DType.INDEX:
            return 32
        return int(np.prod(self.output_shape)) * (4 if dtype == DType.INT32 else 1)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one inference (what the precompile charges for)."""
        return sum(p.macs for p in self.plans)

    def encode(self) -> bytes:
        if self._encoded is None:
            self._encoded = encode_model(self)
        return self._encoded

    @property
    def content_hash(self) -> bytes:
        return model_hash(self.encode())


def model_hash(model_bytes: bytes) -> bytes:
    """The on-chain identity of a model: keccak256 of its canonical bytes."""
    return keccak256(model_bytes)


# -- planning and validation ---------------------------------------------------------


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ModelFormatError(message)


def _check_requant(layer, channels: int, where: str) -> None:
    _require(layer.bias.shape == (channels,), f"{where}: bias must have {channels} entries")
    _require(layer.multiplier.shape == (channels,), f"{where}: multiplier must have {channels} entries")
    _require(layer.shift.shape == (channels,), f"{where}: shift must have {channels} entries")
    _require(bool(np.all((layer.multiplier >= 0) & (layer.multiplier <= INT32_MAX))),
             f"{where}: multipliers must be in [0, 2**31)")
    _require(bool(np.all((layer.shift >= MIN_SHIFT) & (layer.shift <= MAX_SHIFT))),
             f"{where}: shifts must be in [{MIN_SHIFT}, {MAX_SHIFT}]")
    # |acc| <= sum|w| * 128 + |b|: must stay inside int32 for every channel
    weight_mass = np.abs(layer.weight.astype(np.int64)).reshape(channels, -1).sum(axis=1)
    worst = weight_mass * 128 + np.abs(layer.bias.astype(np.int64))
    _require(bool(np.all(worst <= INT32_MAX)), f"{where}: accumulator could overflow int32")


def _check_exp_table(table: np.ndarray, where: str) -> None:
    _require(table.shape == (SOFTMAX_TABLE_SIZE,), f"{where}: exp table must have 256 entries")
    _require(int(table[0]) == SOFTMAX_ONE and bool(np.all(table >= 0))
             and bool(np.all(np.diff(table.astype(np.int64)) <= 0)),
             f"{where}: exp table must start at 65536 and be non-increasing and non-negative")


def _check_scale(multiplier: int, shift: int, where: str) -> None:
    _require(isinstance(multiplier, int) and 0 <= multiplier <= INT32_MAX, f"{where}: multipliers must be in [0, 2**31)")
    _require(isinstance(shift, int) and MIN_SHIFT <= shift <= MAX_SHIFT,
             f"{where}: shifts must be in [{MIN_SHIFT}, {MAX_SHIFT}]")


def _window_output(size: int, kernel: int, stride: int, where: str) -> int:
    _require(kernel >= 1 and stride >= 1, f"{where}: kernel and stride must be positive")
    _require(size >= kernel, f"{where}: kernel {kernel} larger than input {size}")
    return (size - kernel) // stride + 1


def plan_model(input_shape: tuple[int, ...], layers: tuple[Layer, ...]) -> tuple[LayerPlan, ...]:
    """Check that the layers chain on ``input_shape``; return each layer's plan."""
    _require(1 <= len(input_shape) <= MAX_RANK, f"input rank must be 1..{MAX_RANK}")
    _require(all(d >= 1 for d in input_shape), "input dimensions must be positive")
    _require(int(np.prod(input_shape)) <= MAX_INPUT_ELEMENTS,
             f"input has more than {MAX_INPUT_ELEMENTS} elements")
    _require(1 <= len(layers) <= MAX_LAYERS, f"a model has 1..{MAX_LAYERS} layers")
    shape, dtype = tuple(input_shape), DType.INT8
    tensors = [(shape, dtype)]  # tensor k = output of layer k; tensor 0 = the input
    plans = []
    for index, layer in enumerate(layers):
        where = f"layer {index} ({type(layer).__name__})"
        _require(dtype != DType.INDEX, f"{where}: nothing may follow an argmax")
        input_shape_k = shape
        macs, row_split, other = 0, False, None
        if isinstance(layer, Dense):
            _require(dtype == DType.INT8, f"{where}: needs an int8 input")
            _require(layer.weight.ndim == 2 and layer.weight.dtype == np.int8, f"{where}: weight must be int8 (out, in)")
            out_features, in_features = layer.weight.shape
            _require(len(shape) <= 2 and shape[-1] == in_features,
                     f"{where}: expects input ({in_features},) or (T, {in_features}), got {shape}")
            _require(layer.out_bits in (8, 32), f"{where}: out_bits must be 8 or 32")
            _check_requant(layer, out_features, where)
            positions = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
            shape, dtype = (*shape[:-1], out_features), DType.INT8 if layer.out_bits == 8 else DType.INT32
            macs, row_split = positions * out_features * in_features, True
        elif isinstance(layer, Conv2D):
            _require(dtype == DType.INT8, f"{where}: needs an int8 input")
            _require(layer.weight.ndim == 4 and layer.weight.dtype == np.int8,
                     f"{where}: weight must be int8 (out_c, in_c, kh, kw)")
            out_c, in_c, kh, kw = layer.weight.shape
            _require(len(shape) == 3 and shape[0] == in_c, f"{where}: expects ({in_c}, H, W), got {shape}")
            _require(all(p >= 0 for p in layer.pads) and all(p < 64 for p in layer.pads), f"{where}: bad padding")
            top, left, bottom, right = layer.pads
            out_h = _window_output(shape[1] + top + bottom, kh, layer.stride[0], where)
            out_w = _window_output(shape[2] + left + right, kw, layer.stride[1], where)
            _check_requant(layer, out_c, where)
            shape = (out_c, out_h, out_w)
            macs, row_split = out_c * out_h * out_w * in_c * kh * kw, True
        elif isinstance(layer, ReLU):
            row_split = True
        elif isinstance(layer, Pool2D):
            _require(layer.kind in (Kind.MAXPOOL, Kind.AVGPOOL), f"{where}: not a pooling kind")
            _require(len(shape) == 3, f"{where}: expects (C, H, W), got {shape}")
            out_h = _window_output(shape[1], layer.kernel[0], layer.stride[0], where)
            out_w = _window_output(shape[2], layer.kernel[1], layer.stride[1], where)
            shape, row_split = (shape[0], out_h, out_w), True
        elif isinstance(layer, Flatten):
            shape = (int(np.prod(shape)),)
        elif isinstance(layer, Softmax):
            _require(dtype == DType.INT8, f"{where}: needs an int8 input")
            _require(len(shape) == 1 and shape[0] <= MAX_SOFTMAX_WIDTH,
                     f"{where}: needs a vector of at most {MAX_SOFTMAX_WIDTH} elements")
            _check_exp_table(layer.exp_table, where)
            dtype = DType.INT32
        elif isinstance(layer, Argmax):
            shape, dtype = (1,), DType.INDEX
        elif isinstance(layer, Embedding):
            _require(dtype == DType.INT8 and len(shape) == 1, f"{where}: needs a (T,) vector of token ids")
            table, positions = layer.table, layer.positions
            _require(table.ndim == 2 and table.dtype == np.int8 and 1 <= table.shape[0] <= 256 and table.shape[1] >= 1,
                     f"{where}: table must be int8 (vocab <= 256, dim)")
            _require(shape[0] <= MAX_SEQUENCE, f"{where}: at most {MAX_SEQUENCE} positions")
            _require(positions.ndim == 2 and positions.dtype == np.int8 and positions.shape[1] == table.shape[1]
                     and positions.shape[0] in (0, shape[0]),
                     f"{where}: positions must be int8 ({shape[0]}, {table.shape[1]}) or empty")
            shape, row_split = (shape[0], table.shape[1]), True
        elif isinstance(layer, Add):
            _require(isinstance(layer.other, int) and 0 <= layer.other <= index,
                     f"{where}: the residual must be the input (0) or an earlier layer's output (1..{index})")
            other_shape, other_dtype = tensors[layer.other]
            _require(dtype == DType.INT8 and other_dtype == DType.INT8, f"{where}: adds int8 tensors")
            _require(other_shape == shape, f"{where}: shapes differ ({shape} and {other_shape})")
            _check_scale(layer.multiplier, layer.shift, where)
            _check_scale(layer.other_multiplier, layer.shift, where)
            row_split, other = True, layer.other
        elif isinstance(layer, LayerNorm):
            _require(dtype == DType.INT8 and len(shape) <= 2, f"{where}: needs an int8 (D,) or (T, D) input")
            width = shape[-1]
            _require(width <= MAX_NORM_WIDTH, f"{where}: at most {MAX_NORM_WIDTH} channels")
            _require(layer.gain.shape == (width,) and layer.bias.shape == (width,),
                     f"{where}: gain and bias must have {width} entries")
            _require(bool(np.all(np.abs(layer.gain.astype(np.int64)) < MAX_NORM_GAIN)), f"{where}: |gain| must be < 2**24")
            _check_scale(0, layer.shift, where)
            row_split = len(shape) == 2
        elif isinstance(layer, Attention):
            _require(dtype == DType.INT8 and len(shape) == 2, f"{where}: needs an int8 (T, 3D) input")
            seq, fused = shape
            _require(seq <= MAX_SEQUENCE, f"{where}: at most {MAX_SEQUENCE} positions")
            _require(isinstance(layer.heads, int) and layer.heads >= 1 and fused % (3 * layer.heads) == 0,
                     f"{where}: width {fused} is not 3 * heads * head_dim")
            _check_scale(layer.score_multiplier, layer.score_shift, where)
            _check_scale(layer.out_multiplier, layer.out_shift, where)
            _check_exp_table(layer.exp_table, where)
            shape = (seq, fused // 3)
            macs, row_split = 2 * seq * seq * (fused // 3), True
        elif isinstance(layer, Lut):
            _require(dtype == DType.INT8, f"{where}: needs an int8 input")
            _require(layer.table.shape == (LUT_SIZE,) and layer.table.dtype == np.int8, f"{where}: table must be int8[256]")
            row_split = True
        elif isinstance(layer, SeqPool):
            _require(dtype == DType.INT8 and len(shape) == 2, f"{where}: needs an int8 (T, D) input")
            _require(layer.mode in (SEQPOOL_MEAN, SEQPOOL_LAST), f"{where}: mode must be 0 (mean) or 1 (last)")
            shape = (shape[1],)
        else:
            raise ModelFormatError(f"{where}: unknown layer type")
        _require(int(np.prod(shape)) <= MAX_TENSOR_ELEMENTS, f"{where}: activation too large")
        tensors.append((shape, dtype))
        plans.append(LayerPlan(input_shape_k, shape, dtype, macs, row_split, other))
    return tuple(plans)


# -- serialization --------------------------------------------------------------------


def _int8_bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=np.int8).tobytes()


def _int32_bytes(array: np.ndarray) -> bytes:
    return np.ascontiguousarray(array, dtype=">i4").tobytes()


def _requant_tensors(layer) -> list[bytes]:
    return [_int8_bytes(layer.weight), _int32_bytes(layer.bias), _int32_bytes(layer.multiplier),
            np.ascontiguousarray(layer.shift, dtype=np.uint8).tobytes()]


def _encode_layer(layer: Layer) -> list:
    if isinstance(layer, Dense):
        out_f, in_f = layer.weight.shape
        return [Kind.DENSE, [in_f, out_f, int(layer.relu), layer.out_bits], _requant_tensors(layer)]
    if isinstance(layer, Conv2D):
        attrs = [*layer.weight.shape, *layer.stride, *layer.pads, int(layer.relu)]
        return [Kind.CONV2D, attrs, _requant_tensors(layer)]
    if isinstance(layer, Pool2D):
        return [layer.kind, [*layer.kernel, *layer.stride], []]
    if isinstance(layer, Softmax):
        return [Kind.SOFTMAX, [], [_int32_bytes(layer.exp_table)]]
    if isinstance(layer, Embedding):
        vocab, dim = layer.table.shape
        return [Kind.EMBEDDING, [vocab, dim, layer.positions.shape[0]],
                [_int8_bytes(layer.table), _int8_bytes(layer.positions)]]
    if isinstance(layer, Add):
        return [Kind.ADD, [layer.other, layer.multiplier, layer.other_multiplier, layer.shift], []]
    if isinstance(layer, LayerNorm):
        return [Kind.LAYERNORM, [layer.gain.shape[0], layer.shift], [_int32_bytes(layer.gain), _int32_bytes(layer.bias)]]
    if isinstance(layer, Attention):
        return [Kind.ATTENTION, [layer.heads, int(layer.causal), layer.score_multiplier, layer.score_shift,
                                 layer.out_multiplier, layer.out_shift], [_int32_bytes(layer.exp_table)]]
    if isinstance(layer, Lut):
        return [Kind.LUT, [], [_int8_bytes(layer.table)]]
    if isinstance(layer, SeqPool):
        return [Kind.SEQPOOL, [layer.mode], []]
    return [layer.kind, [], []]


def encode_model(model: QuantizedModel) -> bytes:
    """Canonical bytes of a model (what its content hash covers)."""
    layers = [[int(kind), [int(a) for a in attrs], tensors] for kind, attrs, tensors in map(_encode_layer, model.layers)]
    return rlp.encode([MAGIC, FORMAT_VERSION, list(model.input_shape), model.input_scale_q32,
                       model.output_scale_q32, layers])


def _as_int(item, what: str, max_bytes: int = 16) -> int:
    if not isinstance(item, bytes):
        raise ModelFormatError(f"{what}: expected an integer")
    try:
        return rlp.decode_int(item, max_bytes)
    except rlp.RLPError as exc:
        raise ModelFormatError(f"{what}: {exc}") from None


def _tensor(blob, dtype, shape: tuple[int, ...], what: str) -> np.ndarray:
    if not isinstance(blob, bytes):
        raise ModelFormatError(f"{what}: expected a byte string")
    itemsize = np.dtype(dtype).itemsize
    count = int(np.prod(shape)) if shape else 1
    if len(blob) != count * itemsize:
        raise ModelFormatError(f"{what}: expected {count * itemsize} bytes, got {len(blob)}")
    return np.frombuffer(blob, dtype=dtype).reshape(shape).astype(np.dtype(dtype).newbyteorder("="))


def _decode_requant(tensors, weight_shape, channels: int, where: str) -> dict:
    if not isinstance(tensors, list) or len(tensors) != 4:
        raise ModelFormatError(f"{where}: expected 4 tensors")
    return dict(
        weight=_tensor(tensors[0], np.int8, weight_shape, f"{where} weight"),
        bias=_tensor(tensors[1], ">i4", (channels,), f"{where} bias").astype(np.int32),
        multiplier=_tensor(tensors[2], ">i4", (channels,), f"{where} multiplier").astype(np.int32),
        shift=_tensor(tensors[3], np.uint8, (channels,), f"{where} shift"),
    )


def _decode_layer(item, index: int) -> Layer:
    where = f"layer {index}"
    if not isinstance(item, list) or len(item) != 3 or not isinstance(item[1], list):
        raise ModelFormatError(f"{where}: expected [kind, [attributes], [tensors]]")
    kind_code = _as_int(item[0], f"{where} kind", 1)
    attrs = [_as_int(a, f"{where} attribute", 4) for a in item[1]]
    tensors = item[2]
    try:
        kind = Kind(kind_code)
    except ValueError:
        raise ModelFormatError(f"{where}: unknown layer kind {kind_code}") from None
    expected_attrs = {Kind.DENSE: 4, Kind.CONV2D: 11, Kind.MAXPOOL: 4, Kind.AVGPOOL: 4, Kind.EMBEDDING: 3,
                      Kind.ADD: 4, Kind.LAYERNORM: 2, Kind.ATTENTION: 6, Kind.SEQPOOL: 1}.get(kind, 0)
    if len(attrs) != expected_attrs:
        raise ModelFormatError(f"{where}: {kind.name} takes {expected_attrs} attributes, got {len(attrs)}")
    if not isinstance(tensors, list):
        raise ModelFormatError(f"{where}: tensors must be a list")
    if kind == Kind.DENSE:
        in_f, out_f, relu, out_bits = attrs
        if in_f * out_f > MAX_TENSOR_ELEMENTS * 4 or relu > 1:
            raise ModelFormatError(f"{where}: bad dense attributes")
        return Dense(**_decode_requant(tensors, (out_f, in_f), out_f, where), relu=bool(relu), out_bits=out_bits)
    if kind == Kind.CONV2D:
        out_c, in_c, kh, kw, sh, sw, pt, pl, pb, pr, relu = attrs
        if out_c * in_c * kh * kw > MAX_TENSOR_ELEMENTS * 4 or relu > 1:
            raise ModelFormatError(f"{where}: bad conv attributes")
        return Conv2D(**_decode_requant(tensors, (out_c, in_c, kh, kw), out_c, where),
                      stride=(sh, sw), pads=(pt, pl, pb, pr), relu=bool(relu))
    if kind in (Kind.MAXPOOL, Kind.AVGPOOL):
        kh, kw, sh, sw = attrs
        return Pool2D(kind, (kh, kw), (sh, sw))
    if kind == Kind.SOFTMAX:
        _tensor_count(tensors, 1, where)
        return Softmax(_tensor(tensors[0], ">i4", (SOFTMAX_TABLE_SIZE,), f"{where} exp table").astype(np.int32))
    if kind == Kind.EMBEDDING:
        vocab, dim, seq_len = attrs
        _tensor_count(tensors, 2, where)
        if not (1 <= vocab <= 256 and 1 <= dim <= MAX_TENSOR_ELEMENTS and seq_len <= MAX_SEQUENCE):
            raise ModelFormatError(f"{where}: bad embedding attributes")
        return Embedding(_tensor(tensors[0], np.int8, (vocab, dim), f"{where} table"),
                         _tensor(tensors[1], np.int8, (seq_len, dim), f"{where} positions"))
    if kind == Kind.LAYERNORM:
        width, shift = attrs
        _tensor_count(tensors, 2, where)
        if not 1 <= width <= MAX_NORM_WIDTH:
            raise ModelFormatError(f"{where}: bad layer norm width")
        return LayerNorm(_tensor(tensors[0], ">i4", (width,), f"{where} gain").astype(np.int32),
                         _tensor(tensors[1], ">i4", (width,), f"{where} bias").astype(np.int32), shift)
    if kind == Kind.ATTENTION:
        heads, causal, score_m, score_s, out_m, out_s = attrs
        _tensor_count(tensors, 1, where)
        if causal > 1:
            raise ModelFormatError(f"{where}: causal must be 0 or 1")
        return Attention(heads, bool(causal), score_m, score_s, out_m, out_s,
                         _tensor(tensors[0], ">i4", (SOFTMAX_TABLE_SIZE,), f"{where} exp table").astype(np.int32))
    if kind == Kind.LUT:
        _tensor_count(tensors, 1, where)
        return Lut(_tensor(tensors[0], np.int8, (LUT_SIZE,), f"{where} table"))
    if tensors:
        raise ModelFormatError(f"{where}: {kind.name} takes no tensors")
    if kind == Kind.ADD:
        return Add(*attrs)
    if kind == Kind.SEQPOOL:
        return SeqPool(attrs[0])
    return {Kind.RELU: ReLU, Kind.FLATTEN: Flatten, Kind.ARGMAX: Argmax}[kind]()


def _tensor_count(tensors: list, count: int, where: str) -> None:
    if len(tensors) != count:
        raise ModelFormatError(f"{where}: expected {count} tensor(s), got {len(tensors)}")


def decode_model(data: bytes) -> QuantizedModel:
    """Parse and validate model bytes (raises ModelFormatError)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ModelFormatError("model bytes must be bytes")
    data = bytes(data)
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFormatError(f"model larger than {MAX_MODEL_BYTES} bytes")
    try:
        item = rlp.decode(data)
    except rlp.RLPError as exc:
        raise ModelFormatError(f"not a model: {exc}") from None
    if not isinstance(item, list) or len(item) != 6 or item[0] != MAGIC:
        raise ModelFormatError("not a HYQM model")
    version = _as_int(item[1], "version", 2)
    if version != FORMAT_VERSION:
        raise ModelFormatError(f"unsupported model format version {version}")
    if not isinstance(item[2], list) or not isinstance(item[5], list):
        raise ModelFormatError("input shape and layers must be lists")
    input_shape = tuple(_as_int(d, "input dimension", 4) for d in item[2])
    layers = [_decode_layer(layer, i) for i, layer in enumerate(item[5])]
    model = QuantizedModel.create(input_shape, layers, _as_int(item[3], "input scale"), _as_int(item[4], "output scale"))
    if model.encode() != data:  # e.g. a tensor with a non-minimal encoding: one model, one hash
        raise ModelFormatError("model bytes are not in canonical form")
    return model
