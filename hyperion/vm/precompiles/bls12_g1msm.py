"""0x0c BLS12_G1MSM (EIP-2537): sum of s_i * P_i over k (point, scalar) pairs.

With one pair this is the former G1MUL (12000 gas). Every point must be in
the prime-order subgroup.
"""

from __future__ import annotations

from py_arkworks_bls12381 import G1Point

from ._bls12_381 import (
    G1_MSM_DISCOUNT,
    G1_MSM_PAIR_SIZE,
    G1_MUL_GAS,
    G1_SIZE,
    decode_g1_in_subgroup,
    decode_scalar,
    encode_g1,
    msm_gas,
    require_multiple,
)


def gas(data: bytes) -> int:
    return msm_gas(len(data) // G1_MSM_PAIR_SIZE, G1_MUL_GAS, G1_MSM_DISCOUNT)


def run(data: bytes) -> bytes:
    count = require_multiple(data, G1_MSM_PAIR_SIZE, "G1MSM")
    points, scalars = [], []
    for offset in range(0, count * G1_MSM_PAIR_SIZE, G1_MSM_PAIR_SIZE):
        points.append(decode_g1_in_subgroup(data[offset : offset + G1_SIZE]))
        scalars.append(decode_scalar(data[offset + G1_SIZE : offset + G1_MSM_PAIR_SIZE]))
    if count == 1:
        return encode_g1(points[0] * scalars[0])
    return encode_g1(G1Point.multiexp_unchecked(points, scalars))
