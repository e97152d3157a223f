"""Connection to a Hyperion node: the account that signs, the predeployed contracts, sending and waiting.

Every helper in ``hyperion.sdk`` goes through ``HyperionClient.transact``,
which simulates the call first (so a revert surfaces as ``TransactionFailed``
with the contract's reason instead of a mined failure), signs an EIP-1559
transaction with the client's key, sends it and waits for the receipt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError

from hyperion.predeploys.plan import contracts_manifest
from hyperion.sdk.errors import SdkError, TransactionFailed

DEFAULT_RPC_URL = "http://127.0.0.1:8545"


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: its hash, receipt and the contract's decoded events."""

    tx_hash: str
    receipt: Any
    gas_used: int
    events: list

    def event(self, name: str) -> dict:
        """The arguments of the first event called ``name`` (``SdkError`` if none was emitted)."""
        for event in self.events:
            if event["event"] == name:
                return dict(event["args"])
        raise SdkError(f"transaction {self.tx_hash} emitted no {name} event")


class HyperionClient:
    """web3.py connection plus the LazAI predeploys as ``web3`` contract objects (``client.contract("DAT")``)."""

    def __init__(self, rpc_url: str = DEFAULT_RPC_URL, private_key: str | bytes | None = None, *,
                 web3: Optional[Web3] = None, timeout: float = 120.0,
                 on_wait: Optional[Callable[[str], None]] = None) -> None:
        self.w3 = web3 or Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.account = Account.from_key(private_key) if private_key else None
        self.timeout = timeout
        self.on_wait = on_wait
        self._contracts = {}
        for entry in contracts_manifest():
            self._contracts[entry["name"]] = self.w3.eth.contract(
                address=Web3.to_checksum_address(entry["address"]), abi=entry["abi"])

    # -- basics ------------------------------------------------------------------------
    @property
    def address(self) -> str:
        if self.account is None:
            raise SdkError("this client has no private key: pass private_key= to send transactions")
        return self.account.address

    def contract(self, name: str):
        try:
            return self._contracts[name]
        except KeyError:
            raise SdkError(f"unknown contract {name!r}; known: {', '.join(sorted(self._contracts))}") from None

    def contract_at(self, address: str, abi: list):
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)

    def balance(self, address: str | None = None) -> int:
        return self.w3.eth.get_balance(Web3.to_checksum_address(address or self.address))

    # -- dev-chain time ------------------------------------------------------------------
    def increase_time(self, seconds: int) -> None:
        """Mine a dev-node block at least ``seconds`` after the latest one (evm_increaseTime + evm_mine at it).

        Automined blocks can run ahead of the wall clock, so the target is
        taken from the latest block, not from "now".
        """
        target = self.latest_timestamp() + int(seconds)
        for method, params in (("evm_increaseTime", [int(seconds)]), ("evm_mine", [target])):
            answer = self.w3.provider.make_request(method, params)
            if "error" in answer:
                raise SdkError(f"{method} failed (is this a dev node?): {answer['error']}")

    def latest_timestamp(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    # -- transactions --------------------------------------------------------------------
    def transact(self, function, value: int = 0, gas: int | None = None) -> TxResult:
        """Simulate, sign, send and wait; raises ``TransactionFailed`` with the revert reason."""
        sender = self.address
        params = {"from": sender, "value": value}
        try:
            estimate = function.estimate_gas(params)
        except ContractLogicError as exc:
            raise TransactionFailed(revert_reason(exc)) from None
        latest = self.w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas", 0) or 0
        tip = self.w3.eth.max_priority_fee
        tx = function.build_transaction({
            "from": sender, "value": value, "gas": gas or int(estimate * 1.3) + 10_000,
            "maxFeePerGas": base_fee * 2 + tip, "maxPriorityFeePerGas": tip,
            "nonce": self.w3.eth.get_transaction_count(sender, "pending"), "chainId": self.w3.eth.chain_id,
        })
        signed = self.account.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        if self.on_wait:
            self.on_wait("0x" + bytes(tx_hash).hex())
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout, poll_latency=0.1)
        hex_hash = "0x" + bytes(tx_hash).hex()
        if receipt["status"] != 1:
            raise TransactionFailed("transaction reverted", hex_hash)
        events = _decode_events(function.contract_abi, function.address, self.w3, receipt)
        return TxResult(hex_hash, receipt, receipt["gasUsed"], events)

    def deploy(self, abi: list, bytecode: bytes, *args, value: int = 0):
        """Deploy a contract; returns its web3 contract object."""
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        sender = self.address
        tip = self.w3.eth.max_priority_fee
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0
        tx = factory.constructor(*args).build_transaction({
            "from": sender, "value": value, "maxFeePerGas": base_fee * 2 + tip, "maxPriorityFeePerGas": tip,
            "nonce": self.w3.eth.get_transaction_count(sender, "pending"), "chainId": self.w3.eth.chain_id,
        })
        tx_hash = self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout, poll_latency=0.1)
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise TransactionFailed("deployment reverted", "0x" + bytes(tx_hash).hex())
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=abi)

    def send_value(self, to: str, value: int) -> TxResult:
        """A plain transfer (e.g. funding an account)."""
        sender = self.address
        tip = self.w3.eth.max_priority_fee
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0
        tx = {"to": Web3.to_checksum_address(to), "value": value, "gas": 21_000, "from": sender,
              "maxFeePerGas": base_fee * 2 + tip, "maxPriorityFeePerGas": tip,
              "nonce": self.w3.eth.get_transaction_count(sender, "pending"), "chainId": self.w3.eth.chain_id}
        tx_hash = self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout, poll_latency=0.1)
        return TxResult("0x" + bytes(tx_hash).hex(), receipt, receipt["gasUsed"], [])


def revert_reason(exc: ContractLogicError) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted")  or "execution reverted"


def _decode_events(abi: list, address: str, w3: Web3, receipt) -> list:
    """Decode the receipt's logs emitted by ``address`` against the events of ``abi``."""
    events = []
    probe = w3.eth.contract(abi=abi)
    own_logs = [log for log in receipt["logs"] if log["address"].lower() == address.lower()]
    for event_abi in (e for e in abi if e["type"] == "event"):
        event = getattr(probe.events, event_abi["name"])()
        for log in own_logs:
            try:
                events.append(event.process_log(log))
            except Exception:  # not this event's log: web3 raises several mismatch types
                continue
    events.sort(key=lambda e: e["logIndex"])
    return events
