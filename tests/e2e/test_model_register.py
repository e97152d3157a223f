"""``hyperion model register`` against a running node, as a newcomer types it: only the node's URL, never its folders.

The model's bytes go on chain (the ModelStore predeploy), so the node's
model folder is only a cache: a node with its data somewhere unusual, and
later with an empty cache folder, still runs the model. On a terminal the
command draws a bar of its transactions; in a pipe it prints one plain line.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from hyperion.ai.digits import MODELS_DIR, load_digits_model, sample_inputs
from hyperion.ai.engine import Runner
from hyperion.ai.model import decode_model
from tests.e2e.harness import REPO_ROOT, NodeProcess
from tests.tools.terminal import run_on_terminal

pytestmark = pytest.mark.e2e
SAMPLE = 2


def hyperion(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperion", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=300)


def test_model_register_needs_only_the_nodes_url(tmp_path):
    data_dir, cache = tmp_path / "somewhere" / "chain", tmp_path / "elsewhere" / "model-cache"
    node = NodeProcess("--data-dir", str(data_dir), "--model-store", str(cache),
                       log_path=tmp_path / "node.log").start()
    try:
        registered = hyperion("model", "register", "digits", "--name", "digits", "--rpc-url", node.url)
        assert registered.returncode == 0, registered.stderr
        digest = "0x" + load_digits_model().content_hash.hex()
        assert re.fullmatch(rf"published and registered {digest} \(\d+ bytes, \d+ MACs\) in tx 0x[0-9a-f]{{64}}\n",
                            registered.stdout), registered.stdout
        assert "\x1b" not in registered.stdout + registered.stderr     # a pipe gets no bar
        listed = hyperion("model", "list", "--rpc-url", node.url)
        assert listed.returncode == 0 and digest in listed.stdout and "digits" in listed.stdout, listed
        expected = int.from_bytes(Runner(load_digits_model()).run(sample_inputs(SAMPLE + 1)[SAMPLE]), "big")
        inferred = hyperion("model", "infer", digest, "--digits-sample", str(SAMPLE), "--rpc-url", node.url)
        assert inferred.returncode == 0 and f"(class {expected})" in inferred.stdout, inferred
    finally:
        assert node.stop() == 0

    # the same chain with an empty cache folder: the model is read back from chain data
    empty = tmp_path / "empty-cache"
    node = NodeProcess("--data-dir", str(data_dir), "--model-store", str(empty),
                       log_path=tmp_path / "node.log").start()
    try:
        inferred = hyperion("model", "infer", digest, "--digits-sample", str(SAMPLE), "--rpc-url", node.url)
        assert inferred.returncode == 0 and f"(class {expected})" in inferred.stdout, inferred
    finally:
        assert node.stop() == 0


def test_model_register_draws_its_transactions_on_a_terminal(tmp_path):
    node = NodeProcess("--in-memory", log_path=tmp_path / "node.log").start()
    try:
        run = run_on_terminal(["model", "register", "charlm", "--rpc-url", node.url], timeout=300)
        assert run.returncode == 0, run.text
        # charlm is two chunks: chunk 1, chunk 2, the seal, the registration (4 transactions)
        for step in ("model register: chunk 1 of 2", "model register: chunk 2 of 2", "model register: sealing",
                     "model register: registering"):
            assert step in run.text, run.text
        assert "/4" in run.text and "transactions" in run.text
        assert "\x1b[?25h" in run.raw.decode("utf-8", "replace")        # the cursor is given back
        assert run.text.rstrip().splitlines()[-1].startswith("published and registered 0x")
        # the in-memory node caches the model in memory and runs it
        charlm = decode_model((MODELS_DIR / "charlm.hqm").read_bytes())
        text = "the quick brown fox jumps over t"
        inferred = hyperion("model", "infer", "0x" + charlm.content_hash.hex(), "--text", text, "--rpc-url", node.url)
        assert inferred.returncode == 0, inferred.stderr
        assert inferred.stdout.split()[0] == "0x" + Runner(charlm).run(text.encode()).hex()
    finally:
        assert node.stop() == 0


def test_model_register_of_a_missing_file_is_one_clear_line(tmp_path):
    node = NodeProcess("--in-memory", log_path=tmp_path / "node.log").start()
    try:
        missing = hyperion("model", "register", str(tmp_path / "absent.hqm"), "--rpc-url", node.url)
    finally:
        assert node.stop() == 0
    assert missing.returncode != 0 and missing.stdout == ""
    assert len(missing.stderr.splitlines()) == 1 and "absent.hqm" in missing.stderr, missing.stderr
