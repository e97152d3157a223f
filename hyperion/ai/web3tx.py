"""Signed transactions to the AI contracts over web3.py (any node: HTTP, or an in-process provider).

``Signer`` holds one key and sends contract calls the way a user's wallet
would: EIP-1559 fees from the node, a gas limit from ``eth_estimateGas`` with
a margin (or an explicit one), the receipt awaited, a revert turned into
``TransactionFailed`` with the contract's reason.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

from hyperion.ai.errors import AIError
from hyperion.artifacts import load_artifact

GAS_MARGIN_NUM, GAS_MARGIN_DEN, GAS_MARGIN_ADD = 5, 4, 50_000


class TransactionFailed(AIError):
    """A transaction reverted (or would): ``reason`` is the contract's message when it gave one."""

    def __init__(self, message: str, reason: Optional[str] = None):
        super().__init__(message)
        self.reason = reason


def checksum(address: bytes | str) -> str:
    return Web3.to_checksum_address(address if isinstance(address, str) else "0x" + bytes(address).hex())


def contract(w3: Web3, name: str, address: bytes | str):
    """A web3 contract object for one of the shipped contracts (ABI from ``hyperion.artifacts``)."""
    return w3.eth.contract(address=checksum(address), abi=load_artifact(name)["abi"])


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return message.removeprefix("execution reverted: ").strip()


class Signer:
    """One account sending transactions through ``w3`` (nonces tracked locally, one sender per key)."""

    def __init__(self, w3: Web3, private_key: bytes | str, timeout: float = 120.0):
        self.w3 = w3
        self.account = Account.from_key(private_key)
        self.address = self.account.address
        self.timeout = timeout
        self._nonce: Optional[int] = None
        self._lock = threading.Lock()
        self._chain_id: Optional[int] = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    def _fees(self) -> dict:
        block = self.w3.eth.get_block("latest")
        tip = self.w3.eth.max_priority_fee
        base = block.get("baseFeePerGas", 0) or 0
        return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * base + tip}

    def transact(self, function, value: int = 0, gas: Optional[int] = None) -> dict:
        """Send ``function`` (a bound web3 contract function); returns the receipt, raises on a revert."""
        with self._lock:
            base = {"from": self.address, "value": value, "chainId": self.chain_id}
            if gas is None:
                try:
                    estimate = function.estimate_gas(base)
                except (ContractLogicError, ContractCustomError) as exc:
                    raise TransactionFailed(f"{function.fn_name} would revert: {_reason(exc)}", _reason(exc)) from None
                gas = estimate * GAS_MARGIN_NUM // GAS_MARGIN_DEN + GAS_MARGIN_ADD
                limit = self.w3.eth.get_block("latest")["gasLimit"]
                gas = min(gas, limit)
            if self._nonce is None:
                self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
            tx = function.build_transaction({**base, "gas": gas, "nonce": self._nonce, **self._fees()})
            signed = self.account.sign_transaction(tx)
            try:
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception:
                self._nonce = None  # re-read it: the node did not take this one
                raise
            self._nonce += 1
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout, poll_latency=0.05)
        if receipt["status"] != 1:
            reason = self._replay(tx, receipt)
            raise TransactionFailed(f"{function.fn_name} reverted" + (f": {reason}" if reason else ""), reason)
        return receipt

    def _replay(self, tx: dict, receipt: Any) -> Optional[str]:
        """The revert reason of a mined failure, by replaying it at the block before."""
        call = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)
        except (ContractLogicError, ContractCustomError) as exc:
            return _reason(exc)
        except Exception:  # noqa: BLE001 - a node that cannot replay still gave us the failure itself
            return None
        return None
