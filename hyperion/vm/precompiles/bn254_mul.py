"""0x07 BN254_MUL (EIP-196, 6000 gas since EIP-1108): s * P on alt_bn128 G1.

Input is read as 96 bytes (truncated or zero-padded): point, then a 256-bit
scalar (any value; G1 has prime order so it is reduced mod N).
"""

from __future__ import annotations

from ._bn254 import g1_mul
from ._bn254_encoding import decode_g1, encode_g1
from ._util import padded_slice

GAS = 6000


def gas(data: bytes) -> int:
    return GAS


def run(data: bytes) -> bytes:
    data = padded_slice(data, 0, 96)
    return encode_g1(g1_mul(decode_g1(data[:64]), int.from_bytes(data[64:96], "big")))
