"""``hyperion bench rpc`` on a tiny load, against its own node and anvil from npm."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hyperion.bench.rpc import anvil_binary
from tests.e2e.harness import REPO_ROOT


def test_bench_rpc_against_anvil(js_tools):
    assert anvil_binary() is not None, "setup-e2e.sh installs @foundry-rs/anvil"
    result = subprocess.run([sys.executable, "-m", "hyperion", "bench", "rpc", "--txs", "30", "--batch", "10",
                             "--against", "anvil", "--json"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for target in ("hyperion", "against"):
        for phase in ("ETH transfers", "ERC-20 transfers"):
            assert report[target][phase]["transactions"] == 30
            assert report[target][phase]["tx_per_s"] > 0
    assert set(report["ratio"]) == {"ETH transfers", "ERC-20 transfers"}


def test_bench_rpc_rejects_bad_arguments():
    result = subprocess.run([sys.executable, "-m", "hyperion", "bench", "rpc", "--senders", "0"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2


def test_bench_rpc_on_a_data_dir_node_at_two_load_sizes(tmp_path):
    """``--data-dir`` benches a MetisDB-backed node, which keeps the chain it mined; with two sizes
    (``--txs 10 20``) every round runs both and the second size's rate is compared with the first's."""
    data_dir = tmp_path / "node"
    result = subprocess.run([sys.executable, "-m", "hyperion", "bench", "rpc", "--txs", "10", "20", "--batch", "5",
                             "--rounds", "2", "--data-dir", str(data_dir), "--json"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["hyperion"]["ERC-20 transfers"]["transactions"] == 10
    by_size = report["sizes"]["hyperion"]
    assert [by_size[size]["ETH transfers"]["transactions"] for size in ("10", "20")] == [10, 20]
    assert all(by_size[size][phase]["rounds"] == 2 for size in ("10", "20") for phase in by_size[size])
    scaling = report["scaling"]["hyperion"]["20"]
    assert scaling["ETH transfers"] == pytest.approx(by_size["20"]["ETH transfers"]["tx_per_s"]
                                                     / by_size["10"]["ETH transfers"]["tx_per_s"], rel=0.01)
    assert (data_dir / "state").is_dir()
