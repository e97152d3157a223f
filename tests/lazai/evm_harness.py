"""A small in-process chain for the LazAI contract tests: deploy, call, transact, read logs.

It drives Hyperion's own EVM (``apply_transaction`` on a ``MemoryState``),
loads the LazAI genesis predeploys, and speaks the contracts' ABIs through
``eth_abi``. Time is explicit: ``evm.timestamp`` is the block timestamp of
the next transaction; ``evm.warp(seconds)`` moves it forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import coincurve
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from hyperion.execution.transaction import apply_transaction
from hyperion.artifacts import load_artifact
from hyperion.predeploys.genesis import predeploy_alloc
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import FeeMarketTransaction
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import PRAGUE
from hyperion.vm.frame import TxContext
from hyperion.vm.interpreter import execute_call

CHAIN_ID = 133718
ETHER = 10**18
COINBASE = bytes.fromhex("00000000000000000000000000000000000c01b5")


class Reverted(Exception):
    """A transaction or call reverted; ``reason`` is the Error(string) text when there is one."""

    def __init__(self, reason: str, data: bytes = b"") -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data


def abi_type(entry: dict) -> str:
    """Canonical ABI type of an input/output entry (tuples spelled out)."""
    kind = entry["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in entry["components"]) + ")" + kind[len("tuple"):]
    return kind


def normalize(value, entry: dict):
    """Arrays as lists, tuples (structs) as tuples, recursively, following the ABI entry."""
    kind = entry["type"]
    if kind.endswith("]"):
        inner = dict(entry, type=kind[: kind.rindex("[")])
        return [normalize(v, inner) for v in value]
    if kind == "tuple":
        return tuple(normalize(v, c) for v, c in zip(value, entry["components"]))
    return value


def revert_reason(data: bytes) -> str:
    if data[:4] == keccak256(b"Error(string)")[:4]:
        return abi_decode(["string"], data[4:])[0]
    return "0x" + data.hex()


@dataclass
class Account:
    key: bytes
    address: bytes

    @property
    def hex(self) -> str:
        return "0x" + self.address.hex()


def make_account(seed: str) -> Account:
    key = keccak256(seed.encode())
    public = coincurve.PrivateKey(key).public_key.format(compressed=False)[1:]
    return Account(key, keccak256(public)[12:])


class Evm:
    """One chain state plus accounts; every transact is its own block (timestamp/number advance by one)."""

    def __init__(self, *, with_predeploys: bool = True, accounts: int = 6, base_fee: int = 7) -> None:
        self.state = MemoryState()
        self.timestamp = 1_700_000_000
        self.number = 1
        self.base_fee = base_fee
        self.accounts = [make_account(f"lazai-test-{i}") for i in range(accounts)]
        self.admin = self.accounts[0]
        for account in self.accounts:
            self.state.set_account(account.address, balance=10_000 * ETHER)
        if with_predeploys:
            for address, entry in predeploy_alloc(CHAIN_ID, self.admin.address).items():
                self.state.set_account(address, nonce=entry["nonce"], balance=entry["balance"],
                                       code=entry["code"], storage=entry["storage"])
        self.logs: list = []
        self.logs_seen: list = []  # every log of every successful transaction, oldest first
        self.base_fee_route: bytes | None = None  # when set, each tx's base fee is credited here (the chain rule)

    # -- environment -------------------------------------------------------------------
    def env(self) -> BlockEnv:
        return BlockEnv(fork=PRAGUE, chain_id=CHAIN_ID, coinbase=COINBASE, number=self.number,
                        timestamp=self.timestamp, gas_limit=60_000_000, base_fee=self.base_fee)

    def warp(self, seconds: int) -> None:
        self.timestamp += seconds

    def balance(self, address: bytes) -> int:
        return self.state.get_balance(address)

    # -- raw execution -----------------------------------------------------------------
    def send(self, sender: Account, to: bytes | None, data: bytes = b"", value: int = 0, gas: int = 15_000_000):
        tx = FeeMarketTransaction(
            chain_id=CHAIN_ID, nonce=self.state.get_nonce(sender.address), max_priority_fee_per_gas=0,
            max_fee_per_gas=self.base_fee, gas=gas, to=to, value=value, data=data, access_list=(),
        ).signed(sender.key)
        result = apply_transaction(self.state, self.env(), tx)
        if self.base_fee_route is not None:
            route = self.base_fee_route
            self.state.set_balance(route, self.state.get_balance(route) + result.gas_used * self.base_fee)
        self.timestamp += 1
        self.number += 1
        if not result.success:
            raise Reverted(revert_reason(result.output), result.output)
        self.logs = result.logs
        self.logs_seen.extend(result.logs)
        return result

    def static_call(self, to: bytes, data: bytes, sender: bytes | None = None) -> bytes:
        state = self.state
        state.begin_transaction()
        snapshot = state.snapshot()
        caller = sender or self.admin.address
        try:
            ctx = TxContext(state, self.env(), PRAGUE, caller, 0)
            status, _gas, output = execute_call(ctx, caller, to, to, 0, data, 30_000_000, 0, False, True,
                                                state.get_code(to))
        finally:
            state.revert(snapshot)
            state.end_transaction()
        if status != 1:
            raise Reverted(revert_reason(output), output)
        return output

    # -- contracts ---------------------------------------------------------------------
    def deploy(self, artifact_name: str, *args, sender: Account | None = None, value: int = 0) -> "Contract":
        artifact = load_artifact(artifact_name)
        ctor = next((e for e in artifact["abi"] if e["type"] == "constructor"), None)
        encoded = abi_encode([abi_type(i) for i in ctor["inputs"]], list(args)) if ctor else b""
        result = self.send(sender or self.admin, None, artifact["bytecode"] + encoded, value=value)
        return Contract(self, result.contract_address, artifact["abi"])

    def at(self, artifact_name: str, address: bytes) -> "Contract":
        return Contract(self, address, load_artifact(artifact_name)["abi"])


class Contract:
    """ABI-aware handle: ``c.transact("fn", *args, sender=, value=)`` and ``c.call("fn", *args)``."""

    def __init__(self, evm: Evm, address: bytes, abi: list[dict]) -> None:
        self.evm = evm
        self.address = address
        self.functions = {e["name"]: e for e in abi if e["type"] == "function"}
        self.events = {}
        for entry in abi:
            if entry["type"] == "event":
                signature = f"{entry['name']}({','.join(abi_type(i) for i in entry['inputs'])})"
                self.events[keccak256(signature.encode())] = entry

    def _encode(self, name: str, args) -> bytes:
        entry = self.functions[name]
        types = [abi_type(i) for i in entry["inputs"]]
        selector = keccak256(f"{name}({','.join(types)})".encode())[:4]
        return selector + abi_encode(types, list(args))

    def _decode(self, name: str, output: bytes):
        outputs = self.functions[name]["outputs"]
        values = [normalize(v, o) for v, o in zip(abi_decode([abi_type(o) for o in outputs], output), outputs)]
        return values[0] if len(values) == 1 else tuple(values)

    def calldata(self, name: str, *args) -> bytes:
        """The ABI-encoded call (for proposals that carry it)."""
        return self._encode(name, args)

    def transact(self, name: str, *args, sender: Account | None = None, value: int = 0):
        result = self.evm.send(sender or self.evm.admin, self.address, self._encode(name, args), value=value)
        return self._decode(name, result.output) if self.functions[name]["outputs"] else None

    def call(self, name: str, *args, sender: Account | None = None):
        output = self.evm.static_call(self.address, self._encode(name, args),
                                      sender.address if sender else None)
        return self._decode(name, output)

    def decode_log(self, log) -> dict | None:
        """One log of this contract, decoded (indexed args included); None for other contracts' logs."""
        if log.address != self.address or not log.topics:
            return None
        entry = self.events.get(log.topics[0])
        if entry is None:
            return None
        indexed = [i for i in entry["inputs"] if i.get("indexed")]
        plain = [i for i in entry["inputs"] if not i.get("indexed")]
        values = {"event": entry["name"]}
        for item, topic in zip(indexed, log.topics[1:]):
            values[item["name"]] = abi_decode([abi_type(item)], topic)[0]
        for item, value in zip(plain, abi_decode([abi_type(i) for i in plain], log.data)):
            values[item["name"]] = value
        return values

    def decoded_logs(self, name: str | None = None) -> list[dict]:
        """Logs this contract emitted in the last transaction, decoded (indexed args included)."""
        decoded = [self.decode_log(log) for log in self.evm.logs]
        return [d for d in decoded if d is not None and (name is None or d["event"] == name)]
