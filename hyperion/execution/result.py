"""What applying a transaction gives: its result, or the reason it cannot be included.

Shared by the state-transition function (``transaction``) and the rollup's
deposits (``deposit``), so that neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


class InvalidTransaction(ValueError):
    """The transaction cannot be included: nothing was executed or charged."""


@dataclass
class TransactionResult:
    """(``apply_transaction`` builds it positionally, the cheaper call: append new fields last.)"""

    gas_used: int
    success: bool
    output: bytes = b""
    logs: list = field(default_factory=list)
    contract_address: Optional[bytes] = None
    error: Optional[str] = None
    blob_gas_used: int = 0
    gas_refunded: int = 0
    deposit_nonce: Optional[int] = None  # deposits: the sender's nonce before the deposit
