"""0x0d BLS12_G2ADD (EIP-2537): P + Q in G2; points need not be in the subgroup."""

from __future__ import annotations

from ._bls12_381 import G2_ADD_GAS, G2_SIZE, decode_g2, encode_g2, require_length


def gas(data: bytes) -> int:
    return G2_ADD_GAS


def run(data: bytes) -> bytes:
    require_length(data, 2 * G2_SIZE, "G2ADD")
    return encode_g2(decode_g2(data[:G2_SIZE]) + decode_g2(data[G2_SIZE:]))
