"""``hyperion node --watch-key K``: the node runs the watcher itself, and a wrong result is slashed.

Everything here goes through real processes and the command line: one
``hyperion node --watch-key K`` (which starts ``hyperion ai watch`` as its
child), and ``hyperion model|job ...`` commands for the model owner, the
requester and a worker that submits a wrong output. Nobody challenges by
hand. The watcher child is killed once on purpose first: the node starts it
again, and it still catches the wrong result; when the node stops, so does
its watcher.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("hyperion.chain.node")

from eth_account import Account  # noqa: E402

from hyperion.ai.digits import MODELS_DIR, sample_inputs  # noqa: E402
from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.model import decode_model  # noqa: E402
from hyperion.chain.genesis import ChainConfig  # noqa: E402

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
KEYS = [key for _, key in ChainConfig().dev_accounts()]
WORKER, WATCHER, REQUESTER = 1, 2, 3
ENV = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")


def _hyperion(*argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "hyperion", *argv], capture_output=True, text=True, cwd=REPO,
                          env=ENV, timeout=300)
    assert done.returncode == 0, f"hyperion {' '.join(argv)} failed: {done.stderr}"
    return done.stdout


def _wait_for(path: Path, pattern: str, deadline: float, after: int = 0) -> re.Match:
    while time.monotonic() < deadline:
        found = re.compile(pattern).search(path.read_text(), after)
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"no {pattern!r} in the node's log:\n{path.read_text()}")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _node_fails(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperion", "node", "--in-memory", "--port", "0", *argv],
                          capture_output=True, text=True, cwd=REPO, env=ENV, timeout=120)


def test_a_bad_watch_key_or_a_chain_without_jobs_is_refused(tmp_path):
    done = _node_fails("--watch-key", "0x1234")
    assert done.returncode == 2 and "--watch-key: expected a 32-byte hex private key" in done.stderr
    genesis = tmp_path / "genesis.json"
    genesis.write_text(json.dumps({"config": {"chainId": 5}, "fork": "Prague", "alloc": {}}))
    done = _node_fails("--genesis", str(genesis), "--watch-key", "0x" + KEYS[WATCHER].hex())
    assert done.returncode == 1 and "--watch-key: this chain has no InferenceJobs contract" in done.stderr, \
        done.stderr


def test_the_nodes_own_watcher_slashes_a_wrong_result(tmp_path):
    log_path = tmp_path / "node.log"
    with open(log_path, "w") as log_file:
        node = subprocess.Popen(
            [sys.executable, "-m", "hyperion", "node", "--in-memory", "--port", "0", "--log-level", "info",
             "--watch-key", "0x" + KEYS[WATCHER].hex()],
            stdout=subprocess.PIPE, stderr=log_file, text=True, cwd=REPO, env=ENV)
    watchers = []
    try:
        deadline = time.monotonic() + 300
        url = None
        while time.monotonic() < deadline and url is None:
            line = node.stdout.readline()
            if line.startswith("Listening on "):
                url = "http://" + line.split()[-1]
            elif not line and node.poll() is not None:
                pytest.fail(f"hyperion node did not start:\n{log_path.read_text()}")
        assert url, "hyperion node did not start"

        first = _wait_for(log_path, r"watcher started pid=(\d+)", deadline)
        watchers.append(int(first.group(1)))
        os.kill(watchers[0], signal.SIGKILL)  # a watcher that dies is started again
        _wait_for(log_path, rf"watcher pid={watchers[0]} exited with status -9; starting it again", deadline)
        second = _wait_for(log_path, r"watcher started pid=(\d+)", deadline, first.end())
        watchers.append(int(second.group(1)))

        model = decode_model((MODELS_DIR / "digits.hqm").read_bytes())
        digest = "0x" + model.content_hash.hex()
        assert digest in _hyperion("model", "register", "digits", "--rpc-url", url)
        image = sample_inputs(4)[3]
        assert _hyperion("job", "post", digest, "--digits-sample", "3", "--fee", "1000", "--rpc-url", url,
                         "--dev-account", str(REQUESTER)).strip() == "job 1"
        right = Runner(model).run(image)
        wrong = bytes([right[0] ^ 0x55]) + right[1:]
        worker = ("--rpc-url", url, "--dev-account", str(WORKER))
        _hyperion("job", "register-worker", *worker)
        _hyperion("job", "submit", "1", "--output-hex", wrong.hex(), "--bond", "0.01eth", *worker)

        while time.monotonic() < deadline:
            status = _hyperion("job", "status", "1", "--rpc-url", url)
            if status.startswith("job 1: slashed"):
                break
            assert node.poll() is None, "the node died"
            time.sleep(0.5)
        else:
            pytest.fail(f"the wrong result was not slashed:\n{log_path.read_text()}")
        watcher = Account.from_key(KEYS[WATCHER]).address.lower()
        resolved = [line for line in status.lower().splitlines() if "challengeresolved:" in line]
        assert len(resolved) == 1 and f"challenger={watcher}" in resolved[0] and "worker_slashed=true" in resolved[0], \
            status
        log = log_path.read_text()
        assert "job 1: result" in log and "is wrong" in log, log
    finally:
        if node.poll() is None:
            node.send_signal(signal.SIGTERM)
        try:
            status = node.wait(timeout=60)
        except subprocess.TimeoutExpired:
            node.kill()
            status = node.wait()
    assert status == 0, log_path.read_text()
    deadline = time.monotonic() + 60  # ends when they are gone: long only on a starved machine
    while any(_alive(pid) for pid in watchers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in watchers), "the node left its watcher running"
