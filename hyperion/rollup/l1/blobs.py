"""EIP-4844 blob transactions for the BatchInbox: KZG sidecars and the network wrapper.

Built with Hyperion's own ``BlobTransaction`` and ckzg, loading the trusted
setup once per process (eth-account reloads it per blob, seconds each).
The wrapper has two forms: Cancun/Prague's ``rlp([tx, blobs, commitments,
proofs])`` and Osaka's (EIP-7594) ``rlp([tx, 1, blobs, commitments,
cell_proofs])``; pick with ``cell_proofs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import ckzg

from hyperion.primitives import rlp
from hyperion.primitives.transactions import BlobTransaction
from hyperion.vm.precompiles.point_evaluation import kzg_to_versioned_hash, trusted_setup

BLOB_SIZE = 131072
FIELD_ELEMENT_SIZE = 32
MAX_BLOBS_PER_TRANSACTION = 6
# the largest payload a blob carries when each 32-byte field element keeps its top byte zero
USABLE_BYTES_PER_BLOB = BLOB_SIZE // FIELD_ELEMENT_SIZE * 31


class BlobError(ValueError):
    """A blob that is not 131072 bytes, or whose field elements are not below the BLS modulus."""


@dataclass(frozen=True)
class BlobSidecar:
    blobs: tuple[bytes, ...]
    commitments: tuple[bytes, ...]
    proofs: tuple[bytes, ...]           # one KZG proof per blob (Cancun/Prague wrapper)
    cell_proofs: tuple[bytes, ...]      # 128 per blob (Osaka wrapper), empty unless asked for

    @property
    def versioned_hashes(self) -> tuple[bytes, ...]:
        return tuple(kzg_to_versioned_hash(c) for c in self.commitments)


def pack_blob(payload: bytes) -> bytes:
    """Lay ``payload`` (at most USABLE_BYTES_PER_BLOB bytes) into one blob, 31 bytes per field element."""
    if len(payload) > USABLE_BYTES_PER_BLOB:
        raise BlobError(f"payload of {len(payload)} bytes does not fit one blob ({USABLE_BYTES_PER_BLOB})")
    chunks = [b"\0" + payload[i:i + 31].ljust(31, b"\0") for i in range(0, len(payload), 31)]
    return b"".join(chunks).ljust(BLOB_SIZE, b"\0")


def make_sidecar(blobs: Sequence[bytes], *, cell_proofs: bool = False) -> BlobSidecar:
    if not 1 <= len(blobs) <= MAX_BLOBS_PER_TRANSACTION:
        raise BlobError(f"a blob transaction carries 1 to {MAX_BLOBS_PER_TRANSACTION} blobs")
    setup = trusted_setup()
    commitments, proofs, cells = [], [], []
    for blob in blobs:
        blob = bytes(blob)
        if len(blob) != BLOB_SIZE:
            raise BlobError(f"a blob is {BLOB_SIZE} bytes, not {len(blob)}")
        try:
            commitment = ckzg.blob_to_kzg_commitment(blob, setup)
            commitments.append(commitment)
            if cell_proofs:
                cells.extend(ckzg.compute_cells_and_kzg_proofs(blob, setup)[1])
            else:
                proofs.append(ckzg.compute_blob_kzg_proof(blob, commitment, setup))
        except RuntimeError as exc:  # ckzg: a field element at or above the modulus
            raise BlobError(f"invalid blob: {exc}") from None
    return BlobSidecar(tuple(bytes(b) for b in blobs), tuple(commitments), tuple(proofs), tuple(cells))


def blob_transaction(*, chain_id: int, nonce: int, to: bytes, max_priority_fee_per_gas: int, max_fee_per_gas: int,
                     max_fee_per_blob_gas: int, gas: int, sidecar: BlobSidecar, private_key: bytes,
                     data: bytes = b"") -> tuple[bytes, bytes]:
    """(transaction hash, network encoding for eth_sendRawTransaction) of a signed type-3 transaction."""
    tx = BlobTransaction(chain_id=chain_id, nonce=nonce, max_priority_fee_per_gas=max_priority_fee_per_gas,
                         max_fee_per_gas=max_fee_per_gas, gas=gas, to=to, value=0, data=data, access_list=(),
                         max_fee_per_blob_gas=max_fee_per_blob_gas,
                         blob_versioned_hashes=sidecar.versioned_hashes).signed(private_key)
    body = rlp.decode(tx.encode()[1:])
    if sidecar.cell_proofs:
        wrapper = [body, 1, list(sidecar.blobs), list(sidecar.commitments), list(sidecar.cell_proofs)]
    else:
        wrapper = [body, list(sidecar.blobs), list(sidecar.commitments), list(sidecar.proofs)]
    return tx.hash, b"\x03" + rlp.encode(wrapper)
