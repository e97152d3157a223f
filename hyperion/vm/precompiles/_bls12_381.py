"""EIP-2537 encodings and gas tables shared by the BLS12-381 precompiles.

Curve arithmetic is done by ``py_arkworks_bls12381`` (arkworks, in Rust).
Its ``from_xy_bytes_unchecked_be`` rejects coordinates >= p and points off
the curve but skips the subgroup check, which is exactly what the ADD
precompiles need; MSM and pairing inputs add ``is_in_subgroup``. The 96-byte
all-zero encoding it uses for infinity maps to EIP-2537's all-zero point.

Gas parameters were checked against the Prague fixtures
(eip2537_bls_12_381_precompiles, Feb 2025), which agree with the final EIP
text: G1ADD 375, G2ADD 600, G1MUL-cost 12000, G2MUL-cost 22500, pairing
37700 + 32600*k, map 5500 / 23800, and the discount tables below (capped at
519 / 524 beyond 128 pairs).
"""

from __future__ import annotations

from py_arkworks_bls12381 import G1Point, G2Point, Scalar

from .base import PrecompileError

FP_SIZE = 64  # one field element: 16 zero bytes then 48 big-endian bytes
FP_PADDING = bytes(16)
G1_SIZE = 2 * FP_SIZE
G2_SIZE = 4 * FP_SIZE
SCALAR_SIZE = 32
G1_MSM_PAIR_SIZE = G1_SIZE + SCALAR_SIZE
G2_MSM_PAIR_SIZE = G2_SIZE + SCALAR_SIZE
PAIRING_PAIR_SIZE = G1_SIZE + G2_SIZE

G1_ADD_GAS = 375
G2_ADD_GAS = 600
G1_MUL_GAS = 12000
G2_MUL_GAS = 22500
PAIRING_BASE_GAS = 37700
PAIRING_PER_PAIR_GAS = 32600
MAP_FP_TO_G1_GAS = 5500
MAP_FP2_TO_G2_GAS = 23800

DISCOUNT_MULTIPLIER = 1000
# Pippenger discount per number of pairs k (index k-1), EIP-2537.
G1_MSM_DISCOUNT = (
    1000, 949, 848, 797, 764, 750, 738, 728, 719, 712, 705, 698, 692, 687, 682, 677,
    673, 669, 665, 661, 658, 654, 651, 648, 645, 642, 640, 637, 635, 632, 630, 627,
    625, 623, 621, 619, 617, 615, 613, 611, 609, 608, 606, 604, 603, 601, 599, 598,
    596, 595, 593, 592, 591, 589, 588, 586, 585, 584, 582, 581, 580, 579, 577, 576,
    575, 574, 573, 572, 570, 569, 568, 567, 566, 565, 564, 563, 562, 561, 560, 559,
    558, 557, 556, 555, 554, 553, 552, 551, 550, 549, 548, 547, 547, 546, 545, 544,
    543, 542, 541, 540, 540, 539, 538, 537, 536, 536, 535, 534, 533, 532, 532, 531,
    530, 529, 528, 528, 527, 526, 525, 525, 524, 523, 522, 522, 521, 520, 520, 519,
)  # fmt: skip
G2_MSM_DISCOUNT = (
    1000, 1000, 923, 884, 855, 832, 812, 796, 782, 770, 759, 749, 740, 732, 724, 717,
    711, 704, 699, 693, 688, 683, 679, 674, 670, 666, 663, 659, 655, 652, 649, 646,
    643, 640, 637, 634, 632, 629, 627, 624, 622, 620, 618, 615, 613, 611, 609, 607,
    606, 604, 602, 600, 598, 597, 595, 593, 592, 590, 589, 587, 586, 584, 583, 582,
    580, 579, 578, 576, 575, 574, 573, 571, 570, 569, 568, 567, 566, 565, 563, 562,
    561, 560, 559, 558, 557, 556, 555, 554, 553, 552, 552, 551, 550, 549, 548, 547,
    546, 545, 545, 544, 543, 542, 541, 541, 540, 539, 538, 537, 537, 536, 535, 535,
    534, 533, 532, 532, 531, 530, 530, 529, 528, 528, 527, 526, 526, 525, 524, 524,
)  # fmt: skip


