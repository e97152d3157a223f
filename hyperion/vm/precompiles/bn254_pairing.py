"""0x08 BN254_PAIRING (EIP-197, 45000 + 34000 per pair since EIP-1108).

Input is k records of 192 bytes: a G1 point (x, y) and a G2 point encoded
(x.im, x.re, y.im, y.re). Every coordinate must be below p, points must be
on their curves and G2 points in the order-N subgroup; all-zero encodes
infinity. Output is a 32-byte 1 if prod e(P_i, Q_i) == 1, else 0. Empty
input is a valid (true) check.
"""

from __future__ import annotations

from ._bn254 import pairing_product_is_one
from ._bn254_encoding import decode_g1, decode_g2
from .base import PrecompileError

BASE_GAS = 45000
PER_PAIR_GAS = 34000
PAIR_SIZE = 192
TRUE = (1).to_bytes(32, "big")
FALSE = bytes(32)


def gas(data: bytes) -> int:
    return BASE_GAS + PER_PAIR_GAS * (len(data) // PAIR_SIZE)


def run(data: bytes) -> bytes:
    if len(data) % PAIR_SIZE:
        raise PrecompileError(f"pairing input length {len(data)} is not a multiple of {PAIR_SIZE}")
    pairs = []
    for offset in range(0, len(data), PAIR_SIZE):
        g1_point = decode_g1(data[offset : offset + 64])
        g2_point = decode_g2(data[offset + 64 : offset + PAIR_SIZE])
        if g1_point is not None and g2_point is not None:
            pairs.append((g1_point, g2_point))
    return TRUE if pairing_product_is_one(pairs) else FALSE
