"""Sending L1 (or L2) transactions from a web3.py connection: a local key, or an account the node unlocks.

Every send is simulated first (``eth_estimateGas``), so a revert surfaces as
``ContractReverted`` carrying the contract's reason before any gas is spent;
a mined failure raises too.
"""

from __future__ import annotations

from typing import Any, Optional

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

RECEIPT_TIMEOUT = 120.0


class ContractReverted(Exception):
    """A call or transaction reverted; ``reason`` is the contract's message when it gave one."""

    def __init__(self, reason: str, receipt: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.receipt = receipt


class Sender:
    """Who signs: a private key (signed here) or an address the node signs for (anvil's unlocked accounts)."""

    def __init__(self, w3: Web3, account: LocalAccount | str | bytes) -> None:
        self.w3 = w3
        if isinstance(account, LocalAccount):
            self.local: Optional[LocalAccount] = account
            self.address = account.address
        elif isinstance(account, (bytes, bytearray)) and len(account) == 32:
            self.local = Account.from_key(account)
            self.address = self.local.address
        elif isinstance(account, str) and len(account.removeprefix("0x")) == 64:
            self.local = Account.from_key(account)
            self.address = self.local.address
        else:
            self.local = None
            self.address = Web3.to_checksum_address(account)

    def send(self, tx: dict, *, gas: Optional[int] = None, blobs: Optional[list[bytes]] = None) -> Any:
        """Simulate, sign (or let the node sign), send and wait; returns the receipt (status 1)."""
        tx = dict(tx)
        tx["from"] = self.address
        tx.setdefault("value", 0)
        if "to" in tx and tx["to"] is not None:
            tx["to"] = Web3.to_checksum_address(tx["to"])
        if gas is None:
            try:
                estimate = self.w3.eth.estimate_gas(tx)
            except (ContractLogicError, ContractCustomError) as exc:
                raise ContractReverted(revert_reason(exc)) from None
            gas = estimate + estimate // 5 + 10_000
        tx["gas"] = gas
        if self.local is None:
            tx_hash = self.w3.eth.send_transaction(tx)
        else:
            tx["nonce"] = self.w3.eth.get_transaction_count(self.address, "pending")
            tx["chainId"] = self.w3.eth.chain_id
            if "maxFeePerGas" not in tx and "gasPrice" not in tx:
                base_fee = self.w3.eth.get_block("latest")["baseFeePerGas"]
                tip = self.w3.eth.max_priority_fee
                tx["maxPriorityFeePerGas"] = tip
                tx["maxFeePerGas"] = 2 * base_fee + tip
            signed = (Account.sign_transaction(tx, self.local.key, blobs=blobs) if blobs
                      else self.local.sign_transaction(tx))
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
        if receipt["status"] != 1:
            raise ContractReverted(self._replayed_reason(tx, receipt) or f"transaction {tx_hash.hex()} reverted",
                                   receipt)
        return receipt

    def _replayed_reason(self, tx: dict, receipt: Any) -> Optional[str]:
        """The revert reason of a mined failure, by replaying it with eth_call on the parent block's state."""
        replay = {key: tx[key] for key in ("from", "to", "data", "value", "gas") if key in tx}
        try:
            self.w3.eth.call(replay, receipt["blockNumber"] - 1)
        except (ContractLogicError, ContractCustomError) as exc:
            return revert_reason(exc)
        except Exception:  # the replay is a courtesy: any other failure leaves the generic message
            return None
        return None

    def transact(self, function: Any, *, value: int = 0, gas: Optional[int] = None) -> Any:
        """Send a web3.py ContractFunction call as a transaction."""
        tx = {"to": function.address, "data": function._encode_transaction_data(), "value": value}
        return self.send(tx, gas=gas)


def revert_reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return message.removeprefix("execution reverted: ").strip()


def call(function: Any, **kwargs: Any) -> Any:
    """A view call whose revert raises ContractReverted with the contract's reason."""
    try:
        return function.call(kwargs or None)
    except (ContractLogicError, ContractCustomError) as exc:
        raise ContractReverted(revert_reason(exc)) from None
