"""Connection to a Hyperion node: who signs, the system contracts, sending, waiting, decoding.

Every helper in ``hyperion.sdk`` goes through ``HyperionClient.transact``,
which simulates the call first (so a revert surfaces as ``TransactionFailed``
with the contract's reason instead of a mined failure), signs an EIP-1559
transaction, sends it and waits for the receipt. The signer is the client's
key, or a per-call ``sender``: a private key, an ``eth_account`` account, or
the address of an account the node unlocks (its dev accounts), which the
node signs for.

The node is any web3 provider: HTTP(S) or WebSocket by URL, or a dev chain
inside this process (``hyperion.sdk.inprocess``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import event_abi_to_log_topic
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from hyperion.artifacts import load_artifact
from hyperion.predeploys.plan import contracts_manifest
from hyperion.sdk.errors import InvalidRpcUrl, SdkError, TransactionFailed

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RPC_URL_SCHEMES = ("http", "https", "ws", "wss")
GAS_MARGIN_NUM, GAS_MARGIN_DEN, GAS_MARGIN_ADD = 5, 4, 50_000  # gas limit = estimate * 5/4 + 50k

def check_rpc_url(url: str) -> str:
    """``url`` if it can address a JSON-RPC endpoint, else ``InvalidRpcUrl`` naming what is wrong."""
    text = str(url).strip()
    try:
        parts = urlsplit(text)
        parts.port  # raises ValueError on a port that is not a number in range
    except ValueError as exc:
        raise InvalidRpcUrl(f"malformed RPC URL {url!r}: {exc}") from None
    if parts.scheme not in RPC_URL_SCHEMES or not parts.hostname:
        raise InvalidRpcUrl(f"malformed RPC URL {url!r}: expected http://HOST[:PORT] (or https, ws, wss)")
    return text


def provider_for(url: str, timeout: float):
    """The web3 provider for an endpoint URL (HTTP or WebSocket)."""
    url = check_rpc_url(url)
    if url.startswith(("ws://", "wss://")):
        from web3 import LegacyWebSocketProvider

        return LegacyWebSocketProvider(url, websocket_timeout=timeout)
    return Web3.HTTPProvider(url, request_kwargs={"timeout": timeout})


@dataclass(frozen=True)
class TxResult:
    """A mined transaction: its hash, receipt and the decoded events of every contract the client knows."""

    tx_hash: str
    receipt: Any
    gas_used: int
    events: list

    @property
    def block_number(self) -> int:
        return self.receipt["blockNumber"]

    @property
    def contract_address(self) -> Optional[str]:
        return self.receipt.get("contractAddress")

    def event(self, name: str) -> dict:
        """The arguments of the first event called ``name`` (``SdkError`` if none was emitted)."""
        for event in self.events:
            if event["event"] == name:
                return dict(event["args"])
        raise SdkError(f"transaction {self.tx_hash} emitted no {name} event")

    def named_events(self) -> list[tuple[str, dict]]:
        """``[(event name, arguments)]`` in log order."""
        return [(event["event"], dict(event["args"])) for event in self.events]


class HyperionClient:
    """web3.py connection plus the predeployed system contracts as web3 contract objects.

    ``client.contract("DAT")`` is the predeploy of that name; ``contract_at``
    gives any other contract, and the client decodes its events from then on.
    """

    def __init__(self, rpc_url: str = DEFAULT_RPC_URL, private_key: str | bytes | None = None, *,
                 web3: Optional[Web3] = None, timeout: float = 120.0,
                 on_wait: Optional[Callable[[str], None]] = None) -> None:
        self.w3 = web3 or Web3(provider_for(rpc_url, timeout))
        self.account: Optional[LocalAccount] = Account.from_key(private_key) if private_key else None
        self.timeout = timeout
        self.on_wait = on_wait
        self._contracts = {}
        self._events_by_address: dict[str, dict[bytes, Any]] = {}  # address -> log topic -> web3 event
        self._accounts: dict[bytes, LocalAccount] = {}
        self._chain_id: Optional[int] = None
        self._next_nonce: dict[str, int] = {}  # sender -> the nonce after its last send through this client
        self._lock = threading.Lock()  # one send at a time: nonces are taken in order
        for entry in contracts_manifest():
            self._contracts[entry["name"]] = self.contract_at(entry["address"], entry["abi"])

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

    def contract_at(self, address: str | bytes, abi: list):
        """A web3 contract object; its events are decoded in this client's transaction results."""
        contract = self.w3.eth.contract(address=to_address(address), abi=abi)
        self._events_by_address[contract.address.lower()] = {
            event_abi_to_log_topic(entry): getattr(contract.events, entry["name"])()
            for entry in abi if entry["type"] == "event" and not entry.get("anonymous")}
        return contract

    def artifact_contract(self, name: str, address: str | bytes):
        """A contract of ``hyperion.artifacts`` (``name``, e.g. "InferenceJobs") at ``address``."""
        return self.contract_at(address, load_artifact(name)["abi"])

    def balance(self, address: str | bytes | None = None) -> int:
        return self.w3.eth.get_balance(to_address(address) if address is not None else self.address)

    def code(self, address: str | bytes) -> bytes:
        return bytes(self.w3.eth.get_code(to_address(address)))

    def call(self, to: str | bytes, data: bytes, sender: str | bytes | None = None) -> bytes:
        """A read-only message call (``eth_call``) at the latest block; ``TransactionFailed`` if it fails."""
        request = {"to": to_address(to), "data": "0x" + bytes(data).hex()}
        if sender is not None:
            request["from"] = to_address(sender)
        try:
            return bytes(self.w3.eth.call(request))
        except ContractLogicError as exc:
            raise TransactionFailed(revert_reason(exc)) from None
        except Web3RPCError as exc:
            raise TransactionFailed(_rpc_message(exc)) from None

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

    # -- signing -------------------------------------------------------------------------
    def sender_address(self, sender=None) -> str:
        """The checksum address that ``sender`` (default: this client's key) sends from."""
        return self._signer(sender)[0]

    def _signer(self, sender) -> tuple[str, Optional[LocalAccount]]:
        """``(address, local account or None for a node-unlocked account)`` of a sender."""
        if sender is None:
            if self.account is None:
                raise SdkError("this client has no private key: pass private_key= or sender=")
            return self.account.address, self.account
        if isinstance(sender, LocalAccount):
            return sender.address, sender
        raw = bytes.fromhex(sender.removeprefix("0x")) if isinstance(sender, str) else bytes(sender)
        if len(raw) == 20:
            return Web3.to_checksum_address(raw), None
        if len(raw) != 32:
            raise SdkError("a sender is a 32-byte private key, an account, or a 20-byte unlocked address")
        account = self._accounts.get(raw)
        if account is None:
            account = self._accounts[raw] = Account.from_key(raw)
        return account.address, account

    def _envelope(self, sender: str, gas: int) -> dict:
        """Fees, chain id, the gas limit (at most the block's) and the nonce of ``sender``'s next transaction.

        The nonce is the larger of the node's pending count and the one after this
        client's last send: threads sending for one key do not wait for each other's
        transactions to reach the pool, and other senders of the key are still seen.
        Called with ``_lock`` held.
        """
        latest = self.w3.eth.get_block("latest")
        base_fee = latest.get("baseFeePerGas", 0) or 0
        tip = self.w3.eth.max_priority_fee
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        nonce = max(self.w3.eth.get_transaction_count(sender, "pending"), self._next_nonce.get(sender, 0))
        return {"maxFeePerGas": base_fee * 2 + tip, "maxPriorityFeePerGas": tip, "nonce": nonce,
                "chainId": self._chain_id, "gas": min(gas, latest["gasLimit"])}

    def _send(self, build, sender: str, account: Optional[LocalAccount], gas: int, label: str) -> TxResult:
        """Sign (or let the node sign for an unlocked account), send and wait for ``build(envelope)``.

        A mined failure raises ``TransactionFailed`` with the reason the node
        gives when the transaction is replayed at the block before.
        """
        with self._lock:
            tx = build(self._envelope(sender, gas))
            try:
                if account is not None:
                    tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
                else:
                    tx_hash = self.w3.eth.send_transaction(tx)
            except Web3RPCError as exc:
                self._next_nonce.pop(sender, None)  # the node did not take it: ask it again next time
                raise TransactionFailed(f"{label}: {_rpc_message(exc)}") from None
            self._next_nonce[sender] = tx["nonce"] + 1
        hex_hash = "0x" + bytes(tx_hash).hex()
        if self.on_wait:
            self.on_wait(hex_hash)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.timeout, poll_latency=0.05)
        if receipt["status"] != 1:
            reason = self._replay(tx, receipt["blockNumber"])
            raise TransactionFailed(f"{label} reverted" + (f": {reason}" if reason else ""), hex_hash)
        return TxResult(hex_hash, receipt, receipt["gasUsed"], self.decode_events(receipt))

    def _replay(self, tx: dict, block_number: int) -> Optional[str]:
        """The revert reason of a mined failure: the same call at the block before it."""
        call = {key: tx[key] for key in ("from", "to", "data", "value", "gas") if key in tx}
        try:
            self.w3.eth.call(call, block_number - 1)
        except ContractLogicError as exc:
            return revert_reason(exc)
        except Exception:  # noqa: BLE001 - a node that cannot replay still reported the failure itself
            return None
        return None

    @staticmethod
    def _estimate(what, params: dict) -> int:
        """Simulated gas with a margin; a revert raises ``TransactionFailed`` with the contract's reason."""
        try:
            estimate = what.estimate_gas(params)
        except ContractLogicError as exc:
            raise TransactionFailed(revert_reason(exc)) from None
        except Web3RPCError as exc:
            raise TransactionFailed(_rpc_message(exc)) from None
        return estimate * GAS_MARGIN_NUM // GAS_MARGIN_DEN + GAS_MARGIN_ADD

    # -- transactions --------------------------------------------------------------------
    def transact(self, function, value: int = 0, gas: int | None = None, sender=None) -> TxResult:
        """Simulate, sign, send and wait; raises ``TransactionFailed`` with the revert reason.

        ``gas`` skips the simulation (and its early revert) and is used as given.
        """
        address, account = self._signer(sender)
        params = {"from": address, "value": value}
        limit = gas if gas is not None else self._estimate(function, params)
        return self._send(lambda envelope: function.build_transaction({**params, **envelope}), address, account,
                          limit, function.fn_name)

    def deploy(self, abi: list, bytecode: bytes, *args, value: int = 0, sender=None):
        """Deploy a contract; returns its web3 contract object (its events are decoded from then on)."""
        address, account = self._signer(sender)
        constructor = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args)
        params = {"from": address, "value": value}
        limit = self._estimate(constructor, params)
        result = self._send(lambda envelope: constructor.build_transaction({**params, **envelope}), address,
                            account, limit, "deployment")
        if not result.contract_address:
            raise TransactionFailed("deployment created no contract", result.tx_hash)
        return self.contract_at(result.contract_address, abi)

    def send_value(self, to: str | bytes, value: int, sender=None) -> TxResult:
        """A plain transfer (e.g. funding an account)."""
        address, account = self._signer(sender)
        transfer = {"from": address, "to": to_address(to), "value": value}
        return self._send(lambda envelope: {**transfer, **envelope}, address, account, 21_000, "transfer")

    # -- events --------------------------------------------------------------------------
    def decode_events(self, receipt) -> list:
        """The receipt's logs emitted by contracts this client knows, decoded, in log order."""
        events = []
        for log in receipt["logs"]:
            known = self._events_by_address.get(log["address"].lower())
            event = known.get(bytes(log["topics"][0])) if known and log["topics"] else None
            if event is not None:
                events.append(event.process_log(log))
        return events


def to_address(value: str | bytes) -> str:
    """A checksum address from 0x-hex or 20 raw bytes."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 20:
            raise SdkError(f"an address is 20 bytes, got {len(value)}")
        return Web3.to_checksum_address(bytes(value))
    try:
        return Web3.to_checksum_address(value)
    except ValueError:
        raise SdkError(f"not an address: {value!r}") from None


def revert_reason(exc: ContractLogicError) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return message.removeprefix("execution reverted: ").removeprefix("execution reverted") or "execution reverted"


def _rpc_message(exc: Web3RPCError) -> str:
    """The node's error message (web3 keeps the whole JSON-RPC error in ``rpc_response``)."""
    error = (getattr(exc, "rpc_response", None) or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return getattr(exc, "message", None) or str(exc)
