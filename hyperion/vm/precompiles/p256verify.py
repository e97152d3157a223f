"""0x100 P256VERIFY: ECDSA verification over secp256r1 (EIP-7951, Osaka).

Input is exactly 160 bytes: message hash, r, s, public key x, public key
y (32 bytes each, big-endian). The output is a 32-byte 1 for a valid
signature and empty otherwise; the call never fails and always costs 6900
gas. Before verifying, EIP-7951 requires 0 < r, s < n, both key
coordinates below p, the key on the curve and not the point at infinity.
The verification itself (with the x coordinate of R compared to r modulo
n) is OpenSSL's, through the ``cryptography`` package.
"""

from __future__ import annotations

from functools import lru_cache

GAS = 6900
INPUT_SIZE = 160
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
VALID = (1).to_bytes(32, "big")
INVALID = b""



@lru_cache(maxsize=None)
def _openssl():
    """The ``cryptography`` pieces, imported on first use (only Osaka needs them)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

    return ec, ec.SECP256R1(), ec.ECDSA(Prehashed(hashes.SHA256())), encode_dss_signature, InvalidSignature


def gas(data: bytes) -> int:
    return GAS


def _on_curve(x: int, y: int) -> bool:
    return (y * y - (x * x * x + A * x + B)) % P == 0


def run(data: bytes) -> bytes:
    if len(data) != INPUT_SIZE:
        return INVALID
    message_hash = bytes(data[:32])
    r = int.from_bytes(data[32:64], "big")
    s = int.from_bytes(data[64:96], "big")
    x = int.from_bytes(data[96:128], "big")
    y = int.from_bytes(data[128:160], "big")
    if not (0 < r < N and 0 < s < N and x < P and y < P):
        return INVALID
    if (x == 0 and y == 0) or not _on_curve(x, y):
        return INVALID
    ec, curve, ecdsa, encode_dss_signature, invalid_signature = _openssl()
    try:
        key = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        key.verify(encode_dss_signature(r, s), message_hash, ecdsa)
    except (invalid_signature, ValueError):
        return INVALID
    return VALID
