"""Connection to a Hyperion node: who signs, the system contracts, sending, waiting, decoding.

Every helper in ``hyperion.sdk`` goes through ``HyperionClient.transact``,
which sends with ``hyperion.web3tx.Web3Sender`` (the one sending path, shared
with the rollup's L1 clients): simulated first, so a revert surfaces as
``TransactionFailed`` with the contract's reason instead of a mined failure,
then signed as an EIP-1559 transaction, sent and waited for. The signer is the
client's key, or a per-call ``sender``: a private key, an ``eth_account``
account, or the address of an account the node unlocks (its dev accounts),
which the node signs for.

The node is any web3 provider: HTTP(S) or WebSocket by URL, or a dev chain
inside this process (``hyperion.sdk.inprocess``).
"""

from __future__ import annotations

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
from hyperion.web3tx import Reverted, Web3Sender, call_transaction, revert_reason, signer

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
RPC_URL_SCHEMES = ("http", "https", "ws", "wss")

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
        self._sending = Web3Sender(self.w3, timeout=timeout, on_sent=on_wait)  # the one sending path
        self._contracts = {}
        self._events_by_address: dict[str, dict[bytes, Any]] = {}  # address -> log topic -> web3 event
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
        try:
            return signer(sender)
        except ValueError as exc:
            raise SdkError(str(exc)) from None

    def _send(self, tx: dict, sender, gas: Optional[int], label: str) -> TxResult:
        """Send ``tx`` from ``sender`` (``gas`` None: simulate for it); ``TransactionFailed`` names ``label``."""
        address, account = self._signer(sender)
        try:
            receipt = self._sending.send(tx, account or address, gas=gas)
        except Reverted as exc:
            if exc.tx_hash is None:
                raise TransactionFailed(exc.reason) from None
            raise TransactionFailed(f"{label} reverted" + (f": {exc.reason}" if exc.reason else ""),
                                    exc.tx_hash) from None
        except Web3RPCError as exc:
            raise TransactionFailed(f"{label}: {_rpc_message(exc)}") from None
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        return TxResult(tx_hash, receipt, receipt["gasUsed"], self.decode_events(receipt))

    # -- transactions --------------------------------------------------------------------
    def transact(self, function, value: int = 0, gas: int | None = None, sender=None) -> TxResult:
        """Simulate, sign, send and wait; raises ``TransactionFailed`` with the revert reason.

        ``gas`` skips the simulation (and its early revert) and is used as given.
        """
        return self._send(call_transaction(function, value), sender, gas, function.fn_name)

    def deploy(self, abi: list, bytecode: bytes, *args, value: int = 0, sender=None):
        """Deploy a contract; returns its web3 contract object (its events are decoded from then on)."""
        constructor = self.w3.eth.contract(abi=abi, bytecode=bytecode).constructor(*args)
        result = self._send({"data": constructor.data_in_transaction, "value": value}, sender, None, "deployment")
        if not result.contract_address:
            raise TransactionFailed("deployment created no contract", result.tx_hash)
        return self.contract_at(result.contract_address, abi)

    def send_value(self, to: str | bytes, value: int, sender=None) -> TxResult:
        """A plain transfer (e.g. funding an account)."""
        return self._send({"to": to_address(to), "value": value}, sender, 21_000, "transfer")

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


def _rpc_message(exc: Web3RPCError) -> str:
    """The node's error message (web3 keeps the whole JSON-RPC error in ``rpc_response``)."""
    error = (getattr(exc, "rpc_response", None) or {}).get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return getattr(exc, "message", None) or str(exc)
