"""0x0f BLS12_PAIRING_CHECK (EIP-2537): is prod e(P_i, Q_i) == 1?

Input is k >= 1 records of a G1 point (128 bytes) then a G2 point (256),
all in their prime-order subgroups. Output is a 32-byte 0 or 1.
"""

from __future__ import annotations

from py_arkworks_bls12381 import GT

from ._bls12_381 import (
    G1_SIZE,
    PAIRING_BASE_GAS,
    PAIRING_PAIR_SIZE,
    PAIRING_PER_PAIR_GAS,
    decode_g1_in_subgroup,
    decode_g2_in_subgroup,
    require_multiple,
)

TRUE = (1).to_bytes(32, "big")
FALSE = bytes(32)


def gas(data: bytes) -> int:
    return PAIRING_BASE_GAS + PAIRING_PER_PAIR_GAS * (len(data) // PAIRING_PAIR_SIZE)


def run(data: bytes) -> bytes:
    count = require_multiple(data, PAIRING_PAIR_SIZE, "pairing check")
    g1_points, g2_points = [], []
    for offset in range(0, count * PAIRING_PAIR_SIZE, PAIRING_PAIR_SIZE):
        g1_points.append(decode_g1_in_subgroup(data[offset : offset + G1_SIZE]))
        g2_points.append(decode_g2_in_subgroup(data[offset + G1_SIZE : offset + PAIRING_PAIR_SIZE]))
    return TRUE if GT.pairing_check(g1_points, g2_points) else FALSE
