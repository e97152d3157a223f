"""Benchmark workloads: state-test benchmark files plus the ERC-20 and AMM batches.

``erc20.vy`` (the token) and ``amm.vy`` (a constant-product pool) are the
Vyper sources; ``erc20.json`` and ``amm.json`` their compiled, checked-in
artifacts (rebuilt by ``scripts/build_erc20_workload.py``).
"""

from __future__ import annotations

from pathlib import Path

from hyperion.bench.workloads.amm import build_amm_workload
from hyperion.bench.workloads.erc20 import build_erc20_workload
from hyperion.bench.workloads.model import (
    AccountSpec,
    BlockSpec,
    TxSpec,
    Workload,
    WorkloadError,
)
from hyperion.bench.workloads.state_tests import load_benchmark_dir, load_benchmark_file

__all__ = [
    "AccountSpec",
    "BlockSpec",
    "TxSpec",
    "Workload",
    "WorkloadError",
    "build_amm_workload",
    "build_erc20_workload",
    "default_benchmarks_dir",
    "load_all_workloads",
    "load_benchmark_dir",
    "load_benchmark_file",
]


def default_benchmarks_dir() -> Path:
    """``<repo>/../shared/fixtures/evm-benchmarks/benchmarks``, where the fixtures live."""
    repo_root = Path(__file__).resolve().parents[3]
    return repo_root.parent / "shared" / "fixtures" / "evm-benchmarks" / "benchmarks"


def load_all_workloads(benchmarks_dir: Path | None = None, *, include_contracts: bool = True) -> list[Workload]:
    """Every benchmark-file workload (when the directory exists) followed by the ERC-20 and AMM batches."""
    directory = default_benchmarks_dir() if benchmarks_dir is None else Path(benchmarks_dir)
    workloads = load_benchmark_dir(directory) if directory.is_dir() or benchmarks_dir else []
    if include_contracts:
        workloads.append(build_erc20_workload())
        workloads.append(build_amm_workload())
    return workloads
