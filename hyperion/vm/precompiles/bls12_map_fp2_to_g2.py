"""0x11 BLS12_MAP_FP2_TO_G2 (EIP-2537): SSWU map + isogeny + cofactor clearing in G2.

The input is an Fp2 element encoded c0 || c1 (64 bytes each).
"""

from __future__ import annotations

from py_arkworks_bls12381 import G2Point

from ._bls12_381 import FP_SIZE, MAP_FP2_TO_G2_GAS, decode_fp, encode_g2, require_length


def gas(data: bytes) -> int:
    return MAP_FP2_TO_G2_GAS


def run(data: bytes) -> bytes:
    require_length(data, 2 * FP_SIZE, "MAP_FP2_TO_G2")
    return encode_g2(G2Point.map_from_fp2_be(decode_fp(data[:FP_SIZE]) + decode_fp(data[FP_SIZE:])))
