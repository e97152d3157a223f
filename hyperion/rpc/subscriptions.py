"""eth_subscribe over WebSocket: newHeads, logs, newPendingTransactions.

The chain calls back from its own thread after each commit; the hub hops
onto the event loop with ``call_soon_threadsafe`` and fans the event out
to subscribed connections. Each block header is formatted once however
many clients listen. Every message for a connection (responses and
notifications alike) goes through that connection's ``Session`` queue, so
a subscription's id always reaches the client before its first event.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any, Optional

import orjson

from hyperion.rpc.errors import InvalidParams, RpcError
from hyperion.rpc.filters import log_matches
from hyperion.rpc.formatting import d, format_header, format_log
from hyperion.rpc.params import filter_criteria

log = logging.getLogger("hyperion.rpc.ws")

SUBSCRIPTION_KINDS = ("newHeads", "logs", "newPendingTransactions")
MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000
MAX_QUEUED_MESSAGES = 20_000


class NotificationsUnsupported(RpcError):
    code = -32601

    def __init__(self) -> None:
        super().__init__("notifications not supported")


class Session:
    """One WebSocket connection's outgoing queue; ``closed`` once the client is gone or too slow."""

    def __init__(self, max_queued: int = MAX_QUEUED_MESSAGES) -> None:
        self.queue: asyncio.Queue[Optional[bytes]] = asyncio.Queue()
        self.max_queued = max_queued
        self.closed = False
        self.subscription_ids: set[str] = set()

    def send(self, message: bytes) -> None:
        """Queue a message (event-loop thread only). A client that stops reading is dropped."""
        if self.closed:
            return
        if self.queue.qsize() >= self.max_queued:
            log.warning("ws client too slow, dropping connection queued=%d", self.queue.qsize())
            self.close()
            return
        self.queue.put_nowait(message)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


@dataclass
class _Subscription:
    session: Session
    kind: str
    addresses: Optional[list[bytes]] = None
    topics: tuple = ()


def _notification(subscription_id: str, result: Any) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "method": "eth_subscription",
                         "params": {"subscription": subscription_id, "result": result}})


class SubscriptionHub:
    """All live subscriptions of the node, fed by the chain's callbacks."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, _Subscription] = {}
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._detach: list = []

    def attach(self, chain: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._detach.append(chain.on_new_block(self._on_new_block))
        self._detach.append(chain.on_pending_transaction(self._on_pending_transaction))

    def close(self) -> None:
        for detach in self._detach:
            try:
                detach()
            except Exception:  # pragma: no cover - best effort at shutdown
                log.exception("detaching chain callback failed")
        self._detach.clear()

    # -- client requests ------------------------------------------------------------------

    def subscribe(self, session: Optional[Session], kind: str, options: Any) -> str:
        if session is None:
            raise NotificationsUnsupported()
        if kind not in SUBSCRIPTION_KINDS:
            raise InvalidParams(f"no such subscription: {kind!r} (expected one of {', '.join(SUBSCRIPTION_KINDS)})")
        subscription = _Subscription(session, kind)
        if kind == "logs":
            criteria = filter_criteria(options if options is not None else {}, "logs filter")
            subscription.addresses = criteria["addresses"]
            subscription.topics = tuple(criteria["topics"])
        elif options not in (None, False, True, {}):
            raise InvalidParams(f"{kind} takes no options")
        if len(session.subscription_ids) >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise InvalidParams("too many subscriptions on this connection")
        subscription_id = "0x" + secrets.token_hex(16)
        with self._lock:
            self._subscriptions[subscription_id] = subscription
            session.subscription_ids.add(subscription_id)
        return subscription_id

    def unsubscribe(self, session: Optional[Session], subscription_id: str) -> bool:
        if session is None:
            raise NotificationsUnsupported()
        with self._lock:
            found = self._subscriptions.get(subscription_id)
            if found is None or found.session is not session:
                return False
            del self._subscriptions[subscription_id]
            session.subscription_ids.discard(subscription_id)
        return True

    def drop_session(self, session: Session) -> None:
        with self._lock:
            for subscription_id in session.subscription_ids:
                self._subscriptions.pop(subscription_id, None)
            session.subscription_ids.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._subscriptions)

    # -- chain events (chain thread) -> event loop ------------------------------------------

    def _on_new_block(self, block: Any, receipts: list) -> None:
        if self._subscriptions:
            self._hop(self.publish_block, block, receipts)

    def _on_pending_transaction(self, tx_hash: bytes) -> None:
        if self._subscriptions:
            self._hop(self.publish_pending_transaction, tx_hash)

    def _hop(self, callback, *args: Any) -> None:
        """Run ``callback`` on the event loop; a no-op once the loop has shut down."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed while the chain was still mining
            pass

    # -- fan-out (event-loop thread) ----------------------------------------------------------

    def _snapshot(self, kind: str) -> list[tuple[str, _Subscription]]:
        with self._lock:
            return [(sid, sub) for sid, sub in self._subscriptions.items() if sub.kind == kind]

    def publish_block(self, block: Any, receipts: list) -> None:
        heads = self._snapshot("newHeads")
        if heads:
            header = format_header(block)
            for subscription_id, subscription in heads:
                subscription.session.send(_notification(subscription_id, header))
        log_subscriptions = self._snapshot("logs")
        if not log_subscriptions:
            return
        timestamp = block.header.timestamp
        for receipt in receipts:
            for entry in receipt.logs:
                formatted = None
                for subscription_id, subscription in log_subscriptions:
                    if log_matches(entry, subscription.addresses, list(subscription.topics)):
                        if formatted is None:
                            formatted = format_log(entry, timestamp)
                        subscription.session.send(_notification(subscription_id, formatted))

    def publish_pending_transaction(self, tx_hash: bytes) -> None:
        for subscription_id, subscription in self._snapshot("newPendingTransactions"):
            subscription.session.send(_notification(subscription_id, d(tx_hash)))
