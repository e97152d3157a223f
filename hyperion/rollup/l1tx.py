"""Signing and sending L1 transactions for the node roles (batcher, proposer, challenger, resolver).

Transactions are built and signed with Hyperion's own primitives (EIP-1559
for calls and calldata batches, EIP-4844 for blob batches) and sent raw,
so any L1 endpoint works. Fees follow the endpoint: a fee cap of twice the
next base fee plus the suggested tip, and twice the blob base fee for blobs.
A blob transaction goes out in the EIP-4844 network form (blobs,
commitments, proofs); an L1 that wants Osaka's cell proofs (EIP-7594) gets
them on retry.

Not ``hyperion.web3tx.Web3Sender``: the roles send from the node's event loop
(this signer is async, over ``L1Client``), and they manage their own nonces,
replacements and receipts across L1 reorgs, where Web3Sender sends one
transaction at a time and blocks until it is mined.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Optional, Sequence

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_abi.grammar import parse as parse_abi_type
from eth_utils import function_signature_to_4byte_selector

from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.primitives.transactions import FeeMarketTransaction
from hyperion.rollup.l1.blobs import blob_transaction, make_sidecar
from hyperion.rollup.l1client import L1Client, L1RpcError, hexd, hexq, qty

log = logging.getLogger("hyperion.rollup.l1tx")

BLOB_TX_GAS = 100_000
GAS_MARGIN = 1.25


def call_data(signature: str, *args) -> bytes:
    """ABI-encode a call: ``call_data("challenge(uint256,bytes32)", 3, root)``."""
    params = signature[signature.index("("):]
    types = [] if params == "()" else [t.to_type_str() for t in parse_abi_type(params).components]
    return function_signature_to_4byte_selector(signature) + (abi_encode(types, list(args)) if types else b"")


def decode_result(types: Sequence[str], raw: bytes):
    return abi_decode(list(types), raw)


@dataclass(frozen=True)
class SentTransaction:
    tx_hash: bytes
    nonce: int
    raw: bytes


class L1Signer:
    """One L1 key; sends are serialized so nonces never collide."""

    def __init__(self, client: L1Client, private_key: bytes, chain_id: int):
        self.client = client
        self.key = private_key
        self.address = private_key_to_address(private_key)
        self.chain_id = chain_id
        self._lock = asyncio.Lock()

    async def _fees(self) -> tuple[int, int, int]:
        base, tip, blob_fee = await self.client.fees()
        return 2 * base + tip, tip, 2 * blob_fee

    async def estimate(self, to: bytes, data: bytes, value: int = 0) -> int:
        gas = await self.client.call("eth_estimateGas", {"from": hexd(self.address), "to": hexd(to),
                                                         "data": hexd(data), "value": hexq(value)})
        return int(qty(gas) * GAS_MARGIN)

    async def send(self, to: bytes, data: bytes = b"", value: int = 0, gas: Optional[int] = None,
                   nonce: Optional[int] = None) -> SentTransaction:
        """Sign and send a call (EIP-1559); the gas is estimated unless given."""
        async with self._lock:
            if gas is None:
                gas = await self.estimate(to, data, value)
            max_fee, tip, _ = await self._fees()
            if nonce is None:
                nonce = await self.client.nonce(self.address, "pending")
            tx = FeeMarketTransaction(self.chain_id, nonce, tip, max_fee, gas, to, value, data).signed(self.key)
            raw = tx.encode()
            await self.client.send_raw_transaction(raw)
            return SentTransaction(tx.hash, nonce, raw)

    def blob_transaction(self, to: bytes, blobs: list[bytes], nonce: int, fees: tuple[int, int, int],
                         cell_form: bool = False) -> tuple[bytes, bytes]:
        """``(tx hash, network form)`` of a blob transaction carrying ``blobs``."""
        max_fee, tip, blob_fee = fees
        return blob_transaction(chain_id=self.chain_id, nonce=nonce, to=to, max_priority_fee_per_gas=tip,
                                max_fee_per_gas=max_fee, max_fee_per_blob_gas=max(blob_fee, 1), gas=BLOB_TX_GAS,
                                sidecar=make_sidecar(blobs, cell_proofs=cell_form), private_key=self.key)

    async def send_blobs(self, to: bytes, blobs: list[bytes], nonce: Optional[int] = None) -> SentTransaction:
        async with self._lock:
            fees = await self._fees()
            if nonce is None:
                nonce = await self.client.nonce(self.address, "pending")
            tx_hash, raw = self.blob_transaction(to, blobs, nonce, fees)
            try:
                await self.client.send_raw_transaction(raw)
            except L1RpcError as exc:
                if "proof" not in exc.message.lower():
                    raise
                tx_hash, raw = self.blob_transaction(to, blobs, nonce, fees, cell_form=True)
                await self.client.send_raw_transaction(raw)
            return SentTransaction(tx_hash, nonce, raw)

    async def wait(self, tx_hash: bytes, timeout: float = 60.0, poll: float = 0.25) -> dict:
        """The receipt of ``tx_hash`` once mined (raises TimeoutError)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            receipt = await self.client.call("eth_getTransactionReceipt", hexd(tx_hash))
            if receipt is not None:
                return receipt
            if loop.time() > deadline:
                raise TimeoutError(f"L1 transaction 0x{tx_hash.hex()} not mined after {timeout:.0f}s")
            await asyncio.sleep(poll)
