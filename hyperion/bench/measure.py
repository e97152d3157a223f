"""Timing of one engine on one workload: warm-up, repeats, median.

Only ``PreparedBatch.execute`` is timed; ``reset`` (rebuilding the
pre-state) happens between runs, off the clock, and a garbage collection
before the warm-up and before the timed series (not per run: that would
dominate the wall time of microsecond-long workloads).
A run slower than ``slow_run_seconds`` is not repeated (py-evm on the big
benchmarks): that single, un-warmed run is reported with a note.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass

from hyperion.bench.engines.base import BatchOutcome, PreparedBatch

DEFAULT_MIN_TIME = 1.0
DEFAULT_SLOW_RUN_SECONDS = 20.0
DEFAULT_MAX_RUNS = 1_000


class InconsistentGas(ValueError):
    """An engine reported different gas for identical runs of the same workload."""


@dataclass(frozen=True)
class Timing:
    outcome: BatchOutcome
    median_seconds: float
    runs: int
    note: str | None = None

    @property
    def mgas_per_s(self) -> float:
        return self.outcome.gas_used / self.median_seconds / 1e6 if self.median_seconds > 0 else 0.0


def _timed_run(batch: PreparedBatch) -> tuple[BatchOutcome, float]:
    batch.reset()
    start = time.perf_counter()
    outcome = batch.execute()
    return outcome, time.perf_counter() - start


def measure(
    batch: PreparedBatch,
    *,
    min_time: float = DEFAULT_MIN_TIME,
    quick: bool = False,
    slow_run_seconds: float = DEFAULT_SLOW_RUN_SECONDS,
    max_runs: int = DEFAULT_MAX_RUNS,
) -> Timing:
    """Warm up once, then time runs until ``min_time`` seconds are spent; report the median.

    ``quick`` times a single run without warm-up (for tests and smoke checks).
    """
    gc.collect()
    first_outcome, first_seconds = _timed_run(batch)
    if quick:
        return Timing(first_outcome, first_seconds, 1, "quick: single run, no warm-up")
    if first_seconds > slow_run_seconds:
        return Timing(
            first_outcome,
            first_seconds,
            1,
            f"one run took {first_seconds:.1f} s > {slow_run_seconds:g} s: not repeated, no warm-up",
        )
    durations: list[float] = []
    gc.collect()
    while not durations or (sum(durations) < min_time and len(durations) < max_runs):
        outcome, seconds = _timed_run(batch)
        if outcome.gas_used != first_outcome.gas_used:
            raise InconsistentGas(
                f"gas differs between runs: {first_outcome.gas_used} then {outcome.gas_used}"
            )
        durations.append(seconds)
    return Timing(first_outcome, statistics.median(durations), len(durations))