def msm_gas(pair_count: int, mul_gas: int, discounts: tuple[int, ...]) -> int:
    """``k * mul_gas * discount(k) / 1000``; zero pairs cost nothing (and fail)."""
    if pair_count == 0:
        return 0
    discount = discounts[min(pair_count, len(discounts)) - 1]
    return pair_count * mul_gas * discount // DISCOUNT_MULTIPLIER


def strip_fp_padding(encoded: bytes) -> bytes:
    """The 48 significant bytes of a 64-byte field element encoding."""
    if encoded[:16] != FP_PADDING:
        raise PrecompileError("field element encoding has non-zero top 16 bytes")
    return encoded[16:]


def _strip_all(encoded: bytes, count: int) -> bytes:
    return b"".join(strip_fp_padding(encoded[i * FP_SIZE : (i + 1) * FP_SIZE]) for i in range(count))


def _pad_all(raw: bytes, count: int) -> bytes:
    return b"".join(FP_PADDING + raw[i * 48 : (i + 1) * 48] for i in range(count))


def decode_g1(encoded: bytes) -> G1Point:
    """128 bytes -> point on the G1 curve (subgroup not checked)."""
    try:
        return G1Point.from_xy_bytes_unchecked_be(_strip_all(encoded, 2))
    except ValueError as exc:
        raise PrecompileError(f"invalid G1 point: {exc}") from exc


def decode_g2(encoded: bytes) -> G2Point:
    """256 bytes (x.c0, x.c1, y.c0, y.c1) -> point on the G2 curve (subgroup not checked)."""
    try:
        return G2Point.from_xy_bytes_unchecked_be(_strip_all(encoded, 4))
    except ValueError as exc:
        raise PrecompileError(f"invalid G2 point: {exc}") from exc


def decode_g1_in_subgroup(encoded: bytes) -> G1Point:
    point = decode_g1(encoded)
    if not point.is_in_subgroup():
        raise PrecompileError("G1 point is not in the prime-order subgroup")
    return point


def decode_g2_in_subgroup(encoded: bytes) -> G2Point:
    point = decode_g2(encoded)
    if not point.is_in_subgroup():
        raise PrecompileError("G2 point is not in the prime-order subgroup")
    return point


def decode_scalar(encoded: bytes) -> Scalar:
    """A 32-byte scalar, any value; reduced mod q (inputs are subgroup-checked)."""
    return Scalar.from_be_bytes_mod_order(encoded)


def encode_g1(point: G1Point) -> bytes:
    return _pad_all(point.to_xy_bytes_be(), 2)


def encode_g2(point: G2Point) -> bytes:
    return _pad_all(point.to_xy_bytes_be(), 4)


def decode_fp(encoded: bytes) -> bytes:
    """64 bytes -> the 48-byte big-endian encoding of a canonical Fp element."""
    raw = strip_fp_padding(encoded)
    if int.from_bytes(raw, "big") >= FIELD_MODULUS:
        raise PrecompileError("field element is not below the modulus")
    return raw


FIELD_MODULUS = 0x1A0111EA397FE69A4B1BA7B6434BACD764774B84F38512BF6730D2A0F6B0F6241EABFFFEB153FFFFB9FEFFFFFFFFAAAB


def require_length(data: bytes, expected: int, name: str) -> None:
    if len(data) != expected:
        raise PrecompileError(f"{name} input must be {expected} bytes, got {len(data)}")


def require_multiple(data: bytes, unit: int, name: str) -> int:
    """Number of ``unit``-sized records in ``data``; must be a positive whole number."""
    count, remainder = divmod(len(data), unit)
    if count == 0 or remainder:
        raise PrecompileError(f"{name} input must be a positive multiple of {unit} bytes, got {len(data)}")
    return count
