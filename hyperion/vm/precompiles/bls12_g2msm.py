"""0x0e BLS12_G2MSM (EIP-2537): sum of s_i * Q_i over k (point, scalar) pairs.

With one pair this is the former G2MUL (22500 gas). Every point must be in
the prime-order subgroup.
"""

from __future__ import annotations

from py_arkworks_bls12381 import G2Point

from ._bls12_381 import (
    G2_MSM_DISCOUNT,
    G2_MSM_PAIR_SIZE,
    G2_MUL_GAS,
    G2_SIZE,
    decode_g2_in_subgroup,
    decode_scalar,
    encode_g2,
    msm_gas,
    require_multiple,
)


def gas(data: bytes) -> int:
    return msm_gas(len(data) // G2_MSM_PAIR_SIZE, G2_MUL_GAS, G2_MSM_DISCOUNT)


def run(data: bytes) -> bytes:
    count = require_multiple(data, G2_MSM_PAIR_SIZE, "G2MSM")
    points, scalars = [], []
    for offset in range(0, count * G2_MSM_PAIR_SIZE, G2_MSM_PAIR_SIZE):
        points.append(decode_g2_in_subgroup(data[offset : offset + G2_SIZE]))
        scalars.append(decode_scalar(data[offset + G2_SIZE : offset + G2_MSM_PAIR_SIZE]))
    if count == 1:
        return encode_g2(points[0] * scalars[0])
    return encode_g2(G2Point.multiexp_unchecked(points, scalars))
