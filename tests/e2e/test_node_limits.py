"""Issue 12's findings, each reproduced against a real ``hyperion node`` process and shown fixed.

For the requests that used to stall the node (findings 1-3) every test
also checks that ``eth_blockNumber`` keeps answering within 100 ms while
the bad requests run, and that SIGTERM ends the process within 5 s with a
data dir that reopens at the head it had.

Time limits here tell a node that waits for the bad work from one that
does not, with room for a shared machine that leaves every process
without a CPU for a while: a request that waited for a bad one ends after
it, so the checks compare events (answers inside the window in which all
bad requests were in flight) or allow a good fraction of a budget. The
100 ms itself is a timing: ``HYPERION_LATENCY_STRICT=1`` holds every probe
answer inside those windows to it; ``make test`` (CI, a machine of its
own) sets it.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time
import warnings

import pytest

from tests.e2e.harness import DEV_ADDRESSES, DEV_KEYS, REPO_ROOT, NodeProcess, foundry_binary
from tests.e2e.limits_support import (
    LOOP,
    LOOP_ADDRESS,
    MAX_GAS,
    Client,
    LatencyProbe,
    address_of,
    fresh_key,
    in_flight,
    in_threads,
    join_all,
    loop_call,
    node_log_text,
    peak_rss_mib,
    sigterm_exit_seconds,
    stamped,
    timed,
    transfer,
)

PROBE_LIMIT = 0.1  # eth_blockNumber must answer within this while bad requests run
STATE_READ_LIMIT = 1.0  # eth_getBalance (a worker thread's turn) while they run
STOP_LIMIT = 5.0   # SIGTERM to exit
STRICT_LATENCY = os.environ.get("HYPERION_LATENCY_STRICT") == "1"
MIN_ANSWERS = 3    # probe answers inside a window in which every bad request was in flight


def assert_kept_answering(probe: LatencyProbe, *windows: tuple[float, float], limit: float = PROBE_LIMIT) -> None:
    """The node answered ``probe`` while the bad requests ran, in each of ``windows``.

    A window is the time in which every bad request of a phase was in flight
    (``in_flight``). A node whose event loop runs the bad work, or that makes
    cheap requests wait behind it, answers nothing inside it: each window must
    hold at least MIN_ANSWERS answers. Their latencies also count the moments a
    loaded machine gave the node or this process no CPU (a median of 250 ms
    under low.sh at load 7), so only STRICT_LATENCY holds each to ``limit``.
    A probe request left unanswered fails the test when it was pending during
    a window; elsewhere (a setup step on a starved machine) only under
    STRICT_LATENCY, else it is a warning.
    """
    overlapping = [f for f in probe.failures if any(f[0] < end and f[1] > start for start, end in windows)]
    assert not overlapping, f"unanswered while the bad requests ran: {overlapping[:3]}"
    elsewhere = [f for f in probe.failures if f not in overlapping]
    if elsewhere:  # e.g. during a setup step (anvil_mine of 10,000 blocks) on a starved machine: not this test's claim
        message = f"the probe went unanswered outside the windows: {elsewhere[:3]}"
        assert not STRICT_LATENCY, message  # a machine of its own (CI): no request may go unanswered
        warnings.warn(message)
    for window in windows:
        inside = sorted(probe.within(window))
        stats = (f"{len(inside)} answers in the {window[1] - window[0]:.2f} s window"
                 + (f", median {statistics.median(inside) * 1000:.0f} ms, worst {inside[-1] * 1000:.0f} ms"
                    if inside else ""))
        assert len(inside) >= MIN_ANSWERS, stats
        if STRICT_LATENCY:
            assert inside[-1] < limit, stats


def _start(tmp_path, *extra: str, data_dir: bool = True) -> NodeProcess:
    storage = ["--data-dir", str(tmp_path / "data")] if data_dir else ["--in-memory"]
    return NodeProcess(*storage, "--log-level", "info", *extra, log_path=tmp_path / "node.log").start()


@pytest.fixture
def start(tmp_path):
    """Starts nodes for one test (``_start``'s arguments); kills any still running when the test ends."""
    started: list[NodeProcess] = []

    def start_node(*extra: str, data_dir: bool = True) -> NodeProcess:
        started.append(_start(tmp_path, *extra, data_dir=data_dir))
        return started[-1]

    yield start_node
    for node in started:
        if node.process is not None and node.process.poll() is None:
            node.kill_hard()


def _reopens_at(tmp_path, head: int) -> None:
    """The data dir a stopped node left behind opens at ``head`` and serves it."""
    again = _start(tmp_path)
    try:
        client = Client(again.port)
        assert int(client.result("eth_blockNumber"), 16) == head
        block = client.result("eth_getBlockByNumber", hex(head), False)
        assert int(block["number"], 16) == head
        client.close()
    finally:
        assert again.stop() == 0


def _stop_while(node: NodeProcess, bad_work, *args) -> None:
    """SIGTERM while ``bad_work`` runs on 4 threads: the process exits within STOP_LIMIT, status 0."""
    started = in_threads(4, bad_work, *args)
    time.sleep(0.5)
    seconds, code = sigterm_exit_seconds(node, STOP_LIMIT)
    join_all(started, 30)
    assert seconds < STOP_LIMIT, f"SIGTERM took {seconds:.2f}s"
    assert code == 0


# -- 1. one eth_call hangs the node ---------------------------------------------------------------


EVM_TIMEOUT = 3  # seconds: test 1's loops run this long, longer than a loaded machine leaves a process waiting
# The loops of tests 1 and 2 must end at their deadline, never by running out of gas, however fast the VM
# gets (50M gas of the loop, the default cap, took 1.85 s on the compiled tier): a cap no loop reaches.
GAS_CAP = 10**12


def test_a_probe_request_left_unanswered_fails_the_check_when_it_was_pending_in_a_window(monkeypatch):
    probe = LatencyProbe.__new__(LatencyProbe)
    probe.sent, probe.times, probe.latencies = [10.0, 11.0, 12.0], [10.01, 11.01, 12.01], [0.01] * 3
    probe.failures = [(13.0, 43.0, "TimeoutError('timed out')")]  # sent at 13 s, timed out 30 s later
    with pytest.raises(AssertionError, match="unanswered while the bad requests ran"):
        assert_kept_answering(probe, (9.0, 12.5), (40.0, 41.0))
    monkeypatch.setattr(sys.modules[__name__], "STRICT_LATENCY", False)
    with pytest.warns(UserWarning, match="outside the windows"):
        assert_kept_answering(probe, (9.0, 12.5))
    monkeypatch.setattr(sys.modules[__name__], "STRICT_LATENCY", True)
    with pytest.raises(AssertionError, match="outside the windows"):
        assert_kept_answering(probe, (9.0, 12.5))


def test_1_endless_eth_call_is_capped_stopped_and_never_blocks_the_node(tmp_path, start):
    node = start("--rpc-evm-timeout", str(EVM_TIMEOUT), "--rpc-gas-cap", str(GAS_CAP))
    client = Client(node.port)
    # explicit gas above the cap is lowered to it: GAS at the start of the frame is just below the cap
    # (the default cap, 50M, is tests/rpc/test_simulate.py's)
    gas_code = "0x5a60005260206000f3"  # GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    left = int(client.result("eth_call", {"to": LOOP_ADDRESS, "gas": MAX_GAS}, "latest",
                             {LOOP_ADDRESS: {"code": gas_code}}), 16)
    assert GAS_CAP - 1_000_000 < left < GAS_CAP

    probe = LatencyProbe(node.port)
    probe.start()
    probe_balance = LatencyProbe(node.port, "eth_getBalance", (DEV_ADDRESSES[1], "latest"))
    probe_balance.start()

    def bad_call():
        return stamped(Client(node.port).request, "eth_call", *loop_call())

    bad = in_threads(10, bad_call)
    time.sleep(0.3)
    # state reads and transactions go on while the loops run: the transaction is mined before any loop ends
    tx_hash = client.result("eth_sendTransaction", {"from": DEV_ADDRESSES[0], "to": DEV_ADDRESSES[2], "value": "0x1"})
    mined = time.monotonic()
    receipt = client.result("eth_getTransactionReceipt", tx_hash)
    assert receipt["status"] == "0x1"
    results = join_all(bad)
    window = in_flight(results)
    assert mined < window[1], f"the transaction waited {mined - window[1]:.2f} s past the first loop's end"
    for started, answered, answer in results:
        assert answer["error"] == {"code": -32000, "message": f"execution aborted (timeout = {EVM_TIMEOUT}s)"}
        # queued ones are answered at their deadline too, counted from their arrival (a clock started
        # when each one ran would answer the second of them after 2 x EVM_TIMEOUT, the last after 10 x)
        assert answered - started < 1.75 * EVM_TIMEOUT, answered - started
    probe_balance.stop()
    probe.stop()
    assert_kept_answering(probe, window)
    assert_kept_answering(probe_balance, window, limit=STATE_READ_LIMIT)

    head = int(client.result("eth_blockNumber"), 16)
    client.close()
    _stop_while(node, lambda: Client(node.port).request("eth_call", *loop_call()))
    assert "Traceback" not in node_log_text(tmp_path / "node.log")
    _reopens_at(tmp_path, head)


