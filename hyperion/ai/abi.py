"""A small Solidity-ABI codec for the AI contracts (no web3 needed at run time).

Supports what the contracts use: ``uintN``/``intN``, ``address``, ``bool``,
``bytesN``, ``bytes``, ``string``, dynamic arrays ``T[]`` and tuples.
``ContractABI`` wraps a compiled artifact: call encoding, return decoding and
event-log decoding by topic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from hyperion.ai.errors import AIError
from hyperion.primitives.keccak import keccak256


class ABIError(AIError):
    """A value that does not fit its ABI type, or return data that does not decode."""


@dataclass(frozen=True)
class ABIType:
    base: str  # uint, int, address, bool, fixedbytes, bytes, string, array, tuple
    bits: int = 0  # uintN/intN width, bytesN length
    item: "ABIType | None" = None  # array element
    components: tuple["ABIType", ...] = ()
    names: tuple[str, ...] = ()

    @property
    def dynamic(self) -> bool:
        if self.base in ("bytes", "string", "array"):
            return True
        if self.base == "tuple":
            return any(c.dynamic for c in self.components)
        return False

    @property
    def canonical(self) -> str:
        if self.base in ("uint", "int"):
            return f"{self.base}{self.bits}"
        if self.base == "fixedbytes":
            return f"bytes{self.bits}"
        if self.base == "array":
            return self.item.canonical + "[]"
        if self.base == "tuple":
            return "(" + ",".join(c.canonical for c in self.components) + ")"
        return self.base


def parse_type(entry: dict) -> ABIType:
    """An ABI JSON parameter (``{"type": ..., "components": ...}``) as an ``ABIType``."""
    text = entry["type"]
    if text.endswith("[]"):
        return ABIType("array", item=parse_type({**entry, "type": text[:-2]}))
    if text == "tuple":
        comps = tuple(parse_type(c) for c in entry.get("components", []))
        return ABIType("tuple", components=comps, names=tuple(c.get("name", "") for c in entry.get("components", [])))
    for prefix in ("uint", "int"):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            return ABIType(prefix, bits=int(text[len(prefix):]))
    if text.startswith("bytes") and text[5:].isdigit():
        return ABIType("fixedbytes", bits=int(text[5:]))
    if text in ("address", "bool", "bytes", "string"):
        return ABIType(text)
    raise ABIError(f"unsupported ABI type {text!r}")


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 32)


def _encode_static(t: ABIType, value: Any) -> bytes:
    if t.base == "uint":
        if not isinstance(value, int) or value < 0 or value >= 1 << t.bits:
            raise ABIError(f"{value!r} does not fit uint{t.bits}")
        return _word(value)
    if t.base == "int":
        if not isinstance(value, int) or not -(1 << (t.bits - 1)) <= value < 1 << (t.bits - 1):
            raise ABIError(f"{value!r} does not fit int{t.bits}")
        return _word(value % (1 << 256))
    if t.base == "bool":
        return _word(1 if value else 0)
    if t.base == "address":
        if not isinstance(value, (bytes, bytearray)) or len(value) != 20:
            raise ABIError(f"an address must be 20 bytes, got {value!r}")
        return bytes(12) + bytes(value)
    if t.base == "fixedbytes":
        if not isinstance(value, (bytes, bytearray)) or len(value) != t.bits:
            raise ABIError(f"bytes{t.bits} needs exactly {t.bits} bytes")
        return bytes(value).ljust(32, b"\x00")
    raise ABIError(f"not a static type: {t.canonical}")


def encode_values(types: Sequence[ABIType], values: Sequence[Any]) -> bytes:
    """Head/tail encoding of a tuple of values."""
    if len(types) != len(values):
        raise ABIError(f"expected {len(types)} values, got {len(values)}")
    heads, tails = [], []
    head_size = sum(32 if t.dynamic else _static_size(t) for t in types)
    for t, value in zip(types, values):
        if t.dynamic:
            heads.append(_word(head_size + sum(len(x) for x in tails)))
            tails.append(_encode_dynamic(t, value))
        else:
            heads.append(_encode_one_static(t, value))
    return b"".join(heads) + b"".join(tails)


def _static_size(t: ABIType) -> int:
    if t.base == "tuple":
        return sum(_static_size(c) for c in t.components)
    return 32


def _encode_one_static(t: ABIType, value: Any) -> bytes:
    if t.base == "tuple":
        return encode_values(t.components, list(value))
    return _encode_static(t, value)


def _encode_dynamic(t: ABIType, value: Any) -> bytes:
    if t.base == "bytes":
        if not isinstance(value, (bytes, bytearray)):
            raise ABIError("bytes value must be bytes")
        return _word(len(value)) + _pad(bytes(value))
    if t.base == "string":
        raw = str(value).encode()
        return _word(len(raw)) + _pad(raw)
    if t.base == "array":
        items = list(value)
        return _word(len(items)) + encode_values([t.item] * len(items), items)
    if t.base == "tuple":
        return encode_values(t.components, list(value))
    raise ABIError(f"not a dynamic type: {t.canonical}")


def _read_word(data: bytes, offset: int) -> int:
    if offset < 0 or offset + 32 > len(data):
        raise ABIError("ABI data too short")
    return int.from_bytes(data[offset:offset + 32], "big")


def decode_values(types: Sequence[ABIType], data: bytes, base: int = 0) -> list:
    """Decode a tuple of values starting at ``base`` in ``data``."""
    values, offset = [], base
    for t in types:
        if t.dynamic:
            values.append(_decode_dynamic(t, data, base + _read_word(data, offset)))
            offset += 32
        else:
            values.append(_decode_static(t, data, offset))
            offset += _static_size(t)
    return values


def _decode_static(t: ABIType, data: bytes, offset: int) -> Any:
    if t.base == "tuple":
        return tuple(decode_values(t.components, data, offset))
    word = _read_word(data, offset)
    if t.base == "uint":
        return word
    if t.base == "int":
        return word - (1 << 256) if word >> 255 else word
    if t.base == "bool":
        return word != 0
    if t.base == "address":
        return data[offset + 12:offset + 32]
    if t.base == "fixedbytes":
        return data[offset:offset + t.bits]
    raise ABIError(f"cannot decode {t.canonical}")


def _decode_dynamic(t: ABIType, data: bytes, offset: int) -> Any:
    if t.base in ("bytes", "string"):
        length = _read_word(data, offset)
        if offset + 32 + length > len(data):
            raise ABIError("ABI data too short")
        raw = data[offset + 32:offset + 32 + length]
        return raw.decode(errors="replace") if t.base == "string" else raw
    if t.base == "array":
        length = _read_word(data, offset)
        if length > len(data):
            raise ABIError("ABI array length out of range")
        return decode_values([t.item] * length, data, offset + 32)
    if t.base == "tuple":
        return tuple(decode_values(t.components, data, offset))
    raise ABIError(f"cannot decode {t.canonical}")


@dataclass(frozen=True)
class Function:
    name: str
    inputs: tuple[ABIType, ...]
    outputs: tuple[ABIType, ...]
    selector: bytes


@dataclass(frozen=True)
class Event:
    name: str
    topic: bytes
    params: tuple[tuple[str, ABIType, bool], ...]  # (name, type, indexed)


class ContractABI:
    """Encode calls and decode results and logs for one compiled contract."""

    def __init__(self, abi: list[dict]):
        self.functions: dict[str, Function] = {}
        self.events: dict[bytes, Event] = {}
        self.constructor_inputs: tuple[ABIType, ...] = ()
        for entry in abi:
            kind = entry.get("type")
            if kind == "function":
                inputs = tuple(parse_type(p) for p in entry["inputs"])
                signature = f"{entry['name']}({','.join(t.canonical for t in inputs)})"
                self.functions[entry["name"]] = Function(entry["name"], inputs,
                                                         tuple(parse_type(p) for p in entry["outputs"]),
                                                         keccak256(signature.encode())[:4])
            elif kind == "event":
                params = tuple((p["name"], parse_type(p), bool(p.get("indexed"))) for p in entry["inputs"])
                signature = f"{entry['name']}({','.join(t.canonical for _, t, _ in params)})"
                self.events[keccak256(signature.encode())] = Event(entry["name"], keccak256(signature.encode()), params)
            elif kind == "constructor":
                self.constructor_inputs = tuple(parse_type(p) for p in entry["inputs"])

    def function(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise ABIError(f"the contract has no function {name!r}") from None

    def encode_call(self, name: str, *args: Any) -> bytes:
        fn = self.function(name)
        return fn.selector + encode_values(fn.inputs, args)

    def encode_constructor(self, *args: Any) -> bytes:
        return encode_values(self.constructor_inputs, args)

    def decode_result(self, name: str, data: bytes) -> Any:
        """The return value (a single value is unwrapped, several come as a tuple)."""
        fn = self.function(name)
        values = decode_values(fn.outputs, bytes(data))
        return values[0] if len(values) == 1 else tuple(values)

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> tuple[str, dict] | None:
        """``(event name, {param: value})`` for a log of this contract, None for foreign logs."""
        if not topics:
            return None
        event = self.events.get(bytes(topics[0]))
        if event is None:
            return None
        plain = [t for _, t, indexed in event.params if not indexed]
        decoded = iter(decode_values(plain, bytes(data)))
        indexed_topics = iter(topics[1:])
        result = {}
        for name, t, indexed in event.params:
            if indexed:
                topic = bytes(next(indexed_topics))
                result[name] = topic if t.dynamic else _decode_static(t, topic, 0)
            else:
                result[name] = next(decoded)
        return event.name, result
