"""Byte encodings of alt_bn128 points used by the 0x06-0x08 precompiles (EIP-196/197)."""

from __future__ import annotations

from ._bn254 import P, G1Affine, G2Affine, g1_is_on_curve, g2_is_in_subgroup, g2_is_on_curve
from .base import PrecompileError


def _coordinate(encoded: bytes) -> int:
    value = int.from_bytes(encoded, "big")
    if value >= P:
        raise PrecompileError("bn254 coordinate is not below the field modulus")
    return value


def decode_g1(encoded: bytes) -> G1Affine:
    """64 bytes (x, y) -> affine point or None for (0, 0); must be on the curve."""
    x = _coordinate(encoded[:32])
    y = _coordinate(encoded[32:64])
    if x == 0 and y == 0:
        return None
    point = (x, y)
    if not g1_is_on_curve(point):
        raise PrecompileError("bn254 G1 point is not on the curve")
    return point


def encode_g1(point: G1Affine) -> bytes:
    if point is None:
        return bytes(64)
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def decode_g2(encoded: bytes) -> G2Affine:
    """128 bytes (x.im, x.re, y.im, y.re) -> twist point in G2, or None for all zeros."""
    x_im = _coordinate(encoded[:32])
    x_re = _coordinate(encoded[32:64])
    y_im = _coordinate(encoded[64:96])
    y_re = _coordinate(encoded[96:128])
    if x_im == x_re == y_im == y_re == 0:
        return None
    point = ((x_re, x_im), (y_re, y_im))
    if not g2_is_on_curve(point):
        raise PrecompileError("bn254 G2 point is not on the twist curve")
    if not g2_is_in_subgroup(point):
        raise PrecompileError("bn254 G2 point is not in the order-N subgroup")
    return point
