"""0x01 ECRECOVER: recover the signer address of a secp256k1 signature.

Never fails: any invalid input (bad ``v``, ``r``/``s`` out of range, a
signature that recovers to no key) yields empty output, and the caller still
pays the flat 3000 gas. There is no low-``s`` rule here (that is a transaction
validity rule, EIP-2).
"""

from __future__ import annotations

from coincurve import PublicKey

from hyperion.primitives.keccak import keccak256

from ._util import padded_slice

GAS = 3000
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def gas(data: bytes) -> int:
    return GAS


def run(data: bytes) -> bytes:
    data = padded_slice(data, 0, 128)
    v = int.from_bytes(data[32:64], "big")
    if v != 27 and v != 28:
        return b""
    r = int.from_bytes(data[64:96], "big")
    s = int.from_bytes(data[96:128], "big")
    if not (0 < r < SECP256K1_ORDER and 0 < s < SECP256K1_ORDER):
        return b""
    signature = data[64:128] + bytes((v - 27,))
    try:
        public_key = PublicKey.from_signature_and_message(signature, data[:32], hasher=None)
    except Exception:  # libsecp256k1 refuses: no point with this r, etc.
        return b""
    address = keccak256(public_key.format(compressed=False)[1:])[12:]
    return bytes(12) + address
