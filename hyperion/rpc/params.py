"""Strict parsing of JSON-RPC parameters into Python values.

Each parser takes the decoded JSON value and returns the Python value the
chain facade wants (ints, bytes, dicts keyed like the JSON object), or
raises ``InvalidParams`` with a message naming what was wrong, in geth's
wording where geth has one. ``parse_positional`` applies a method's list of
``Param`` specs and prefixes messages with ``invalid argument N:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from hyperion.rpc.errors import InvalidParams

UINT256_MAX = 2**256 - 1
UINT64_MAX = 2**64 - 1

BLOCK_TAGS = frozenset({"latest", "pending", "earliest", "safe", "finalized"})

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


# -- scalars ---------------------------------------------------------------------


def _strip_prefix(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidParams(f"{what}: cannot unmarshal {_json_type(value)} into hex string")
    if value[:2] not in ("0x", "0X"):
        raise InvalidParams(f"{what}: hex string without 0x prefix")
    return value[2:]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def quantity(value: Any, what: str = "quantity", *, max_value: int = UINT256_MAX,
             allow_number: bool = False) -> int:
    """A hex QUANTITY ("0x1a"). Decimal JSON numbers only where ``allow_number``."""
    if allow_number and isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        digits = _strip_prefix(value, what)
        if not digits:
            raise InvalidParams(f"{what}: hex string \"0x\"")
        if len(digits) > 1 and digits[0] == "0":
            raise InvalidParams(f"{what}: hex number with leading zero digits")
        if len(digits) > 64 or not _HEX_DIGITS.issuperset(digits):
            raise InvalidParams(f"{what}: invalid hex number {value!r}")
        number = int(digits, 16)
    if number < 0 or number > max_value:
        raise InvalidParams(f"{what}: hex number > {max_value.bit_length()} bits")
    return number


def uint64(value: Any, what: str = "quantity") -> int:
    return quantity(value, what, max_value=UINT64_MAX)


def uint64_or_number(value: Any, what: str = "quantity") -> int:
    return quantity(value, what, max_value=UINT64_MAX, allow_number=True)


def data(value: Any, what: str = "data") -> bytes:
    """Hex DATA ("0x" + an even number of hex digits)."""
    digits = _strip_prefix(value, what)
    if len(digits) % 2:
        raise InvalidParams(f"{what}: hex string of odd length")
    try:
        return bytes.fromhex(digits)
    except ValueError:
        raise InvalidParams(f"{what}: invalid hex string") from None


def fixed_bytes(value: Any, length: int, what: str) -> bytes:
    raw = data(value, what)
    if len(raw) != length:
        raise InvalidParams(f"{what}: hex string has length {len(raw) * 2}, want {length * 2}")
    return raw


def address(value: Any, what: str = "address") -> bytes:
    return fixed_bytes(value, 20, what)


def hash32(value: Any, what: str = "hash") -> bytes:
    return fixed_bytes(value, 32, what)


def storage_slot(value: Any, what: str = "storage slot") -> int:
    """A storage key: geth accepts any hex string up to 32 bytes (padded left)."""
    digits = _strip_prefix(value, what)
    if len(digits) > 64 or not digits or not _HEX_DIGITS.issuperset(digits):
        raise InvalidParams(f"{what}: hex string of length {len(digits)} is not a valid 32-byte key")
    return int(digits, 16)


def boolean(value: Any, what: str = "bool") -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"{what}: cannot unmarshal {_json_type(value)} into bool")
    return value


def string(value: Any, what: str = "string") -> str:
    if not isinstance(value, str):
        raise InvalidParams(f"{what}: cannot unmarshal {_json_type(value)} into string")
    return value


def obj(value: Any, what: str = "object") -> dict:
    if not isinstance(value, dict):
        raise InvalidParams(f"{what}: cannot unmarshal {_json_type(value)} into object")
    return value


def array(value: Any, what: str = "array") -> list:
    if not isinstance(value, list):
        raise InvalidParams(f"{what}: cannot unmarshal {_json_type(value)} into array")
    return value


# -- blocks ----------------------------------------------------------------------


def block_number_or_tag(value: Any, what: str = "block number") -> int | str:
    """A block tag or a hex number (no hash): used by filters and eth_getBlockByNumber."""
    if isinstance(value, str) and value in BLOCK_TAGS:
        return value
    if isinstance(value, str) and value[:2] not in ("0x", "0X"):
        raise InvalidParams(f"{what}: unknown block tag {value!r}")
    return uint64(value, what)


def block_spec(value: Any, what: str = "block") -> int | str | dict:
    """A block by tag, number or EIP-1898 object (``{"blockHash", "requireCanonical"}`` /
    ``{"blockNumber"}``)."""
    if isinstance(value, dict):
        has_hash = "blockHash" in value
        has_number = "blockNumber" in value
        if has_hash == has_number:
            raise InvalidParams(f"{what}: exactly one of blockHash and blockNumber must be given")
        unknown = set(value) - {"blockHash", "blockNumber", "requireCanonical"}
        if unknown:
            raise InvalidParams(f"{what}: unknown field {sorted(unknown)[0]!r}")
        if has_hash:
            return {"blockHash": hash32(value["blockHash"], f"{what} hash"),
                    "requireCanonical": boolean(value.get("requireCanonical", False),
                                                "requireCanonical")}
        return {"blockNumber": block_number_or_tag(value["blockNumber"], what)}
    if isinstance(value, str) and len(value) == 66 and value[:2] in ("0x", "0X"):
        # geth also accepts a bare 32-byte hash where a block number-or-hash is expected
        return {"blockHash": hash32(value, what), "requireCanonical": False}
    return block_number_or_tag(value, what)


# -- structured objects ---------------------------------------------------------


def access_list(value: Any, what: str = "accessList") -> list[tuple[bytes, list[bytes]]]:
    entries = []
    for index, item in enumerate(array(value, what)):
        item = obj(item, f"{what}[{index}]")
        slots = [hash32(slot, f"{what}[{index}].storageKeys")
                 for slot in array(item.get("storageKeys") or [], f"{what}[{index}].storageKeys")]
        entries.append((address(item.get("address"), f"{what}[{index}].address"), slots))
    return entries


def authorization_list(value: Any, what: str = "authorizationList") -> list[dict]:
    result = []
    for index, item in enumerate(array(value, what)):
        item = obj(item, f"{what}[{index}]")
        field = f"{what}[{index}]"
        result.append({
            "chainId": quantity(item.get("chainId"), f"{field}.chainId"),
            "address": address(item.get("address"), f"{field}.address"),
            "nonce": uint64(item.get("nonce"), f"{field}.nonce"),
            "yParity": quantity(item.get("yParity", item.get("v")), f"{field}.yParity", max_value=255),
            "r": quantity(item.get("r"), f"{field}.r"),
            "s": quantity(item.get("s"), f"{field}.s"),
        })
    return result


_CALL_QUANTITIES = {
    "gas": uint64, "gasPrice": quantity, "maxFeePerGas": quantity,
    "maxPriorityFeePerGas": quantity, "maxFeePerBlobGas": quantity, "value": quantity,
    "nonce": uint64, "chainId": quantity, "type": uint64,
}


def transaction_args(value: Any, what: str = "transaction") -> dict:
    """geth's TransactionArgs: the call/send object. Absent and null fields are left out;
    ``input`` and ``data`` are merged into ``data`` (they must agree when both are given)."""
    fields = obj(value, what)
    args: dict[str, Any] = {}
    for key, raw in fields.items():
        if raw is None:
            continue
        if key in _CALL_QUANTITIES:
            args[key] = _CALL_QUANTITIES[key](raw, key)
        elif key in ("from", "to"):
            args[key] = address(raw, key)
        elif key in ("data", "input"):
            payload = data(raw, key)
            if "data" in args and args["data"] != payload:
                raise InvalidParams('both "data" and "input" are set and not equal. '
                                    'Please use "input" to pass transaction call data')
            args["data"] = payload
        elif key == "accessList":
            args[key] = access_list(raw)
        elif key == "authorizationList":
            args[key] = authorization_list(raw)
        elif key == "blobVersionedHashes":
            args[key] = [hash32(item, key) for item in array(raw, key)]
        elif key in ("blobs", "commitments", "proofs"):
            args[key] = [data(item, key) for item in array(raw, key)]
        else:
            raise InvalidParams(f"{what}: unknown field {key!r}")
    if "gasPrice" in args and ("maxFeePerGas" in args or "maxPriorityFeePerGas" in args):
        raise InvalidParams("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
    return args


def state_overrides(value: Any, what: str = "state overrides") -> dict[bytes, dict]:
    """``{address: {balance, nonce, code, state | stateDiff}}`` for eth_call and friends."""
    result: dict[bytes, dict] = {}
    for addr_text, override in obj(value, what).items():
        account = address(addr_text, f"{what} address")
        override = obj(override, f"{what}[{addr_text}]")
        parsed: dict[str, Any] = {}
        for key, raw in override.items():
            if raw is None:
                continue
            if key == "balance":
                parsed[key] = quantity(raw, "balance")
            elif key == "nonce":
                parsed[key] = uint64(raw, "nonce")
            elif key == "code":
                parsed[key] = data(raw, "code")
            elif key in ("state", "stateDiff"):
                parsed[key] = {storage_slot(slot, f"{key} key"): int.from_bytes(hash32(val, f"{key} value"), "big")
                               for slot, val in obj(raw, key).items()}
            elif key == "movePrecompileToAddress":
                parsed[key] = address(raw, key)
            else:
                raise InvalidParams(f"{what}: unknown field {key!r}")
        if "state" in parsed and "stateDiff" in parsed:
            raise InvalidParams(f"account {addr_text} has both 'state' and 'stateDiff'")
        result[account] = parsed
    return result


_BLOCK_OVERRIDE_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "number": quantity, "difficulty": quantity, "time": uint64, "gasLimit": uint64,
    "feeRecipient": address, "coinbase": address, "prevRandao": hash32, "random": hash32,
    "baseFeePerGas": quantity, "blobBaseFee": quantity,
}


def block_overrides(value: Any, what: str = "block overrides") -> dict:
    result = {}
    for key, raw in obj(value, what).items():
        if raw is None:
            continue
        parser = _BLOCK_OVERRIDE_FIELDS.get(key)
        if parser is None:
            raise InvalidParams(f"{what}: unknown field {key!r}")
        name = {"coinbase": "feeRecipient", "random": "prevRandao"}.get(key, key)
        result[name] = parser(raw, key)
    return result


def _topic_filter(value: Any, what: str) -> list[Optional[list[bytes]] | None]:
    """Topics: each position is null (wildcard), a hash, or a list of hashes (OR)."""
    topics = array(value, what)
    if len(topics) > 4:
        raise InvalidParams("exceed max topics")
    parsed: list = []
    for position, entry in enumerate(topics):
        if entry is None:
            parsed.append(None)
        elif isinstance(entry, list):
            if len(entry) > MAX_LOG_QUERY_ALTERNATIVES:
                raise InvalidParams(_TOO_MANY_ALTERNATIVES)
            alternatives = [hash32(item, f"topic {position}") for item in entry if item is not None]
            # a list containing null matches anything, as in geth
            parsed.append(None if (not entry or any(item is None for item in entry)) else alternatives)
        else:
            parsed.append([hash32(entry, f"topic {position}")])
    while parsed and parsed[-1] is None:
        parsed.pop()
    return parsed


MAX_LOG_QUERY_ALTERNATIVES = 1000  # geth's --rpc.logquerylimit
_TOO_MANY_ALTERNATIVES = "exceed max addresses or topics per search position"


def filter_criteria(value: Any, what: str = "filter") -> dict:
    """eth_getLogs / eth_newFilter criteria. Block bounds stay as tags or ints."""
    fields = obj(value, what)
    unknown = set(fields) - {"fromBlock", "toBlock", "address", "topics", "blockHash"}
    if unknown:
        raise InvalidParams(f"{what}: unknown field {sorted(unknown)[0]!r}")
    criteria: dict[str, Any] = {"from_block": None, "to_block": None, "addresses": None,
                                "topics": [], "block_hash": None}
    if fields.get("blockHash") is not None:
        if fields.get("fromBlock") is not None or fields.get("toBlock") is not None:
            raise InvalidParams("cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
        criteria["block_hash"] = hash32(fields["blockHash"], "blockHash")
    else:
        if fields.get("fromBlock") is not None:
            criteria["from_block"] = block_number_or_tag(fields["fromBlock"], "fromBlock")
        if fields.get("toBlock") is not None:
            criteria["to_block"] = block_number_or_tag(fields["toBlock"], "toBlock")
    raw_address = fields.get("address")
    if raw_address is not None:
        if isinstance(raw_address, list):
            if len(raw_address) > MAX_LOG_QUERY_ALTERNATIVES:
                raise InvalidParams(_TOO_MANY_ALTERNATIVES)
            criteria["addresses"] = [address(item, "address") for item in raw_address]
        else:
            criteria["addresses"] = [address(raw_address, "address")]
    if fields.get("topics") is not None:
        criteria["topics"] = _topic_filter(fields["topics"], "topics")
    return criteria


# -- positional parameter lists --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """One positional parameter: its parser, and whether it may be omitted (or null)."""

    parser: Callable[[Any], Any]
    optional: bool = False
    default: Any = None


_MISSING = object()


def parse_positional(raw_params: Any, specs: tuple[Param, ...]) -> list[Any]:
    """Validate ``params`` against ``specs`` like geth: missing, extra, or bad values are -32602."""
    if raw_params is None:
        raw_params = []
    elif isinstance(raw_params, dict):
        raise InvalidParams("non-array args")
    elif not isinstance(raw_params, list):
        raise InvalidParams("non-array args")
    if len(raw_params) > len(specs):
        raise InvalidParams(f"too many arguments, want at most {len(specs)}")
    values = []
    for index, spec in enumerate(specs):
        raw = raw_params[index] if index < len(raw_params) else _MISSING
        if raw is _MISSING or raw is None:
            if not spec.optional:
                raise InvalidParams(f"missing value for required argument {index}")
            values.append(spec.default)
            continue
        try:
            values.append(spec.parser(raw))
        except InvalidParams as exc:
            raise InvalidParams(f"invalid argument {index}: {exc.message}") from None
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidParams(f"invalid argument {index}: {exc}") from None
    return values
