"""Where the SDK sends transactions: an in-process EVM, or a node over JSON-RPC.

Both backends offer the same small surface: ``send`` (a transaction, mined,
returning a ``Receipt``), ``call`` (read-only, returning output bytes or
raising ``CallFailed``), ``advance_time`` (dev chains), ``balance`` and ``code``.
A sender is a 32-byte private key, or (RPC only) a 20-byte unlocked dev
account the node signs for.

``InProcessBackend`` runs transactions with ``apply_transaction`` on a
``MemoryState`` whose fork carries the AI precompiles, which read models from
the ModelStore predeploy in that state (as on a node): this is what the
tests, the bench and the "plain Python" determinism check use.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Optional

from hyperion.ai.errors import AIError
from hyperion.primitives.keccak import keccak256

Sender = bytes  # a 32-byte private key, or a 20-byte dev account (RPC backends)


class BackendError(AIError):
    """The backend could not carry out a request (transport failure, invalid transaction)."""


class CallFailed(AIError):
    """A call or transaction reverted or failed; ``reason`` is the decoded revert string if any."""

    def __init__(self, message: str, reason: Optional[str] = None, receipt: "Receipt | None" = None):
        super().__init__(message)
        self.reason = reason
        self.receipt = receipt


@dataclass
class Receipt:
    tx_hash: bytes
    success: bool
    gas_used: int
    logs: list = field(default_factory=list)  # (address, topics, data)
    contract_address: Optional[bytes] = None
    output: bytes = b""
    block_number: int = 0


def revert_reason(data: bytes) -> Optional[str]:
    """The message of an ``Error(string)`` revert payload, else None."""
    if len(data) >= 68 and data[:4] == bytes.fromhex("08c379a0"):
        length = int.from_bytes(data[36:68], "big")
        return data[68:68 + length].decode(errors="replace")
    return None


def address_of_key(private_key: bytes) -> bytes:
    import coincurve

    public = coincurve.PrivateKey(private_key).public_key.format(compressed=False)
    return keccak256(public[1:])[12:]


def dev_key(label: str) -> bytes:
    """A deterministic test key (never use for real funds)."""
    return keccak256(f"hyperion-ai-dev/{label}".encode())


class InProcessBackend:
    """A single-node dev chain in memory: one block per transaction, time under test control."""

    def __init__(self, cache=None, *, chain_id: int = 133717, funded: dict[bytes, int] | None = None,
                 coinbase: bytes = b"\xc0" * 20, base_fee: int = 1, gas_limit: int = 60_000_000):
        """``cache``: an optional ``ModelStore`` the precompiles use as a cache of chain model bytes."""
        from hyperion.ai.chainstore import ChainModels
        from hyperion.artifacts import load_artifact
        from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
        from hyperion.state.memory import MemoryState
        from hyperion.vm.environment import BlockEnv
        from hyperion.vm.precompiles.inference import fork_with_inference

        self.models = ChainModels(MODEL_STORE_ADDRESS, cache)
        self.fork = fork_with_inference(self.models)
        self.chain_id = chain_id
        self.state = MemoryState()
        self.state.set_code(MODEL_STORE_ADDRESS, load_artifact("ModelStore")["runtime"])  # as predeployed
        self.state.set_nonce(MODEL_STORE_ADDRESS, 1)
        self.env = BlockEnv(fork=self.fork, chain_id=chain_id, coinbase=coinbase, number=1,
                            timestamp=1_700_000_000, gas_limit=gas_limit, base_fee=base_fee,
                            prev_randao=b"\x00" * 31 + b"\x01")
        self.logs: list = []  # every successful transaction's logs, for get_logs
        for address, balance in (funded or {}).items():
            self.fund(address, balance)

    def install_model(self, model) -> bytes:
        """Make a model available in the state as if it had been published at genesis; returns its hash.

        Tests that are not about publishing use this; ``AIClient.publish_model`` sends the real transactions.
        """
        from hyperion.ai.chainstore import install_model

        data = model if isinstance(model, bytes) else model.encode()
        return install_model(self.state, self.models.store_address, data)

    def install_predeploys(self, admin: bytes) -> None:
        """Load every dev-genesis predeploy into the state, as ``hyperion node`` starts with them.

        Contracts deployed on top (``AIClient.deploy``) then have the LazAI
        Holders Mining vault and the ProtocolGovernor whose parameters set the
        fee split, at their predeploy addresses. ``admin`` gets the admin roles.
        """
        from hyperion.predeploys.genesis import predeploy_alloc

        for address, entry in predeploy_alloc(self.chain_id, admin).items():
            self.state.set_account(address, nonce=entry["nonce"], balance=entry["balance"], code=entry["code"],
                                   storage=entry["storage"])

    def fund(self, address: bytes, balance: int) -> None:
        self.state.set_balance(address, self.state.get_balance(address) + balance)

    def balance(self, address: bytes) -> int:
        return self.state.get_balance(address)

    def advance_time(self, seconds: int) -> None:
        self.env.timestamp += seconds

    def code(self, address: bytes) -> bytes:
        """The code deployed at ``address`` (empty for an account without code)."""
        return self.state.get_code(address)

    def sign(self, sender: bytes, to: Optional[bytes], data: bytes = b"", value: int = 0,
             gas: int = 5_000_000, nonce: Optional[int] = None):
        """A signed EIP-1559 transaction from private key ``sender`` (nonce from the state by default)."""
        from hyperion.primitives.transactions import FeeMarketTransaction

        if len(sender) != 32:
            raise BackendError("the in-process backend needs a private key as sender")
        if nonce is None:
            nonce = self.state.get_nonce(address_of_key(sender))
        return FeeMarketTransaction(chain_id=self.chain_id, nonce=nonce, max_priority_fee_per_gas=1,
                                    max_fee_per_gas=self.env.base_fee + 1, gas=gas, to=to, value=value,
                                    data=data).signed(sender)

    def apply(self, tx) -> Receipt:
        """Execute a signed transaction in a block of its own."""
        from hyperion.execution.transaction import InvalidTransaction, apply_transaction

        try:
            result = apply_transaction(self.state, self.env, tx)
        except InvalidTransaction as exc:
            raise BackendError(f"invalid transaction: {exc}") from None
        receipt = Receipt(tx.hash, result.success, result.gas_used,
                          [(log.address, list(log.topics), log.data) for log in result.logs],
                          result.contract_address, result.output, self.env.number)
        self.logs.extend(receipt.logs)
        self.env.number += 1
        self.env.timestamp += 1
        return receipt

    def send(self, sender: Sender, to: Optional[bytes], data: bytes = b"", value: int = 0,
             gas: int = 5_000_000) -> Receipt:
        return self.apply(self.sign(sender, to, data, value, gas))

    def get_logs(self, address: bytes, from_block: int = 0) -> list:
        return [log for log in self.logs if log[0] == address]

    def call(self, to: bytes, data: bytes, value: int = 0, sender: bytes = b"\x00" * 20,
             gas: int = 30_000_000) -> bytes:
        """Run a read-only message call on a scratch copy of the state."""
        from hyperion.vm.frame import TxContext
        from hyperion.vm.interpreter import SUCCESS, execute_call

        scratch = self.state.copy()
        scratch.begin_transaction()
        scratch.set_balance(sender, scratch.get_balance(sender) + value)
        ctx = TxContext(scratch, self.env, self.fork, sender, 0)
        for address in ctx.precompiles:
            scratch.warm_address(address)
        scratch.warm_address(sender)
        scratch.warm_address(to)
        status, _, output = execute_call(ctx, sender, to, to, value, data, gas, 0, False, True,
                                         scratch.get_code(to))
        if status != SUCCESS:
            reason = revert_reason(output)
            raise CallFailed(f"call reverted: {reason}" if reason else "call failed", reason)
        return output


class RpcBackend:
    """A node reached over JSON-RPC (``hyperion node`` or any dev node with the evm_* methods)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self._next_id = 0
        self._chain_id: Optional[int] = None

    def request(self, method: str, params: list | None = None):
        self._next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or []})
        req = urllib.request.Request(self.url, body.encode(), {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise BackendError(f"cannot reach a node at {self.url}: {getattr(reason, 'strerror', None) or reason}") from None
        except ValueError as exc:
            raise BackendError(f"{method} to {self.url} failed: {exc}") from None
        if "error" in reply:
            error = reply["error"]
            data = error.get("data")
            raw = bytes.fromhex(data[2:]) if isinstance(data, str) and data.startswith("0x") else b""
            reason = revert_reason(raw)
            raise CallFailed(f"{method}: {error.get('message')}" + (f" ({reason})" if reason else ""), reason)
        return reply.get("result")

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.request("eth_chainId"), 16)
        return self._chain_id

    def accounts(self) -> list[bytes]:
        return [bytes.fromhex(a[2:]) for a in self.request("eth_accounts")]

    def balance(self, address: bytes) -> int:
        return int(self.request("eth_getBalance", ["0x" + address.hex(), "latest"]), 16)

    def code(self, address: bytes) -> bytes:
        """The code deployed at ``address`` at the latest block (empty for an account without code)."""
        return bytes.fromhex(self.request("eth_getCode", ["0x" + address.hex(), "latest"]).removeprefix("0x"))

    def advance_time(self, seconds: int) -> None:
        """Mine a block ``seconds`` after the latest one.

        Relative to the head's timestamp, not the wall clock: automined
        blocks can run ahead of the clock, and ``evm_increaseTime`` alone
        would then move the chain less than asked.
        """
        head = self.request("eth_getBlockByNumber", ["latest", False])
        self.request("evm_setNextBlockTimestamp", [int(head["timestamp"], 16) + seconds])
        self.request("evm_mine", [])

    def call(self, to: bytes, data: bytes, value: int = 0, sender: bytes | None = None,
             gas: int = 30_000_000) -> bytes:
        tx = {"to": "0x" + to.hex(), "data": "0x" + data.hex(), "value": hex(value), "gas": hex(gas)}
        if sender is not None:
            tx["from"] = "0x" + sender.hex()
        return bytes.fromhex(self.request("eth_call", [tx, "latest"])[2:])

    def send(self, sender: Sender, to: Optional[bytes], data: bytes = b"", value: int = 0,
             gas: int = 5_000_000) -> Receipt:
        fields = {"data": "0x" + data.hex(), "value": hex(value), "gas": hex(gas)}
        if to is not None:
            fields["to"] = "0x" + to.hex()
        if len(sender) == 32:
            from hyperion.primitives.transactions import FeeMarketTransaction

            address = address_of_key(sender)
            nonce = int(self.request("eth_getTransactionCount", ["0x" + address.hex(), "pending"]), 16)
            price = int(self.request("eth_gasPrice"), 16)
            tx = FeeMarketTransaction(chain_id=self.chain_id, nonce=nonce, max_priority_fee_per_gas=price,
                                      max_fee_per_gas=2 * price, gas=gas, to=to, value=value,
                                      data=data).signed(sender)
            tx_hash = self.request("eth_sendRawTransaction", ["0x" + tx.encode().hex()])
        else:
            fields["from"] = "0x" + sender.hex()
            tx_hash = self.request("eth_sendTransaction", [fields])
        return self._wait(tx_hash)

    def _wait(self, tx_hash: str, timeout: float = 60.0) -> Receipt:
        deadline = time.monotonic() + timeout
        while True:
            raw = self.request("eth_getTransactionReceipt", [tx_hash])
            if raw is not None:
                break
            if time.monotonic() > deadline:
                raise BackendError(f"transaction {tx_hash} was not mined within {timeout:.0f} s")
            time.sleep(0.05)
        logs = [(bytes.fromhex(log["address"][2:]), [bytes.fromhex(t[2:]) for t in log["topics"]],
                 bytes.fromhex(log["data"][2:])) for log in raw.get("logs", [])]
        created = raw.get("contractAddress")
        return Receipt(bytes.fromhex(tx_hash[2:]), int(raw["status"], 16) == 1, int(raw["gasUsed"], 16), logs,
                       bytes.fromhex(created[2:]) if created else None, b"", int(raw["blockNumber"], 16))

    def get_logs(self, address: bytes, from_block: int = 0) -> list:
        raw = self.request("eth_getLogs", [{"address": "0x" + address.hex(), "fromBlock": hex(from_block),
                                            "toBlock": "latest"}])
        return [(bytes.fromhex(log["address"][2:]), [bytes.fromhex(t[2:]) for t in log["topics"]],
                 bytes.fromhex(log["data"][2:])) for log in raw]
