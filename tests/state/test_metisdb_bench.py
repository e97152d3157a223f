"""``hyperion bench db`` runs end to end on a tiny state (a smoke test, not a timing test)."""

from __future__ import annotations

import json

import pytest

from hyperion.bench import db as bench_db


def test_bench_db_json_smoke(capsys, tmp_path) -> None:
    pytest.importorskip("trie")
    status = bench_db.main(["--json", "--sizes", "300", "--batch", "30", "--rounds", "1",
                            "--reads", "1000", "--proofs", "10", "--no-sync", "--dir", str(tmp_path)])
    assert status == 0
    report = json.loads(capsys.readouterr().out)
    (result,) = report["results"]
    assert result["accounts"] == 300 and result["batch"] == 30
    assert result["update_commit"]["metisdb_ops_per_s"] > 0
    assert result["update_commit"]["pytrie_ops_per_s"] > 0  # roots were compared equal
    assert result["update_commit"]["amortized"]["metisdb_ops_per_s"] > 0
    assert result["reads"]["metisdb_cached_median_us"] > 0
    assert report["machine"]["cpu"]


def test_bench_db_rejects_bad_sizes() -> None:
    with pytest.raises(SystemExit):
        bench_db.main(["--sizes", "ten"])
