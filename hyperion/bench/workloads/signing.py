"""Signing of legacy (EIP-155) transactions for benchmark batches.

The bench signs its own transactions instead of relying on the engine under
test, so that every engine receives byte-identical raw transactions.
"""

from __future__ import annotations

import coincurve

from hyperion.bench.workloads.model import TxSpec, WorkloadError
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256


def address_of_key(private_key: bytes) -> bytes:
    """The 20-byte address controlled by a 32-byte secp256k1 private key."""
    if len(private_key) != 32:
        raise WorkloadError(f"private key must be 32 bytes, got {len(private_key)}")
    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)
    return keccak256(public[1:])[12:]


def sign_legacy_transaction(
    private_key: bytes,
    *,
    nonce: int,
    gas_price: int,
    gas_limit: int,
    to: bytes | None,
    value: int,
    data: bytes,
    chain_id: int = 1,
) -> TxSpec:
    """Build and sign a legacy transaction with EIP-155 replay protection."""
    if to is not None and len(to) != 20:
        raise WorkloadError(f"transaction recipient must be 20 bytes, got {len(to)}")
    to_field = b"" if to is None else to
    unsigned = [nonce, gas_price, gas_limit, to_field, value, data]
    signing_hash = keccak256(rlp.encode(unsigned + [chain_id, 0, 0]))
    signature = coincurve.PrivateKey(private_key).sign_recoverable(signing_hash, hasher=None)
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64] + 35 + 2 * chain_id
    raw = rlp.encode(unsigned + [v, r, s])
    return TxSpec(
        sender=address_of_key(private_key),
        to=to,
        data=data,
        value=value,
        gas_limit=gas_limit,
        gas_price=gas_price,
        nonce=nonce,
        raw=raw,
    )
