"""A wrong result for a 151M-MAC model is slashed through bisection, raised and played by the watcher process.

Processes: one ``hyperion node``, one ``hyperion ai watch --rpc-url URL --key K``
(the watcher, with no other input), and this test, which publishes the model,
posts a job with its input on chain and plays a worker that claims a wrong
output: its layer 9 is wrong and every later layer is computed from it, so
only one step of its trace is inconsistent. The model needs 151M gas to
re-execute whole, five blocks' worth; the watcher disputes it by bisection
and the chain re-executes one chunk of one layer (under 8M MACs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("hyperion.chain.node")

from eth_account import Account  # noqa: E402

from hyperion.agents.follower import JOB_FIELDS, STATUS_SLASHED  # noqa: E402
from hyperion.agents.worker import Worker  # noqa: E402
from hyperion.ai.synthetic import conv_tower, wrong_result_trace  # noqa: E402
from hyperion.ai.trace import DisputePlan  # noqa: E402
from hyperion.chain.genesis import ChainConfig  # noqa: E402
from hyperion.predeploys.plan import INFERENCE_JOBS_ADDRESS, MODEL_REGISTRY_ADDRESS  # noqa: E402
from hyperion.sdk import connect  # noqa: E402
from hyperion.vm.precompiles.inference import inference_gas  # noqa: E402


REPO = Path(__file__).resolve().parents[2]
KEYS = [key for _, key in ChainConfig().dev_accounts()]
OWNER, WORKER, WATCHER, REQUESTER = 0, 1, 2, 3


def _start(argv: list[str], stdout, stderr) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "hyperion", *argv], stdout=stdout, stderr=stderr, text=True,
                            cwd=REPO, env=env)


def _stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@pytest.fixture
def node():
    process = _start(["node", "--in-memory", "--port", "0", "--silent", "--log-level", "warning"],
                     subprocess.PIPE, subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if line.startswith("Listening on "):
                yield "http://" + line.split()[-1]
                return
            if not line and process.poll() is not None:
                break
        pytest.fail("hyperion node did not start")
    finally:
        _stop(process)


def test_watcher_process_slashes_a_wrong_151m_mac_result_by_bisection(node, tmp_path):
    model = conv_tower()
    assert model.macs >= 150_000_000
    assert inference_gas(model.macs, model.input_size, model.output_size) > 5 * 30_000_000  # not one tx, not one block
    plan = DisputePlan(model)
    assert plan.verifiable and max(t.chunks for t in plan.tensors) == 2

    owner = connect(node, KEYS[OWNER])
    owner.ai.publish_model(model)
    registry = owner.client.artifact_contract("ModelRegistry", MODEL_REGISTRY_ADDRESS)
    owner.client.transact(registry.functions.register(model.content_hash, list(model.input_shape),
                                                      model.output_size, model.macs, 0, 0, "tower-151M"))

    log_path = tmp_path / "watcher.log"
    with open(log_path, "w") as log_file:
        watcher = _start(["ai", "watch", "--rpc-url", node, "--key", "0x" + KEYS[WATCHER].hex(), "--interval", "0.3"],
                         subprocess.PIPE, log_file)
        try:
            data = np.random.default_rng(0).integers(-100, 101, model.input_size).astype(np.int8).tobytes()
            lying = wrong_result_trace(plan, data, 9)
            worker_client = connect(node, KEYS[WORKER]).client
            worker = Worker(worker_client, INFERENCE_JOBS_ADDRESS, from_block=worker_client.w3.eth.block_number + 1,
                            compute=lambda chain_model, x: lying)
            requester = connect(node, KEYS[REQUESTER]).client
            jobs = requester.artifact_contract("InferenceJobs", INFERENCE_JOBS_ADDRESS)
            requester.transact(jobs.functions.post_job_with_input(model.content_hash, data, 10**15),
                               value=2 * 10**15)
            job_id = jobs.functions.job_count().call()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                worker.tick()  # the worker submits its wrong result, then answers every move of the dispute
                job = dict(zip(JOB_FIELDS, jobs.functions.jobs(job_id).call()))
                if job["status"] == STATUS_SLASHED and not worker.disputes:
                    break
                assert watcher.poll() is None, "the watcher process died"
                time.sleep(0.2)
            else:
                pytest.fail("the job was not slashed in time")
            watcher_address = Account.from_key(KEYS[WATCHER]).address
            assert job["challenger"] == watcher_address and job["open_disputes"] == 0
            assert any("lost, the bond is slashed" in d for d in worker.decisions)
        finally:
            status = _stop(watcher)
        printed = watcher.stdout.read()
    log = log_path.read_text()
    assert status == 0 and "stopped after" in printed, log
    for expected in (f"job {job_id}: result", "is wrong", "too many for one transaction: opened dispute",
                     "the worker's state after layer", "re-executing chunk", "won, the worker is slashed"):
        assert expected in log, f"missing {expected!r} in the watcher log:\n{log}"
    rounds = log.count("the worker's state after layer")
    assert 1 <= rounds <= plan.layer_rounds()
