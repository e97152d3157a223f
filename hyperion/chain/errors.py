"""Typed errors raised by the chain layer (the RPC layer maps them to JSON-RPC errors)."""

from __future__ import annotations

from typing import Optional


class ChainError(ValueError):
    """A request the chain cannot satisfy (bad block range, bad dev-method argument, ...)."""


class TxPoolError(ChainError):
    """A transaction the pool refuses; the message starts with geth's wording."""


class BlockNotFound(ChainError):
    """A block spec that names no known block."""


class ExecutionReverted(ChainError):
    """A call or gas estimate whose execution reverted; ``data`` holds the revert payload."""

    def __init__(self, data: bytes = b"", message: Optional[str] = None):
        self.data = data
        self.reason = message
        text = "execution reverted" if not message else f"execution reverted: {message}"
        super().__init__(text)


class ExecutionFailed(ChainError):
    """A call or gas estimate that failed for another reason (out of gas, invalid opcode, ...)."""
