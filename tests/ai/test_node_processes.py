"""Determinism across two separate node processes (``python -m hyperion node``) and plain Python.

Each node gets its own model store folder holding the digits model; the same
random inputs go to the precompile by ``eth_call`` and, for a few, through a
mined transaction to the example contract on each node.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hyperion.chain.node")
pytest.importorskip("hyperion.rpc.server")

from hyperion.ai.backends import RpcBackend  # noqa: E402
from hyperion.ai.engine import Runner  # noqa: E402
from hyperion.ai.sdk import AIClient  # noqa: E402
from hyperion.ai.store import DirectoryModelStore  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def _start_node(store_dir: Path) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [sys.executable, "-m", "hyperion", "node", "--in-memory", "--port", "0", "--silent",
         "--log-level", "warning", "--model-store", str(store_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("Listening on "):
            return process, "http://" + line.split()[-1]
        if not line and process.poll() is not None:
            break
    process.terminate()
    pytest.fail("devnode did not start")


@pytest.fixture
def two_nodes(tmp_path, digits_model):
    started = []
    try:
        for name in ("a", "b"):
            store_dir = tmp_path / name
            DirectoryModelStore(store_dir).put(digits_model)
            started.append(_start_node(store_dir))
        yield [RpcBackend(url) for _, url in started]
    finally:
        for process, _ in started:
            process.terminate()
            process.wait(timeout=30)


def test_two_node_processes_and_python_agree(two_nodes, digits_model, digits_inputs):
    rng = np.random.default_rng(11)
    inputs = [rng.integers(-128, 128, 64).astype(np.int8).tobytes() for _ in range(60)] + list(digits_inputs[:20])
    runner = Runner(digits_model)
    expected = [runner.run(x) for x in inputs]
    clients = [AIClient(node, sender=node.accounts()[0]) for node in two_nodes]
    for client in clients:
        assert [client.infer(digits_model.content_hash, x) for x in inputs] == expected

    # mined transactions: the example contract on each node records the same predictions
    trails = []
    for client in clients:
        bounty = client.deploy_contract("DigitBounty", digits_model.content_hash, 10)
        events = []
        for x in inputs[:8]:
            receipt = client.transact("DigitBounty", bounty, "classify", x, gas=300_000)
            events.append((receipt.gas_used, [fields["digit"] for _, fields in client.events(receipt)]))
        trails.append(events)
    assert trails[0] == trails[1]
    assert [digits for _, digits in trails[0]] == [[int.from_bytes(o, "big")] for o in expected[:8]]
