"""0x10 BLS12_MAP_FP_TO_G1 (EIP-2537): SSWU map + isogeny + cofactor clearing.

This is RFC 9380's map_to_curve/clear_cofactor for G1 without the hashing.
"""

from __future__ import annotations

from py_arkworks_bls12381 import G1Point

from ._bls12_381 import FP_SIZE, MAP_FP_TO_G1_GAS, decode_fp, encode_g1, require_length


def gas(data: bytes) -> int:
    return MAP_FP_TO_G1_GAS


def run(data: bytes) -> bytes:
    require_length(data, FP_SIZE, "MAP_FP_TO_G1")
    return encode_g1(G1Point.map_from_fp_be(decode_fp(data)))
