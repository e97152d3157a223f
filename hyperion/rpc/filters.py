"""Polling filters: eth_newFilter / eth_newBlockFilter / eth_newPendingTransactionFilter.

Log and block filters keep a cursor (the next block number to report) and
read the chain when polled, so they need no per-block work and survive
any number of blocks between polls. Pending-transaction filters buffer
hashes pushed by the chain's pending-transaction callback. A filter not
polled for ``timeout`` seconds is dropped, as in geth.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from hyperion.chain import limits
from hyperion.rpc.errors import ServerError
from hyperion.rpc.formatting import d

FILTER_TIMEOUT = 300.0
MAX_PENDING_BUFFER = 10_000


class FilterNotFound(ServerError):
    def __init__(self) -> None:
        super().__init__("filter not found")


def log_matches(log: Any, addresses: Optional[list[bytes]], topics: list) -> bool:
    """Whether a log passes an address list and a positional topic filter."""
    if addresses and log.address not in addresses:
        return False
    log_topics = log.topics
    for position, wanted in enumerate(topics):
        if wanted is None:
            continue
        if position >= len(log_topics) or log_topics[position] not in wanted:
            return False
    return True


@dataclass
class _Filter:
    kind: str                       # "logs" | "blocks" | "pending"
    criteria: Optional[dict] = None
    next_block: int = 0
    pending_hashes: list = field(default_factory=list)
    last_poll: float = field(default_factory=time.monotonic)


class FilterManager:
    """Installed filters of one node, shared by all connections (ids are global, as in geth)."""

    def __init__(self, context: Any, timeout: float = FILTER_TIMEOUT) -> None:
        self._context = context
        self._timeout = timeout
        self._filters: dict[str, _Filter] = {}
        self._lock = threading.Lock()
        self._unsubscribe = None

    def attach(self, chain: Any) -> None:
        """Start buffering pending transactions for pending-transaction filters."""
        self._unsubscribe = chain.on_pending_transaction(self._on_pending_transaction)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    # -- installing ---------------------------------------------------------------------

    def _install(self, new_filter: _Filter) -> str:
        filter_id = "0x" + secrets.token_hex(16)
        with self._lock:
            self._expire_locked()
            self._filters[filter_id] = new_filter
        return filter_id

    def _head_number(self) -> int:
        return self._context.chain.head().header.number

    def new_log_filter(self, criteria: dict) -> str:
        start = self._head_number() + 1
        if isinstance(criteria.get("from_block"), int):
            start = criteria["from_block"]
        return self._install(_Filter("logs", criteria=criteria, next_block=start))

    def new_block_filter(self) -> str:
        return self._install(_Filter("blocks", next_block=self._head_number() + 1))

    def new_pending_filter(self) -> str:
        return self._install(_Filter("pending"))

    def uninstall(self, filter_id: str) -> bool:
        with self._lock:
            return self._filters.pop(filter_id, None) is not None

    # -- polling --------------------------------------------------------------------------

    def _get(self, filter_id: str) -> _Filter:
        with self._lock:
            self._expire_locked()
            found = self._filters.get(filter_id)
            if found is None:
                raise FilterNotFound()
            found.last_poll = time.monotonic()
            return found

    def changes(self, filter_id: str) -> list:
        """What happened since the last poll (eth_getFilterChanges)."""
        found = self._get(filter_id)
        if found.kind == "pending":
            with self._lock:
                hashes, found.pending_hashes = found.pending_hashes, []
            return [d(h) for h in hashes]
        chain = self._context.chain
        head = chain.head().header.number
        criteria = found.criteria or {}
        last = head
        if found.kind == "logs" and isinstance(criteria.get("to_block"), int):
            last = min(last, criteria["to_block"])
        with self._lock:  # claim the range [first, last] so concurrent polls never report it twice
            first = found.next_block
            if first > last:
                return []
            found.next_block = last + 1
        if found.kind == "blocks":
            hashes = []
            for number in range(first, head + 1):
                limits.check()  # a filter left unpolled for long may have many blocks to report
                block = chain.block_by_number(number)
                if block is not None:
                    hashes.append(d(block.hash))
            return hashes
        from hyperion.rpc.methods.eth import format_logs

        logs = []
        step = getattr(chain, "max_log_range", None) or (last - first + 1)
        for start in range(first, last + 1, step):  # a long gap is read in ranges a log query may span
            logs += chain.get_logs(start, min(last, start + step - 1), criteria.get("addresses"),
                                   criteria.get("topics") or [])
        return format_logs(self._context, logs)

    def all_logs(self, filter_id: str) -> list:
        """Every log matching a log filter's criteria (eth_getFilterLogs)."""
        found = self._get(filter_id)
        if found.kind != "logs":
            raise FilterNotFound()
        from hyperion.rpc.methods.eth import format_logs, query_logs

        return format_logs(self._context, query_logs(self._context, found.criteria))

    # -- housekeeping -----------------------------------------------------------------------

    def _on_pending_transaction(self, tx_hash: bytes) -> None:
        with self._lock:
            for found in self._filters.values():
                if found.kind == "pending" and len(found.pending_hashes) < MAX_PENDING_BUFFER:
                    found.pending_hashes.append(tx_hash)

    def _expire_locked(self) -> None:
        deadline = time.monotonic() - self._timeout
        stale = [fid for fid, found in self._filters.items() if found.last_poll < deadline]
        for fid in stale:
            del self._filters[fid]

    def expire(self) -> None:
        with self._lock:
            self._expire_locked()

    def __len__(self) -> int:
        with self._lock:
            return len(self._filters)
