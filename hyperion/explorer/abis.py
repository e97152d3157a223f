"""Known ABIs: the system contracts (and the rollup's L2 predeploys), to decode inputs, events and reads.

Every function selector and event topic of every known ABI goes into one
table, so a call into any contract that shares an interface with a system
contract (an ERC-20 built from TestToken, an iDAO executor proxy, ...) is
decoded too. Encoding and decoding are eth-abi's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils.abi import collapse_if_tuple as abi_type
from eth_utils.abi import event_abi_to_log_topic, function_abi_to_4byte_selector


def _decode(params: list[dict], data: bytes) -> list[tuple[str, str, Any]]:
    """``(name, type, readable value)`` of each parameter ABI-encoded in ``data``."""
    values = abi_decode([abi_type(p) for p in params], data)
    return [(p.get("name", ""), p["type"], plain(v, p)) for p, v in zip(params, values)]


def plain(value: Any, param: Optional[dict] = None) -> Any:
    """Decoded values made readable: bytes as 0x-hex, tuples as dicts named by the ABI."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        if param is not None and param["type"] == "tuple":
            return {c.get("name") or str(i): plain(v, c) for i, (c, v) in enumerate(zip(param["components"], value))}
        inner = None
        if param is not None and param["type"].endswith("]"):
            inner = dict(param, type=param["type"][:param["type"].rindex("[")])
        return [plain(v, inner) for v in value]
    return value


@dataclass(frozen=True)
class Function:
    contract: str
    entry: dict

    @property
    def name(self) -> str:
        return self.entry["name"]

    @property
    def selector(self) -> bytes:
        return function_abi_to_4byte_selector(self.entry)

    @property
    def is_view(self) -> bool:
        return self.entry.get("stateMutability") in ("view", "pure")

    def encode(self, args: list) -> bytes:
        return self.selector + abi_encode([abi_type(p) for p in self.entry["inputs"]], args)

    def decode_input(self, data: bytes) -> list[tuple[str, str, Any]]:
        return _decode(self.entry["inputs"], data[4:])

    def decode_output(self, data: bytes) -> list[tuple[str, str, Any]]:
        return _decode(self.entry.get("outputs", []), data)


@dataclass(frozen=True)
class Event:
    contract: str
    entry: dict

    @property
    def name(self) -> str:
        return self.entry["name"]

    @property
    def topic(self) -> bytes:
        return event_abi_to_log_topic(self.entry)

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        """Arguments by name; an indexed dynamic value is only its hash, shown as such."""
        indexed = [p for p in self.entry["inputs"] if p.get("indexed")]
        rest = [p for p in self.entry["inputs"] if not p.get("indexed")]
        args: dict[str, Any] = {}
        for param, topic in zip(indexed, topics[1:]):
            kind = abi_type(param)
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
                args[param["name"]] = "0x" + topic.hex()
            else:
                args[param["name"]] = plain(abi_decode([kind], topic)[0], param)
        values = abi_decode([abi_type(p) for p in rest], data)
        for param, value in zip(rest, values):
            args[param["name"]] = plain(value, param)
        return args


class KnownAbis:
    """Contracts by address, functions by selector, events by topic."""

    def __init__(self, contracts: list[dict]) -> None:
        self.by_address: dict[bytes, dict] = {}
        self.functions: dict[bytes, Function] = {}
        self.events: dict[tuple[bytes, int], Event] = {}
        self.abis: dict[str, list] = {}
        for contract in contracts:
            name, abi = contract["name"], contract["abi"]
            self.abis.setdefault(contract.get("contract", name), abi)
            if contract.get("address"):
                self.by_address[bytes.fromhex(contract["address"][2:].lower())] = contract
            for entry in abi:
                if entry.get("type") == "function":
                    self.functions.setdefault(Function(name, entry).selector, Function(name, entry))
                elif entry.get("type") == "event":
                    event = Event(name, entry)
                    count = sum(1 for p in entry["inputs"] if p.get("indexed"))
                    self.events.setdefault((event.topic, count), event)

    def name_of(self, address: Optional[bytes]) -> Optional[str]:
        contract = self.by_address.get(address) if address else None
        return contract["name"] if contract else None

    def contract_function(self, address: bytes, name: str) -> Function:
        contract = self.by_address[address]
        for entry in contract["abi"]:
            if entry.get("type") == "function" and entry["name"] == name:
                return Function(contract["name"], entry)
        raise KeyError(f"{contract['name']} has no function {name}")

    def contract_event(self, address: bytes, name: str) -> Event:
        contract = self.by_address[address]
        for entry in contract["abi"]:
            if entry.get("type") == "event" and entry["name"] == name:
                return Event(contract["name"], entry)
        raise KeyError(f"{contract['name']} has no event {name}")

    def view_functions(self, address: bytes) -> list[Function]:
        contract = self.by_address.get(address)
        if contract is None:
            return []
        return [Function(contract["name"], e) for e in contract["abi"]
                if e.get("type") == "function" and e.get("stateMutability") in ("view", "pure")]

    def decode_call(self, data: bytes) -> Optional[tuple[Function, list]]:
        function = self.functions.get(data[:4]) if len(data) >= 4 else None
        if function is None:
            return None
        try:
            return function, function.decode_input(data)
        except Exception:  # the selector matched but the arguments do not fit: show it raw
            return None

    def decode_log(self, topics: list[bytes], data: bytes) -> Optional[tuple[Event, dict]]:
        if not topics:
            return None
        event = self.events.get((topics[0], len(topics) - 1))
        if event is None:
            return None
        try:
            return event, event.decode(topics, data)
        except Exception:
            return None


@lru_cache(maxsize=1)
def system_abis() -> KnownAbis:
    """The predeployed LazAI and AI contracts, the rollup's L2 predeploys and the ERC-20 test token."""
    from hyperion.artifacts import load_artifact
    from hyperion.predeploys.plan import contracts_manifest

    contracts = list(contracts_manifest())
    for name, address in (("L1Block", "0x4200000000000000000000000000000000000015"),
                          ("L2ToL1MessagePasser", "0x4200000000000000000000000000000000000016")):
        try:
            contracts.append({"name": name, "address": address, "contract": name, "abi": load_artifact(name)["abi"]})
        except Exception:  # an installation without the rollup's artifacts
            pass
    try:
        contracts.append({"name": "ERC20", "address": None, "contract": "TestToken",
                          "abi": load_artifact("TestToken")["abi"]})
    except Exception:
        pass
    return KnownAbis(contracts)
