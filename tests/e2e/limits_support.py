"""Tools for driving a real node with bad requests: raw JSON-RPC clients, a latency probe, signed transfers."""

from __future__ import annotations

import gc
import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any, Optional

from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.primitives.transactions import FeeMarketTransaction
from tests.e2e.harness import NodeProcess

CHAIN_ID = 133717
LOOP = "0x5b600056"                 # JUMPDEST PUSH1 0 JUMP: loops until out of gas
LOOP_ADDRESS = "0x" + "ee" * 20
MAX_GAS = "0xffffffffffffffff"


class Client:
    """JSON-RPC over one keep-alive HTTP connection; answers are returned as decoded JSON."""

    def __init__(self, port: int, timeout: float = 60.0) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self._id = 0

    def post(self, payload: Any) -> Any:
        self.connection.request("POST", "/", json.dumps(payload), {"Content-Type": "application/json"})
        return json.loads(self.connection.getresponse().read())

    def request(self, method: str, *params: Any) -> dict:
        self._id += 1
        return self.post({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)})

    def result(self, method: str, *params: Any) -> Any:
        answer = self.request(method, *params)
        assert "error" not in answer, (method, answer)
        return answer["result"]

    def close(self) -> None:
        self.connection.close()


def loop_call(gas: str = MAX_GAS) -> list:
    """eth_call params of the issue's repro: an endless loop put at an address by a state override."""
    return [{"to": LOOP_ADDRESS, "gas": gas}, "latest", {LOOP_ADDRESS: {"code": LOOP}}]


class LatencyProbe(threading.Thread):
    """Asks ``method`` every ``interval`` seconds on its own connection and keeps each reply's latency."""

    def __init__(self, port: int, method: str = "eth_blockNumber", params: tuple = (), interval: float = 0.02):
        super().__init__(daemon=True)
        self.client = Client(port, timeout=30)
        self.method, self.params, self.interval = method, params, interval
        self.latencies: list[float] = []
        self.sent: list[float] = []   # when each answered request was sent
        self.times: list[float] = []  # when each answer came
        self.failures: list[tuple[float, float, Any]] = []  # (sent, failed, what) of each request not answered
        self._stop_event = threading.Event()

    def start(self) -> None:
        # the probe measures the node: keep this (test) process's own garbage collector, whose full
        # passes over everything earlier tests left behind take seconds on a starved CPU, out of it
        gc.collect()
        gc.freeze()
        super().start()

    def run(self) -> None:
        while not self._stop_event.is_set():
            started = time.monotonic()
            try:
                answer = self.client.request(self.method, *self.params)
                if "error" in answer:
                    self.failures.append((started, time.monotonic(), answer))
            except (OSError, http.client.HTTPException) as exc:
                # keep probing on a new connection: the test judges each failure by when it happened
                self.failures.append((started, time.monotonic(), repr(exc)))
                self.client.close()
                self._stop_event.wait(self.interval)
                continue
            answered = time.monotonic()
            self.latencies.append(answered - started)
            self.sent.append(started)
            self.times.append(answered)
            self._stop_event.wait(self.interval)

    def stop(self) -> "LatencyProbe":
        self._stop_event.set()
        self.join(10)
        self.client.close()
        gc.unfreeze()
        return self

    def within(self, window: tuple[float, float]) -> list[float]:
        """Latencies of the requests sent and answered inside ``window`` (monotonic start, end)."""
        start, end = window
        return [latency for sent, latency, answered in zip(self.sent, self.latencies, self.times)
                if sent >= start and answered <= end]


def in_threads(count: int, work, *args) -> list:
    """Run ``work(*args)`` on ``count`` threads at once; returns their results (or exceptions)."""
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            results[index] = work(*args)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    return [threads, results]


def join_all(started: list, timeout: float = 60.0) -> list:
    threads, results = started
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return results


def timed(work, *args) -> tuple[float, Any]:
    started = time.monotonic()
    result = work(*args)
    return time.monotonic() - started, result


def stamped(work, *args) -> tuple[float, float, Any]:
    """``work(*args)`` with when it started and when it returned (monotonic seconds)."""
    started = time.monotonic()
    result = work(*args)
    return started, time.monotonic(), result


def in_flight(stamps: list) -> tuple[float, float]:
    """The window in which every one of the ``stamped`` results was in flight: last start, first answer."""
    assert not any(isinstance(stamp, BaseException) for stamp in stamps), stamps
    return max(stamp[0] for stamp in stamps), min(stamp[1] for stamp in stamps)


def sigterm_exit_seconds(node: NodeProcess, limit: float = 5.0) -> tuple[float, Optional[int]]:
    """SIGTERM the node; seconds until it exited (inf if it is still running after ``limit`` + 10 s)."""
    assert node.process is not None
    started = time.monotonic()
    node.process.send_signal(signal.SIGTERM)
    try:
        code = node.process.wait(limit + 10)
    except Exception:  # noqa: BLE001 - a hang: kill it, report it
        node.process.kill()
        node.process.wait()
        return float("inf"), None
    finally:
        if node.process.stdout:
            node.process.stdout.close()
    return time.monotonic() - started, code


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def fresh_key(index: int) -> bytes:
    return (0xA11CE000 + index).to_bytes(32, "big")


def transfer(key: bytes, nonce: int, to: bytes = b"\x0c" * 20, fee_cap: int = 10**11, tip: int = 10**9,
             value: int = 1) -> str:
    tx = FeeMarketTransaction(CHAIN_ID, nonce, tip, fee_cap, 21_000, to, value, b"", ())
    return "0x" + tx.signed(key).encode().hex()


def address_of(key: bytes) -> str:
    return "0x" + private_key_to_address(key).hex()


def node_log_text(path: Path) -> str:
    return path.read_text(errors="replace") if os.path.exists(path) else ""
