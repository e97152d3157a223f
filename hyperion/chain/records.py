"""What the chain reports about mined transactions: receipts and log entries.

These are the Python objects the RPC layer formats; they carry the block
context (hash, number, indexes) that the consensus receipt does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log with its position in the chain (eth_getLogs / receipt ``logs``)."""

    address: bytes
    topics: tuple
    data: bytes
    block_number: int
    block_hash: bytes
    tx_hash: bytes
    tx_index: int
    log_index: int
    removed: bool = False


@dataclass(frozen=True, slots=True)
class TxReceipt:
    """A transaction's receipt as eth_getTransactionReceipt reports it."""

    tx_hash: bytes
    tx_index: int
    block_hash: bytes
    block_number: int
    sender: bytes
    to: Optional[bytes]
    contract_address: Optional[bytes]
    cumulative_gas_used: int
    gas_used: int
    effective_gas_price: int
    status: int
    logs: list = field(default_factory=list)
    logs_bloom: bytes = b"\x00" * 256
    tx_type: int = 0
    blob_gas_used: int = 0
    blob_gas_price: int = 0
    deposit_nonce: Optional[int] = None  # deposit transactions (type 0x7E) only
    post_state: Optional[bytes] = None  # pre-Byzantium receipts: the state root after the transaction

    @property
    def success(self) -> bool:
        return self.status == 1