# -- 2. batches skip the per-call timeout ---------------------------------------------------------


REQUEST_TIMEOUT = 2  # test 2's batch budget (its items' executions: 1 s each)


def test_2_batches_run_under_one_budget(tmp_path, start):
    node = start("--rpc-evm-timeout", "1", "--rpc-request-timeout", str(REQUEST_TIMEOUT),
                 "--rpc-gas-cap", str(GAS_CAP))
    client = Client(node.port)
    probe = LatencyProbe(node.port)
    probe.start()

    # a batch of 4 looping calls: each stopped at 1 s, the batch as a whole at 2 s (the last items' answers
    # say so; a batch without one budget would take 4 x 1 s and answer each "execution aborted")
    batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": loop_call()} for i in range(4)]
    seconds, answers = timed(client.post, batch)
    assert seconds < REQUEST_TIMEOUT + 1.5
    assert sorted(a["id"] for a in answers) == [0, 1, 2, 3]
    messages = [a["error"]["message"] for a in sorted(answers, key=lambda a: a["id"])]
    assert messages[0] == "execution aborted (timeout = 1s)"
    assert messages[-1] == "request timed out" and answers[-1]["error"]["code"] == -32002

    # 8 concurrent batches of 3: state reads go on while they run
    probe_balance = LatencyProbe(node.port, "eth_getBalance", (DEV_ADDRESSES[0], "latest"))
    probe_balance.start()
    started = in_threads(8, lambda: stamped(Client(node.port).post, [
        {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": loop_call()} for i in range(3)]))
    results = join_all(started)
    probe_balance.stop()
    batches_window = in_flight(results)
    for _started, _answered, answer in results:
        assert isinstance(answer, list) and len(answer) == 3, answer
    assert_kept_answering(probe_balance, batches_window, limit=STATE_READ_LIMIT)

    # the batch: 1000 log queries, each over 10,000 blocks (the widest range allowed, ending at the
    # head: past it is an error, as in geth); far more work than the 2 s budget on any machine
    Client(node.port, timeout=600).result("anvil_mine", "0x2710")  # minutes on a loaded machine
    head = int(client.result("eth_blockNumber"), 16)
    topic = "0x" + "ab" * 32
    logs_batch = [{"jsonrpc": "2.0", "id": i, "method": "eth_getLogs",
                   "params": [{"fromBlock": hex(head - 9999), "toBlock": hex(head), "topics": [topic]}]} for i in range(1000)]
    logs_started, logs_answered, answers = stamped(client.post, logs_batch)
    assert logs_answered - logs_started < 3 * REQUEST_TIMEOUT and len(answers) == 1000
    assert answers[0].get("result") == [] and answers[-1].get("error", {}).get("message") == "request timed out"
    probe.stop()
    assert_kept_answering(probe, batches_window, (logs_started, logs_answered))
    client.close()
    _stop_while(node, lambda: Client(node.port).post(logs_batch))
    _reopens_at(tmp_path, head)


# -- 3. debug_traceCall memory is unbounded ------------------------------------------------------


def test_3_trace_memory_is_bounded(tmp_path, start):
    node = start()
    client = Client(node.port)
    # the repro: a contract whose code is the endless loop, traced with 50M gas
    tx_hash = client.result("eth_sendTransaction", {"from": DEV_ADDRESSES[0], "data": "0x635b6000566000526004601cf3"})
    contract = client.result("eth_getTransactionReceipt", tx_hash)["contractAddress"]
    assert client.result("eth_getCode", contract, "latest") == LOOP
    baseline = peak_rss_mib(node.process.pid)
    probe = LatencyProbe(node.port)
    probe.start()
    answers = join_all(in_threads(2, lambda: stamped(Client(node.port).request, "debug_traceCall",
                                                     {"to": contract, "gas": "0x2faf080"}, "latest")))
    probe.stop()
    for started, answered, answer in answers:
        # whichever comes first: the trace memory budget (128 MiB) or the 5 s deadline (the whole trace of
        # 50M gas of loop takes several times that)
        message = answer["error"]["message"]
        assert message.startswith("trace exceeds the memory budget") or message == "execution aborted (timeout = 5s)"
        assert answered - started < 7.5
    grown = peak_rss_mib(node.process.pid) - baseline
    assert grown < 700, f"peak RSS grew by {grown:.0f} MiB"
    assert_kept_answering(probe, in_flight(answers))
    # a trace that fits is still complete
    small = client.result("debug_traceCall", {"to": contract, "gas": "0x7530"}, "latest")
    assert small["failed"] and small["structLogs"][-1]["error"] == "out of gas"
    head = int(client.result("eth_blockNumber"), 16)
    client.close()
    _stop_while(node, lambda: Client(node.port).request("debug_traceCall", {"to": contract, "gas": "0x2faf080"},
                                                        "latest"))
    _reopens_at(tmp_path, head)


# -- 4. block timestamps past uint64 ---------------------------------------------------------------


def test_4_timestamps_stay_within_uint64(tmp_path, start, js_tools):
    node = start()
    client = Client(node.port)
    for method, value in (("evm_setNextBlockTimestamp", MAX_GAS), ("evm_increaseTime", MAX_GAS),
                          ("evm_mine", MAX_GAS), ("evm_increaseTime", hex(2**63))):
        answer = client.request(method, value)
        assert answer.get("error", {}).get("message") == "The timestamp is too big", (method, answer)
    # a far-future timestamp that leaves room is accepted, and blocks keep coming after it
    client.result("evm_setNextBlockTimestamp", hex(2**40))
    client.result("evm_mine")
    client.result("evm_mine", hex(2**40 + 1))
    block = client.result("eth_getBlockByNumber", "latest", False)
    assert int(block["timestamp"], 16) == 2**40 + 1
    head = int(block["number"], 16)
    client.close()
    assert node.stop() == 0
    again = start()
    try:
        env = dict(os.environ, ETH_RPC_URL=again.url, FOUNDRY_DISABLE_NIGHTLY_WARNING="1", NO_COLOR="1")
        out = subprocess.run([str(foundry_binary("cast")), "block", "latest", "--json"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert int(json.loads(out.stdout)["timestamp"], 0) == 2**40 + 1
        script = ("import('ethers').then(async ({ethers}) => { const p = new ethers.JsonRpcProvider(process.argv[1]);"
                  " const b = await p.getBlock('latest'); console.log(b.number + ' ' + b.timestamp); })")
        out = subprocess.run(["node", "-e", script, again.url], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == [str(head), str(2**40 + 1)]
    finally:
        assert again.stop() == 0


# -- 5-8, 10: one node ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits")
    node = _start(path, data_dir=False)
    node.log = path / "node.log"
    yield node
    assert node.stop() == 0


def test_5_debug_trace_call_honours_state_and_block_overrides(shared):
    client = Client(shared.port)
    number_code = "0x4360005260206000f3"  # NUMBER PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
    options = {"tracer": "callTracer", "stateOverrides": {LOOP_ADDRESS: {"code": number_code}},
               "blockOverrides": {"number": "0x1234"}}
    trace = client.result("debug_traceCall", {"to": LOOP_ADDRESS}, "latest", options)
    assert trace["output"] == "0x" + "1234".rjust(64, "0")
    logs = client.result("debug_traceCall", {"to": LOOP_ADDRESS}, "latest",
                         {"stateOverrides": {LOOP_ADDRESS: {"code": number_code}}})
    assert [step["op"] for step in logs["structLogs"]][:2] == ["NUMBER", "PUSH1"]
    # without overrides the address has no code: nothing runs
    assert client.result("debug_traceCall", {"to": LOOP_ADDRESS}, "latest")["structLogs"] == []
    client.close()


def test_6_out_of_gas_is_named(shared):
    client = Client(shared.port)
    answer = client.request("eth_call", *loop_call(gas="0x30d40"))
    assert answer["error"] == {"code": -32000, "message": "out of gas"}
    answer = client.request("eth_call", {"to": LOOP_ADDRESS}, "latest", {LOOP_ADDRESS: {"code": "0xfe"}})
    assert answer["error"]["message"] == "invalid opcode"
    client.close()


def test_7_malformed_http_framing_is_a_400_and_one_log_line(shared):
    for header in (b"Content-Length: abc\r\n", b"Content-Length: 5\r\nContent-Length: 7\r\n"):
        with socket.create_connection(("127.0.0.1", shared.port), timeout=10) as sock:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + header + b"\r\n{}")
            status_line = sock.recv(4096).split(b"\r\n", 1)[0]
            assert status_line.split()[1] == b"400", status_line
    time.sleep(0.3)
    log = node_log_text(shared.log)
    assert "Traceback" not in log
    lines = [line for line in log.splitlines() if "bad http request" in line]
    assert len(lines) == 2 and "Content-Length" in lines[0]
    assert Client(shared.port).result("eth_chainId") == hex(133717)


def _ws_frame(payload: bytes, masked: bool) -> bytes:
    header = bytes([0x81, (0x80 if masked else 0) | len(payload)])
    if not masked:
        return header + payload
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_8_unmasked_websocket_client_frames_close_the_connection(shared):
    request = b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}'
    with socket.create_connection(("127.0.0.1", shared.port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 101")
        sock.sendall(_ws_frame(request, masked=True))
        frame = sock.recv(4096)
        assert frame[0] == 0x81 and b'"result":"0x20a55"' in frame
        sock.sendall(_ws_frame(request, masked=False))
        frame = sock.recv(4096)
        assert frame[0] == 0x88, frame  # a close frame, no answer
        assert struct.unpack(">H", frame[2:4])[0] == 1002  # protocol error
        assert sock.recv(4096) == b""  # and the connection is closed


def test_10_queued_transactions_cannot_take_the_room_of_executable_ones(shared):
    client = Client(shared.port)
    client.result("evm_setAutomine", False)
    try:
        # the finding: 80 senders x 64 future-nonce transactions used to fill all 5120 slots
        keys = [fresh_key(i) for i in range(80)]
        client.post([{"jsonrpc": "2.0", "id": i, "method": "anvil_setBalance", "params": [address_of(k), hex(10**20)]}
                     for i, k in enumerate(keys)])
        queued = [{"jsonrpc": "2.0", "id": i * 100 + n, "method": "eth_sendRawTransaction",
                   "params": [transfer(key, n)]} for i, key in enumerate(keys) for n in range(1, 65)]
        answers = [a for start in range(0, len(queued), 256) for a in client.post(queued[start:start + 256])]
        accepted = [a for a in answers if "result" in a]
        refused = {a["error"]["message"].split(":")[0] for a in answers if "error" in a}
        assert len(accepted) == 1024 and refused == {"txpool is full"}, (len(accepted), refused)
        # the first 16 senders got in: one more of theirs is over the per-sender budget
        one_more = client.request("eth_sendRawTransaction", transfer(keys[0], 65))
        assert one_more["error"]["message"].startswith("account limit exceeded"), one_more
        # executable transactions still find room
        for index, key in enumerate(DEV_KEYS):
            nonce = int(client.result("eth_getTransactionCount", DEV_ADDRESSES[index], "pending"), 16)
            for offset in range(25):
                client.result("eth_sendRawTransaction", transfer(bytes.fromhex(key[2:]), nonce + offset))
        status = client.result("txpool_status")
        assert int(status["queued"], 16) == 1024 and int(status["pending"], 16) == 100
        # filling a gap turns queued transactions into executable ones
        client.result("eth_sendRawTransaction", transfer(keys[0], 0))
        assert int(client.result("txpool_status")["pending"], 16) == 165
    finally:
        client.result("evm_setAutomine", True)
        client.close()


# -- 9. stopping the bench leaves its nodes running ---------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_9_stopping_the_bench_stops_its_nodes(js_tools, how):
    import signal as signals

    bench = subprocess.Popen([sys.executable, "-m", "hyperion", "bench", "rpc", "--txs", "100000", "--against",
                              "anvil"], cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240  # both started: minutes on a loaded machine
        children: list[int] = []
        while time.monotonic() < deadline and len(children) < 2:
            children = _children(bench.pid)
            time.sleep(0.2)
        assert len(children) == 2, "the bench did not start its node and anvil"
        time.sleep(1.0)
        bench.send_signal(getattr(signals, how))
        bench.wait(30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(pid) for pid in children):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in children), "a node the bench started is still running"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
