"""0x0a POINT_EVALUATION (EIP-4844): verify a KZG proof that p(z) = y.

Input (192 bytes): versioned_hash, z, y, commitment (48), proof (48). The
versioned hash must be 0x01 || sha256(commitment)[1:]. Verification uses
ckzg with the mainnet trusted setup vendored next to this module
(``kzg_trusted_setup.txt``, the c-kzg-4844 ceremony output; ckzg does not
ship it). The setup is loaded once, on the first call.
"""

from __future__ import annotations

from pathlib import Path

import ckzg
from Crypto.Hash import SHA256

from .base import PrecompileError

GAS = 50000
INPUT_SIZE = 192
VERSIONED_HASH_VERSION_KZG = 0x01
FIELD_ELEMENTS_PER_BLOB = 4096
BLS_MODULUS = 52435875175126190479447740508185965837690552500527637822603658699938581184513
TRUSTED_SETUP_PATH = Path(__file__).with_name("kzg_trusted_setup.txt")

SUCCESS_OUTPUT = FIELD_ELEMENTS_PER_BLOB.to_bytes(32, "big") + BLS_MODULUS.to_bytes(32, "big")

_trusted_setup = None


def trusted_setup():
    """The ckzg settings object, loaded from the vendored file on first use."""
    global _trusted_setup
    if _trusted_setup is None:
        _trusted_setup = ckzg.load_trusted_setup(str(TRUSTED_SETUP_PATH), 0)
    return _trusted_setup


def kzg_to_versioned_hash(commitment: bytes) -> bytes:
    return bytes((VERSIONED_HASH_VERSION_KZG,)) + SHA256.new(commitment).digest()[1:]


def gas(data: bytes) -> int:
    return GAS


def run(data: bytes) -> bytes:
    if len(data) != INPUT_SIZE:
        raise PrecompileError(f"point evaluation input must be {INPUT_SIZE} bytes, got {len(data)}")
    versioned_hash = data[:32]
    z, y = data[32:64], data[64:96]
    commitment, proof = data[96:144], data[144:192]
    if kzg_to_versioned_hash(commitment) != versioned_hash:
        raise PrecompileError("versioned hash does not match the commitment")
    try:
        valid = ckzg.verify_kzg_proof(commitment, z, y, proof, trusted_setup())
    except Exception as exc:  # ckzg rejects malformed points / non-canonical field elements
        raise PrecompileError(f"invalid KZG input: {exc}") from exc
    if not valid:
        raise PrecompileError("KZG proof does not verify")
    return SUCCESS_OUTPUT
