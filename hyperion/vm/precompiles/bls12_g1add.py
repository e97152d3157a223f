"""0x0b BLS12_G1ADD (EIP-2537): P + Q in G1; points need not be in the subgroup."""

from __future__ import annotations

from ._bls12_381 import G1_ADD_GAS, G1_SIZE, decode_g1, encode_g1, require_length


def gas(data: bytes) -> int:
    return G1_ADD_GAS


def run(data: bytes) -> bytes:
    require_length(data, 2 * G1_SIZE, "G1ADD")
    return encode_g1(decode_g1(data[:G1_SIZE]) + decode_g1(data[G1_SIZE:]))
