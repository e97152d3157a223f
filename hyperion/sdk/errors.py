"""Typed errors of the Hyperion SDK."""

from __future__ import annotations


class SdkError(ValueError):
    """A request the SDK cannot carry out (bad argument, unknown contract, node refused)."""


class TransactionFailed(SdkError):
    """A transaction was mined with status 0 or refused when simulated; ``reason`` is the revert text."""

    def __init__(self, reason: str, tx_hash: str | None = None) -> None:
        super().__init__(reason if tx_hash is None else f"{reason} (tx {tx_hash})")
        self.reason = reason
        self.tx_hash = tx_hash


class InvalidRpcUrl(SdkError):
    """An endpoint URL that cannot address a JSON-RPC node."""
