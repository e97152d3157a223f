"""secp256k1 signing and public-key recovery for transactions.

Recovery is the hot path of block import (one per transaction), so it calls
libsecp256k1 through coincurve's cffi bindings directly instead of building
``coincurve.PublicKey`` objects. All range checks happen in Python first, so
the C library only sees well-formed inputs.

This module implements *transaction* semantics (r, s in [1, n), y_parity in
{0, 1}, errors raised). The ECRECOVER precompile has its own, more lenient
rules and lives elsewhere.
"""

from __future__ import annotations

from coincurve import PrivateKey
from coincurve._libsecp256k1 import ffi as _ffi
from coincurve._libsecp256k1 import lib as _lib
from coincurve.context import GLOBAL_CONTEXT as _CONTEXT

from hyperion.primitives.keccak import keccak256

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Order of the secp256k1 group."""

SECP256K1_HALF_N = SECP256K1_N // 2
"""Largest ``s`` allowed by EIP-2's low-s rule."""

_UNCOMPRESSED_FLAG = 2  # SECP256K1_EC_UNCOMPRESSED
_CTX = _CONTEXT.ctx


class InvalidSignature(ValueError):
    """Raised when a signature is out of range or does not recover a key."""


def _check_signature_values(y_parity: int, r: int, s: int) -> int:
    """Normalise ``v`` (27/28 accepted) to a y parity and range-check r and s."""
    if y_parity == 27 or y_parity == 28:
        y_parity -= 27
    if y_parity != 0 and y_parity != 1:
        raise InvalidSignature(f"invalid signature y parity {y_parity}")
    if not 0 < r < SECP256K1_N:
        raise InvalidSignature("signature r is out of range [1, n)")
    if not 0 < s < SECP256K1_N:
        raise InvalidSignature("signature s is out of range [1, n)")
    return y_parity


def recover_public_key(msg_hash: bytes, v_or_yparity: int, r: int, s: int) -> bytes:
    """Return the 64-byte uncompressed public key (no 0x04 prefix) that signed ``msg_hash``.

    ``v_or_yparity`` may be a y parity (0/1) or a pre-EIP-155 ``v`` (27/28).
    Low-s is *not* enforced here; callers that need EIP-2 check it themselves.
    """
    y_parity = _check_signature_values(v_or_yparity, r, s)
    if len(msg_hash) != 32:
        raise InvalidSignature("message hash must be 32 bytes")
    compact = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    signature = _ffi.new("secp256k1_ecdsa_recoverable_signature *")
    if not _lib.secp256k1_ecdsa_recoverable_signature_parse_compact(_CTX, signature, compact, y_parity):
        raise InvalidSignature("signature could not be parsed")
    pubkey = _ffi.new("secp256k1_pubkey *")
    if not _lib.secp256k1_ecdsa_recover(_CTX, pubkey, signature, bytes(msg_hash)):
        raise InvalidSignature("public key recovery failed")
    output = _ffi.new("unsigned char[65]")
    output_len = _ffi.new("size_t *", 65)
    _lib.secp256k1_ec_pubkey_serialize(_CTX, output, output_len, pubkey, _UNCOMPRESSED_FLAG)
    return _ffi.buffer(output, 65)[1:]


def public_key_to_address(public_key: bytes) -> bytes:
    """Ethereum address of a 64-byte uncompressed public key: last 20 bytes of its keccak."""
    return keccak256(public_key)[12:]


def recover_address(msg_hash: bytes, y_parity: int, r: int, s: int) -> bytes:
    """Return the 20-byte address whose key produced the signature over ``msg_hash``."""
    return keccak256(recover_public_key(msg_hash, y_parity, r, s))[12:]


def _private_key(private_key: bytes) -> PrivateKey:
    if not isinstance(private_key, (bytes, bytearray)) or len(private_key) != 32:
        raise InvalidSignature("private key must be 32 bytes")
    try:
        return PrivateKey(bytes(private_key))
    except ValueError as exc:
        raise InvalidSignature(f"invalid private key: {exc}") from None


def sign(msg_hash: bytes, private_key: bytes) -> tuple[int, int, int]:
    """Sign a 32-byte hash; return ``(y_parity, r, s)`` with low s (RFC 6979 nonce)."""
    if len(msg_hash) != 32:
        raise InvalidSignature("message hash must be 32 bytes")
    sig = _private_key(private_key).sign_recoverable(bytes(msg_hash), hasher=None)
    return sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")


def private_key_to_public_key(private_key: bytes) -> bytes:
    """64-byte uncompressed public key (no prefix) of a private key."""
    return _private_key(private_key).public_key.format(compressed=False)[1:]


def private_key_to_address(private_key: bytes) -> bytes:
    """20-byte Ethereum address controlled by ``private_key``."""
    return keccak256(private_key_to_public_key(private_key))[12:]
