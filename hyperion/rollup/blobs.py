"""Batch data in EIP-4844 blobs: packing, strict unpacking, KZG commitments.

A blob is 4096 field elements of 32 bytes; a field element must be below
the BLS12-381 scalar modulus, so the packing keeps the first byte of each
element zero and uses the other 31 (126,976 bytes per blob). The data of
one batch transaction is ``length (4 bytes, big-endian) || data``, spread
over as many blobs as it needs (at most ``MAX_BLOBS_PER_TX``, Osaka's
per-transaction cap), zero-padded. Unpacking refuses anything else: a
non-zero first byte, a length beyond the blobs, non-zero padding.

Blobs fetched from a beacon endpoint are never trusted: derivation
recomputes each blob's KZG commitment (``blob_versioned_hash``) and checks it
against the versioned hash in the L1 transaction. The sidecar and network
wrapper of an outgoing blob transaction come from ``hyperion.rollup.l1.blobs``.
"""

from __future__ import annotations

import hashlib

import ckzg

from hyperion.vm.precompiles.point_evaluation import trusted_setup

FIELD_ELEMENTS_PER_BLOB = 4096
BYTES_PER_FIELD_ELEMENT = 32
USABLE_BYTES_PER_ELEMENT = 31
BLOB_SIZE = FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT
BLOB_CAPACITY = FIELD_ELEMENTS_PER_BLOB * USABLE_BYTES_PER_ELEMENT
MAX_BLOBS_PER_TX = 6
LENGTH_PREFIX = 4
VERSIONED_HASH_VERSION_KZG = 0x01


class MalformedBlobs(ValueError):
    """Blob contents that are not packed batch data (or do not match their versioned hashes)."""


def max_blob_payload(blobs: int = MAX_BLOBS_PER_TX) -> int:
    return blobs * BLOB_CAPACITY - LENGTH_PREFIX


def blobs_needed(size: int) -> int:
    return -(-(size + LENGTH_PREFIX) // BLOB_CAPACITY)


def encode_blobs(data: bytes) -> list[bytes]:
    """Pack ``data`` into as few blobs as it needs."""
    count = blobs_needed(len(data))
    if count > MAX_BLOBS_PER_TX:
        raise ValueError(f"{len(data)} bytes need {count} blobs, more than {MAX_BLOBS_PER_TX} per transaction")
    payload = len(data).to_bytes(LENGTH_PREFIX, "big") + data
    payload += bytes(count * BLOB_CAPACITY - len(payload))
    blobs = []
    for b in range(count):
        chunk = memoryview(payload)[b * BLOB_CAPACITY:(b + 1) * BLOB_CAPACITY]
        blob = bytearray(BLOB_SIZE)
        for i in range(FIELD_ELEMENTS_PER_BLOB):
            blob[i * 32 + 1:i * 32 + 32] = chunk[i * 31:i * 31 + 31]
        blobs.append(bytes(blob))
    return blobs


def decode_blobs(blobs: list[bytes]) -> bytes:
    """Unpack what ``encode_blobs`` packed; raises MalformedBlobs for any other content."""
    if not blobs:
        raise MalformedBlobs("no blobs")
    parts = []
    for index, blob in enumerate(blobs):
        if len(blob) != BLOB_SIZE:
            raise MalformedBlobs(f"blob {index} is {len(blob)} bytes, not {BLOB_SIZE}")
        if any(blob[i * 32] for i in range(FIELD_ELEMENTS_PER_BLOB)):
            raise MalformedBlobs(f"blob {index} uses the high byte of a field element")
        parts.extend(blob[i * 32 + 1:i * 32 + 32] for i in range(FIELD_ELEMENTS_PER_BLOB))
    payload = b"".join(parts)
    length = int.from_bytes(payload[:LENGTH_PREFIX], "big")
    end = LENGTH_PREFIX + length
    if end > len(payload):
        raise MalformedBlobs(f"declared length {length} exceeds the {len(payload) - LENGTH_PREFIX} bytes the blobs hold")
    if blobs_needed(length) != len(blobs):
        raise MalformedBlobs(f"{length} bytes are packed into {len(blobs)} blobs, not {blobs_needed(length)}")
    if any(payload[end:]):
        raise MalformedBlobs("non-zero bytes after the declared length")
    return payload[LENGTH_PREFIX:end]


def versioned_hash(commitment: bytes) -> bytes:
    return bytes((VERSIONED_HASH_VERSION_KZG,)) + hashlib.sha256(commitment).digest()[1:]


def commitment(blob: bytes) -> bytes:
    return bytes(ckzg.blob_to_kzg_commitment(blob, trusted_setup()))


def blob_versioned_hash(blob: bytes) -> bytes:
    """The versioned hash of ``blob``'s KZG commitment; MalformedBlobs when it is not a valid blob."""
    if len(blob) != BLOB_SIZE:
        raise MalformedBlobs(f"a blob is {BLOB_SIZE} bytes, got {len(blob)}")
    try:
        return versioned_hash(commitment(blob))
    except Exception as exc:  # ckzg raises for field elements above the modulus
        raise MalformedBlobs(f"not a valid blob: {exc}") from None
