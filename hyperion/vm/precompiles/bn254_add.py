"""0x06 BN254_ADD (EIP-196, 150 gas since EIP-1108): P + Q on alt_bn128 G1.

Input is read as 128 bytes (truncated or zero-padded). Coordinates must be
below p and each point on the curve; (0, 0) is the point at infinity.
"""

from __future__ import annotations

from ._bn254 import g1_add
from ._bn254_encoding import decode_g1, encode_g1
from ._util import padded_slice

GAS = 150


def gas(data: bytes) -> int:
    return GAS


def run(data: bytes) -> bytes:
    data = padded_slice(data, 0, 128)
    return encode_g1(g1_add(decode_g1(data[:64]), decode_g1(data[64:128])))
