"""Transactions between the sequencers of a set: each passes the transactions it accepts on to the others.

In a rotating set only one member builds at a time; a transaction sent to
another member would wait in that node's pool until that node's turn. So a
sequencer with ``--peer``s hands every transaction it accepts (over
``eth_sendRawTransaction``) to every peer, in the background: best effort,
bounded (when the queue is full a transaction is not passed on, with a log
line), and without loops (a peer that already holds the transaction answers
"already known", and only a newly accepted transaction is passed on).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Optional

from hyperion.rollup.engine import ForwardError, forward_raw_transaction

log = logging.getLogger("hyperion.rollup.peers")

MAX_QUEUED = 10_000
SEND_TIMEOUT = 5.0


class TransactionSharing:
    """``offer(raw)`` queues a transaction for every peer; one daemon thread sends them (``close`` stops it)."""

    def __init__(self, peers: tuple[str, ...], max_queued: int = MAX_QUEUED):
        self.peers = tuple(peers)
        self._queue: queue.Queue = queue.Queue(max_queued)
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.shared = 0
        self.dropped = 0

    def offer(self, raw: bytes) -> None:
        if not self.peers:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hyperion-tx-sharing", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait(raw)
        except queue.Full:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("transaction sharing is %d behind: %d transactions not passed on so far (they wait "
                            "in this node's pool for its turn)", self._queue.qsize(), self.dropped)

    def _run(self) -> None:
        while True:
            raw = self._queue.get()
            if raw is None:
                return
            for url in self.peers:
                try:
                    forward_raw_transaction(url, raw, timeout=SEND_TIMEOUT)
                    self.shared += 1
                except ForwardError as exc:  # known already, nonce taken, peer down: nothing to do
                    log.debug("sharing a transaction with %s: %s", url, exc)

    def close(self) -> None:
        if self._thread is not None:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass
