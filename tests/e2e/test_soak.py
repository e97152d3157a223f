"""Soak: 8 clients mix transfers, calls, log queries, traces and bad input against one node.

Bounded (``HYPERION_SOAK_SECONDS``, default 300) and marked slow: ``make soak``.
Checks that no reply comes later than its deadline, that the node's RSS
stays bounded, and that every transaction that got a receipt survives a
final kill -9 (the restarted node serves the same receipt).
"""

from __future__ import annotations

import base64
import json
import os
import random
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.harness import DEV_ADDRESSES, NodeProcess
from tests.e2e.limits_support import (
    LOOP,
    LOOP_ADDRESS,
    Client,
    address_of,
    fresh_key,
    loop_call,
    transfer,
)

SECONDS = float(os.environ.get("HYPERION_SOAK_SECONDS", "300"))
CLIENTS = 8
EVM_TIMEOUT = 2.0
REQUEST_TIMEOUT = 4.0
SLACK = 1.0                      # scheduling on a busy 2-core machine
LIGHT_DEADLINE = 3.0             # reads and transactions have no server deadline: they must just be quick
RSS_LIMIT_MIB = 2048
LOGGER = "0x" + "60006000a0" * 3 + "00"          # runtime: three LOG0, STOP
LOGGER_INIT = f"60{len(LOGGER) // 2 - 1:02x}80600c6000396000f300" + LOGGER[2:]

pytestmark = pytest.mark.slow


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Soaker(threading.Thread):
    """One client: a random mix of work; keeps (deadline, seconds, what) of every reply and the receipted txs."""

    def __init__(self, index: int, port: int, until: float, logger: str):
        super().__init__(daemon=True)
        self.index, self.port, self.until, self.logger = index, port, until, logger
        self.key = fresh_key(1000 + index)
        self.nonce = 0
        self.receipted: dict[str, dict] = {}
        self.late: list[tuple] = []
        self.errors: list[str] = []
        self.count = 0
        self.logs_answered = self.logs_timed_out = 0
        self.random = random.Random(index)

    def timed(self, client: Client, deadline: float, what: str, method: str, *params):
        started = time.monotonic()
        answer = client.request(method, *params)
        self.check(started, deadline, what)
        return answer

    def check(self, started: float, deadline: float, what: str) -> None:
        seconds = time.monotonic() - started
        self.count += 1
        if seconds > deadline + SLACK:
            self.late.append((what, round(seconds, 2), deadline))

    def run(self) -> None:
        client = Client(self.port, timeout=60)
        try:
            while time.monotonic() < self.until:
                getattr(self, self.random.choice(
                    ["transfer"] * 4 + ["call"] * 3 + ["logs"] * 2 + ["trace"] * 2 + ["bad"] * 2))(client)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(repr(exc))
        finally:
            client.close()

    def transfer(self, client: Client) -> None:
        raws = [transfer(self.key, self.nonce + i, value=1 + i) for i in range(self.random.randint(1, 5))]
        started = time.monotonic()
        answers = client.post([{"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction", "params": [raw]}
                               for i, raw in enumerate(raws)])
        self.check(started, LIGHT_DEADLINE, "sendRawTransaction batch")
        for answer in answers:
            if "error" in answer:
                self.errors.append(f"transfer refused: {answer['error']}")
                return
        self.nonce += len(raws)
        for answer in answers:
            receipt = self.timed(client, LIGHT_DEADLINE, "receipt", "eth_getTransactionReceipt", answer["result"])
            if receipt.get("result"):
                self.receipted[answer["result"]] = receipt["result"]

    def call(self, client: Client) -> None:
        self.timed(client, LIGHT_DEADLINE, "getBalance", "eth_getBalance", address_of(self.key), "latest")
        answer = self.timed(client, EVM_TIMEOUT, "eth_call", "eth_call",
                            {"to": LOOP_ADDRESS, "gas": hex(self.random.randint(30_000, 300_000))}, "latest",
                            {LOOP_ADDRESS: {"code": LOOP}})
        # out of gas, or (queued behind the bad requests for the heavy workers) stopped at its deadline
        if answer.get("error", {}).get("message") not in ("out of gas", f"execution aborted (timeout = {EVM_TIMEOUT:g}s)"):
            self.errors.append(f"eth_call: {answer}")
        self.timed(client, EVM_TIMEOUT, "estimateGas", "eth_estimateGas",
                   {"from": address_of(self.key), "to": DEV_ADDRESSES[0], "value": "0x1"})

    def logs(self, client: Client) -> None:
        head = int(self.timed(client, LIGHT_DEADLINE, "blockNumber", "eth_blockNumber")["result"], 16)
        answer = self.timed(client, REQUEST_TIMEOUT, "getLogs", "eth_getLogs",
                            {"fromBlock": hex(max(0, head - 500)), "toBlock": "latest", "address": self.logger})
        # answered, or (queued behind the bad requests for the heavy worker) at its deadline
        if answer.get("error", {}).get("message") == "request timed out":
            self.logs_timed_out += 1
        elif "error" in answer:
            self.errors.append(f"getLogs: {answer}")
        else:
            self.logs_answered += 1
        self.timed(client, REQUEST_TIMEOUT, "getLogs wide", "eth_getLogs",
                   {"fromBlock": "0x0", "toBlock": "latest", "topics": ["0x" + "ab" * 32]})

    def trace(self, client: Client) -> None:
        if self.receipted:
            tx_hash = self.random.choice(list(self.receipted))
            self.timed(client, EVM_TIMEOUT, "traceTransaction", "debug_traceTransaction", tx_hash)
        self.timed(client, EVM_TIMEOUT, "traceCall", "debug_traceCall",
                   {"to": self.logger, "gas": "0x30000"}, "latest", {"tracer": "callTracer"})
        self.timed(client, EVM_TIMEOUT, "traceCall loop", "debug_traceCall",
                   {"to": LOOP_ADDRESS, "gas": "0x2faf080"}, "latest", {"stateOverrides": {LOOP_ADDRESS: {"code": LOOP}}})

    def bad(self, client: Client) -> None:
        kind = self.random.randrange(5)
        if kind == 0:
            self.timed(client, EVM_TIMEOUT, "looping eth_call", "eth_call", *loop_call())
        elif kind == 1:
            started = time.monotonic()
            client.post([{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": loop_call()} for i in range(3)])
            self.check(started, REQUEST_TIMEOUT, "looping batch")
        elif kind == 2:
            started = time.monotonic()
            client.connection.request("POST", "/", b"{not json", {"Content-Type": "application/json"})
            client.connection.getresponse().read()
            self.check(started, LIGHT_DEADLINE, "malformed json")
        elif kind == 3:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
                started = time.monotonic()
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n{}")
                sock.recv(4096)
                self.check(started, LIGHT_DEADLINE, "bad content-length")
        else:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
                started = time.monotonic()
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             b"Sec-WebSocket-Key: " + base64.b64encode(os.urandom(16)) +
                             b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
                sock.recv(4096)
                sock.sendall(b"\x81\x05hello")  # unmasked: the node closes the connection
                while sock.recv(4096):
                    pass
                self.check(started, LIGHT_DEADLINE, "unmasked ws frame")


def test_soak_mixed_load_then_kill_9(tmp_path):
    args = ("--data-dir", str(tmp_path / "data"), "--log-level", "warning", "--rpc-evm-timeout", str(EVM_TIMEOUT),
            "--rpc-request-timeout", str(REQUEST_TIMEOUT))
    node = NodeProcess(*args, log_path=tmp_path / "node.log").start()
    try:
        admin = Client(node.port)
        logger = admin.result("eth_getTransactionReceipt", admin.result(
            "eth_sendTransaction", {"from": DEV_ADDRESSES[0], "data": "0x" + LOGGER_INIT}))["contractAddress"]
        until = time.monotonic() + SECONDS
        soakers = [Soaker(i, node.port, until, logger) for i in range(CLIENTS)]
        for soaker in soakers:
            admin.result("anvil_setBalance", address_of(soaker.key), hex(10**22))
        rss = [_rss_mib(node.process.pid)]
        for soaker in soakers:
            soaker.start()
        while any(s.is_alive() for s in soakers):
            time.sleep(2)
            rss.append(_rss_mib(node.process.pid))
            # keep logs coming for the queries
            admin.request("eth_sendTransaction", {"from": DEV_ADDRESSES[0], "to": logger})
        for soaker in soakers:
            soaker.join()
        late = [entry for s in soakers for entry in s.late]
        errors = [entry for s in soakers for entry in s.errors]
        receipted = {h: r for s in soakers for h, r in s.receipted.items()}
        assert sum(s.count for s in soakers) > 100 * CLIENTS * min(1.0, SECONDS / 300)
        assert not errors, errors[:5]
        answered, timed_out = (sum(s.logs_answered for s in soakers), sum(s.logs_timed_out for s in soakers))
        assert answered > timed_out, f"log queries: {answered} answered, {timed_out} at their deadline"
        assert not late, late[:10]
        assert max(rss) < RSS_LIMIT_MIB, f"peak RSS {max(rss):.0f} MiB"
        third = max(1, len(rss) // 3)
        assert max(rss[-third:]) < max(rss[:third]) * 1.5 + 300, f"RSS keeps growing: {rss[:third]} .. {rss[-third:]}"
        assert receipted, "no transaction got a receipt"
        print(f"soak: {sum(s.count for s in soakers)} replies in {SECONDS:g} s, {len(receipted)} receipted txs, "
              f"log queries {answered} answered / {timed_out} at their deadline, "
              f"RSS {rss[0]:.0f} -> peak {max(rss):.0f} MiB")
        admin.close()
    finally:
        if node.process.poll() is None:
            node.kill_hard()  # kill -9: what was receipted must survive it
    again = NodeProcess(*args, log_path=tmp_path / "node2.log").start()
    try:
        client = Client(again.port)
        for tx_hash, receipt in receipted.items():
            found = client.result("eth_getTransactionReceipt", tx_hash)
            assert found is not None, f"{tx_hash} lost by kill -9"
            assert (found["blockHash"], found["status"]) == (receipt["blockHash"], receipt["status"])
        client.close()
    finally:
        assert again.stop() == 0
    assert "Traceback" not in (tmp_path / "node.log").read_text(errors="replace"), json.dumps(late[:3])
