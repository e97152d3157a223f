"""Sending L1 (or L2) transactions for the rollup's clients: a local key, or an account the node unlocks.

The sending itself is ``hyperion.web3tx.Web3Sender``, the one path the SDK
uses too: every send is simulated first (``eth_estimateGas``), so a revert
surfaces as ``ContractReverted`` carrying the contract's reason before any gas
is spent; a mined failure raises too.
"""

from __future__ import annotations

from typing import Any, Optional

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError

from hyperion.web3tx import Reverted, Web3Sender, call_transaction, revert_reason, signer

ContractReverted = Reverted  # the rollup clients' name for a revert (``reason``, and ``receipt`` when mined)


class Sender:
    """Who signs: a private key (signed here) or an address the node signs for (anvil's unlocked accounts)."""

    def __init__(self, w3: Web3, account: LocalAccount | str | bytes) -> None:
        self.w3 = w3
        self.address, self.local = signer(account)
        self._sender = Web3Sender(w3)

    def send(self, tx: dict, *, gas: Optional[int] = None) -> Any:
        """Simulate (unless ``gas`` is given), sign (or let the node sign), send and wait; returns the receipt."""
        return self._sender.send(tx, self.local or self.address, gas=gas)

    def transact(self, function: Any, *, value: int = 0, gas: Optional[int] = None) -> Any:
        """Send a web3.py ContractFunction call as a transaction."""
        return self.send(call_transaction(function, value), gas=gas)


def call(function: Any, **kwargs: Any) -> Any:
    """A view call whose revert raises ContractReverted with the contract's reason."""
    try:
        return function.call(kwargs or None)
    except ContractLogicError as exc:
        raise ContractReverted(revert_reason(exc)) from None


__all__ = ["ContractReverted", "Sender", "call", "revert_reason"]
