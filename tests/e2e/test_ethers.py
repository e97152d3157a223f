"""ethers.js (npm ``ethers``, run with node) against a real ``hyperion node``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.e2e.harness import REPO_ROOT

SCRIPT = Path(__file__).resolve().parent / "js" / "ethers_e2e.mjs"
EXPECTED_STEPS = ["network and balance", "deploy and call", "transfer", "estimate gas and receipt", "getLogs",
                  "revert reason", "websocket subscription", "replace pending transaction", "merkle proof",
                  "batched requests"]


def test_ethers_end_to_end(js_tools, node, contract_artifact_path):
    result = subprocess.run(["node", str(SCRIPT), node.url, node.ws_url, str(contract_artifact_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    steps = [line[3:] for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert result.returncode == 0, f"ethers script failed after {steps}:\n{result.stdout}\n{result.stderr}"
    assert steps == EXPECTED_STEPS
