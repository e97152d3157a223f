"""``hyperion bench rollup`` runs end to end on a small workload (a smoke test, not a timing)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hyperion.rollup.devnet import anvil_binary

pytestmark = pytest.mark.e2e


def _bench(latency_samples: int, set_window: float = 0) -> dict:
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (scripts/setup-e2e.sh)")
    done = subprocess.run([sys.executable, "-m", "hyperion", "bench", "rollup", "--txs", "40", "--block-txs", "20",
                           "--latency-samples", str(latency_samples), "--set-window", str(set_window),
                           "--set-txs", "20", "--json"], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_bench_rollup_reports_costs_and_speeds():
    result = _bench(latency_samples=0)
    assert [p["name"] for p in result["phases"]] == ["ETH transfers", "ERC-20 transfers"]
    for phase in result["phases"]:
        assert phase["txs"] == 40 and phase["tx_per_s"] > 0
        assert phase["brotli_bytes"] > 0 and phase["raw_bytes"] > phase["brotli_bytes"]
        assert phase["calldata_gas"] > 0 and phase["blob_gas"] > 0 and phase["blobs"] >= 1
    assert [d["source"] for d in result["derivations"]] == ["blobs", "calldata"]
    assert all(d["state_root_matches"] and d["blocks"] > 0 for d in result["derivations"])


@pytest.mark.slow
def test_bench_rollup_times_a_transaction_to_safe():
    result = _bench(latency_samples=1)
    assert len(result["latency"]) == 1 and 0 < result["latency"][0] < 120


@pytest.mark.slow
def test_bench_rollup_compares_one_sequencer_with_a_rotating_set_of_three():
    result = _bench(latency_samples=0, set_window=6)
    assert [run["sequencers"] for run in result["sets"]] == [1, 3]
    for run in result["sets"]:
        assert run["blocks"] > 0 and run["block_time"] > 0 and run["txs"] == 20 and run["tx_per_s"] > 0
    assert result["sets"][0]["failover_gap"] is None and 0 < result["sets"][1]["failover_gap"] < 60
