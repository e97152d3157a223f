"""The one path by which Hyperion sends a transaction through web3.py.

The SDK (``hyperion.sdk``, layer 9) and the rollup's L1 clients
(``hyperion.rollup.l1``, layer 7) both send through ``Web3Sender``; it lives
below both so neither writes it again. A send:

1. is simulated first (``eth_estimateGas``), so a revert raises ``Reverted``
   with the contract's reason before any gas is spent;
2. gets its envelope: the sender's next nonce (the larger of the node's pending
   count and the one after this sender's last send, so back-to-back sends never
   reuse one), chain id, EIP-1559 fees from the latest block (a cap of twice the
   base fee plus the tip) unless the transaction names its own, and a gas limit
   of the estimate plus a margin, at most the block's;
3. is signed with a local key, or signed by the node for an account it unlocks;
4. is waited for; a mined failure raises ``Reverted`` with the reason the node
   gives when the call is replayed at the block before.

The node's own refusals (``web3.exceptions.Web3RPCError``) pass through unchanged.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any, Callable, Optional

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError

GAS_MARGIN_NUM, GAS_MARGIN_DEN, GAS_MARGIN_ADD = 5, 4, 50_000  # gas limit = estimate * 5/4 + 50k
RECEIPT_TIMEOUT = 120.0
RECEIPT_POLL = 0.05


class Reverted(Exception):
    """A transaction, or its simulation, reverted; ``reason`` is the contract's message ("" when a mined
    failure gave none on replay). ``receipt`` and ``tx_hash`` are set when the failure was mined.
    """

    def __init__(self, reason: str, receipt: Any = None, tx_hash: Optional[str] = None) -> None:
        super().__init__(reason or f"transaction {tx_hash} reverted")
        self.reason = reason
        self.receipt = receipt
        self.tx_hash = tx_hash


def revert_reason(exc: ContractLogicError) -> str:
    """The contract's message in a web3 revert error ("execution reverted" when it gave none)."""
    message = (getattr(exc, "message", None) or str(exc)).strip()
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted").strip() \
        or "execution reverted"


def signer(who: LocalAccount | str | bytes) -> tuple[str, Optional[LocalAccount]]:
    """``(checksum address, local account)`` of a sender: a 32-byte private key (bytes or hex), an
    ``eth_account`` account, or the 20-byte address of an account the node unlocks (local account None)."""
    if isinstance(who, LocalAccount):
        return who.address, who
    try:
        raw = bytes.fromhex(who.removeprefix("0x")) if isinstance(who, str) else bytes(who)
    except (ValueError, TypeError):
        raise ValueError(f"not a private key or an address: {who!r}") from None
    if len(raw) == 20:
        return Web3.to_checksum_address(raw), None
    if len(raw) != 32:
        raise ValueError("a sender is a 32-byte private key, an account, or a 20-byte unlocked address")
    account = _account(raw)
    return account.address, account


@lru_cache(maxsize=256)
def _account(key: bytes) -> LocalAccount:
    return Account.from_key(key)  # deriving the address costs a curve multiplication: once per key


def call_transaction(function: Any, value: int = 0) -> dict:
    """The transaction fields (to, data, value) that call a web3.py ``ContractFunction``."""
    return {"to": function.address, "data": function._encode_transaction_data(), "value": value}


class Web3Sender:
    """Sends transactions over one web3 connection, one at a time (so nonces are taken in order)."""

    def __init__(self, w3: Web3, *, timeout: float = RECEIPT_TIMEOUT,
                 on_sent: Optional[Callable[[str], None]] = None) -> None:
        self.w3 = w3
        self.timeout = timeout
        self.on_sent = on_sent  # told each transaction's hash once the node took it (a command can say "waiting")
        self._chain_id: Optional[int] = None
        self._next_nonce: dict[str, int] = {}  # sender -> the nonce after its last send through this object
        self._lock = threading.Lock()

    def estimate(self, tx: dict) -> int:
        """The gas limit for ``tx``: the simulated gas plus a margin; ``Reverted`` if the simulation reverts."""
        try:
            estimate = self.w3.eth.estimate_gas(tx)
        except ContractLogicError as exc:
            raise Reverted(revert_reason(exc)) from None
        return estimate * GAS_MARGIN_NUM // GAS_MARGIN_DEN + GAS_MARGIN_ADD

    def send(self, tx: dict, sender: LocalAccount | str | bytes, *, gas: Optional[int] = None) -> Any:
        """Simulate (unless ``gas`` is given), sign, send and wait; returns the receipt (status 1).

        ``tx`` holds to (absent or None to create), data and value; fees when it names its own.
        """
        address, account = signer(sender)
        tx = dict(tx, **{"from": address})
        tx.setdefault("value", 0)
        if tx.get("to") is not None:
            tx["to"] = Web3.to_checksum_address(tx["to"])
        else:
            tx.pop("to", None)
        limit = gas if gas is not None else self.estimate(tx)
        with self._lock:
            tx.update(self._envelope(address, tx, limit))
            try:
                if account is not None:
                    tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
                else:
                    tx_hash = self.w3.eth.send_transaction(tx)
            except Exception:
                self._next_nonce.pop(address, None)  # the node did not take it: ask it for the nonce next time
                raise
            self._next_nonce[address] = tx["nonce"] + 1
        hex_hash = "0x" + bytes(tx_hash).hex()
        if self.on_sent:
            self.on_sent(hex_hash)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout, poll_latency=RECEIPT_POLL)
        if receipt["status"] != 1:
            raise Reverted(self._replayed_reason(tx, receipt["blockNumber"]) or "", receipt, hex_hash)
        return receipt

    def _envelope(self, address: str, tx: dict, gas: int) -> dict:
        """Nonce, chain id, gas limit (at most the block's) and, unless ``tx`` names them, EIP-1559 fees."""
        latest = self.w3.eth.get_block("latest")
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        nonce = max(self.w3.eth.get_transaction_count(address, "pending"), self._next_nonce.get(address, 0))
        envelope = {"nonce": nonce, "chainId": self._chain_id, "gas": min(gas, latest["gasLimit"])}
        if "maxFeePerGas" not in tx and "gasPrice" not in tx:
            tip = self.w3.eth.max_priority_fee
            envelope.update(maxPriorityFeePerGas=tip, maxFeePerGas=2 * (latest.get("baseFeePerGas") or 0) + tip)
        return envelope

    def _replayed_reason(self, tx: dict, block_number: int) -> Optional[str]:
        """The revert reason of a mined failure: the same call at the block before it."""
        replay = {key: tx[key] for key in ("from", "to", "data", "value", "gas") if key in tx}
        try:
            self.w3.eth.call(replay, block_number - 1)
        except ContractLogicError as exc:
            return revert_reason(exc)
        except Exception:  # noqa: BLE001 - a node that cannot replay still reported the failure itself
            return None
        return None
