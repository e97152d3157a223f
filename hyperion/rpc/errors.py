"""JSON-RPC error values with the codes and texts geth uses.

Every failure a method can report is an ``RpcError``; the dispatcher turns
it into the ``error`` member of the response. Anything else escaping a
method is a bug and is reported as -32603 without crashing the node.
"""

from __future__ import annotations

from typing import Any, Optional

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000          # geth: tx pool and most execution/other errors
LIMIT_EXCEEDED = -32005        # geth/infura: request or batch too large
EXECUTION_REVERTED = 3         # geth: revert with data


class RpcError(Exception):
    """An error to report to the client as a JSON-RPC error object."""

    code: int = SERVER_ERROR

    def __init__(self, message: str, code: Optional[int] = None, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data

    def to_json(self) -> dict:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class ParseError(RpcError):
    code = PARSE_ERROR


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class MethodNotFound(RpcError):
    code = METHOD_NOT_FOUND

    def __init__(self, method: str) -> None:
        super().__init__(f"the method {method} does not exist/is not available")


class InvalidParams(RpcError, ValueError):
    """Bad parameters; also a ValueError so parsers can be reused outside RPC."""

    code = INVALID_PARAMS


class InternalError(RpcError):
    code = INTERNAL_ERROR


class LimitExceeded(RpcError):
    code = LIMIT_EXCEEDED


class ServerError(RpcError):
    code = SERVER_ERROR


class ExecutionRevertedError(RpcError):
    """geth's shape: code 3, message 'execution reverted[: reason]', data = revert bytes."""

    code = EXECUTION_REVERTED

    def __init__(self, revert_data: bytes, reason: Optional[str] = None) -> None:
        message = "execution reverted" if not reason else f"execution reverted: {reason}"
        super().__init__(message, data="0x" + bytes(revert_data).hex())
        self.revert_data = bytes(revert_data)


_ERROR_SELECTOR = bytes.fromhex("08c379a0")   # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")   # Panic(uint256)

_PANIC_REASONS = {
    0x00: "generic panic",
    0x01: "assert(false)",
    0x11: "arithmetic underflow or overflow",
    0x12: "division or modulo by zero",
    0x21: "enum overflow",
    0x22: "invalid encoded storage byte array accessed",
    0x31: "out-of-bounds array access; popping on an empty array",
    0x32: "out-of-bounds access of an array or bytesN",
    0x41: "out of memory",
    0x51: "uninitialized function",
}


def decode_revert_reason(data: bytes) -> Optional[str]:
    """The human reason in ``Error(string)`` / ``Panic(uint256)`` revert data, if any."""
    data = bytes(data or b"")
    if data[:4] == _ERROR_SELECTOR and len(data) >= 4 + 64:
        try:
            offset = int.from_bytes(data[4:36], "big")
            length = int.from_bytes(data[4 + offset:36 + offset], "big")
            start = 36 + offset
            if offset > len(data) or start + length > len(data):
                return None
            return data[start:start + length].decode("utf-8", errors="replace")
        except (ValueError, OverflowError):
            return None
    if data[:4] == _PANIC_SELECTOR and len(data) == 36:
        code = int.from_bytes(data[4:], "big")
        return f"{_PANIC_REASONS.get(code, 'unknown panic code')} (0x{code:x})"
    return None
