"""Same inference, same bytes: in this process, and in two separate Python processes (engine + EVM)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperion.ai.engine import Runner
from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS

from .conftest import dev_key
from .evm import ScratchEvm

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("determinism_worker.py")


def _random_inputs(count: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    inputs = [rng.integers(-128, 128, 64, dtype=np.int64).astype(np.int8).tobytes() for _ in range(count)]
    inputs += [bytes([0x80]) * 64, bytes([0x7F]) * 64, bytes(64)]  # extremes
    return inputs


def _run_worker(inputs: list[bytes]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONHASHSEED="random")
    done = subprocess.run([sys.executable, str(WORKER)], input=json.dumps([x.hex() for x in inputs]),
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=True)
    return json.loads(done.stdout)


def test_two_processes_and_plain_python_agree(digits_model, digits_inputs):
    inputs = _random_inputs(150, seed=7) + list(digits_inputs)
    expected = [Runner(digits_model).run(x).hex() for x in inputs]
    first, second = _run_worker(inputs), _run_worker(inputs)
    assert first["engine"] == second["engine"] == expected
    assert first["evm"] == second["evm"] == expected


@settings(max_examples=80, deadline=None)
@given(st.lists(st.binary(min_size=64, max_size=64), min_size=1, max_size=4))
def test_property_precompile_in_evm_equals_plain_python(digits_model, inputs):
    key = dev_key("property")
    chain = ScratchEvm([key], [digits_model])
    runner = Runner(digits_model)
    for x in inputs:
        receipt = chain.send(key, INFERENCE_ADDRESS, digits_model.content_hash + x, gas=100_000)
        assert receipt.success and receipt.output == runner.run(x)
