"""Timing engines on one workload: warm-up, then interleaved rounds, CPU time, median.

Every engine's ``warm_up`` (for the compiled tier: compiling, untimed)
and first run are its warm-up. Then the engines take turns, one run each per round, the
order rotating from round to round, until each has spent ``min_time``
seconds and run at least ``MIN_RUNS`` times: a disturbance of the shared
machine falls on all engines alike instead of on whichever ran then.
Only ``PreparedBatch.execute`` is timed, in CPU time of this process
(``time.process_time``): waiting for a CPU while others run is not
counted. ``reset`` (rebuilding the pre-state) happens between runs, off
the clock; a garbage collection runs before the rounds. A first run
slower than ``slow_run_seconds`` is not repeated (py-evm on the big
benchmarks): that single run is reported with a note.
"""

from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable

from hyperion.bench.engines.base import BatchOutcome, PreparedBatch

DEFAULT_MIN_TIME = 1.0
DEFAULT_SLOW_RUN_SECONDS = 20.0
DEFAULT_MAX_RUNS = 1_000
MIN_RUNS = 3


class InconsistentGas(ValueError):
    """An engine reported different gas for identical runs of the same workload."""


@dataclass(frozen=True)
class Timing:
    outcome: BatchOutcome
    median_seconds: float  # CPU seconds per run
    runs: int
    note: str | None = None
    first_seconds: float | None = None  # the first run, after ``warm_up``

    @property
    def mgas_per_s(self) -> float:
        return self.outcome.gas_used / self.median_seconds / 1e6 if self.median_seconds > 0 else 0.0


def _timed_run(batch: PreparedBatch, clock: Callable[[], float]) -> tuple[BatchOutcome, float]:
    batch.reset()
    start = clock()
    outcome = batch.execute()
    return outcome, clock() - start


def measure_interleaved(
    batches: dict[str, PreparedBatch],
    *,
    min_time: float = DEFAULT_MIN_TIME,
    quick: bool = False,
    slow_run_seconds: float = DEFAULT_SLOW_RUN_SECONDS,
    max_runs: int = DEFAULT_MAX_RUNS,
    clock: Callable[[], float] = time.process_time,
) -> dict[str, Timing | Exception]:
    """Each engine's Timing, or the exception that stopped it (the others go on)."""
    results: dict[str, Timing | Exception] = {}
    firsts: dict[str, tuple[BatchOutcome, float]] = {}
    gc.collect()
    for name, batch in batches.items():
        try:
            if not quick:
                batch.warm_up()
            firsts[name] = _timed_run(batch, clock)
        except Exception as error:  # an engine bug must not stop the others
            results[name] = error
    if quick:
        for name, (outcome, seconds) in firsts.items():
            results[name] = Timing(outcome, seconds, 1, "quick: single run, no warm-up", seconds)
        return results
    running = []
    for name, (outcome, seconds) in firsts.items():
        if seconds > slow_run_seconds:
            results[name] = Timing(outcome, seconds, 1,
                                   f"one run took {seconds:.1f} s > {slow_run_seconds:g} s: not repeated, no warm-up",
                                   seconds)
        else:
            running.append(name)
    durations: dict[str, list[float]] = {name: [] for name in running}
    gc.collect()
    round_index = 0
    while running:
        order = running[round_index % len(running):] + running[:round_index % len(running)]
        round_index += 1
        for name in order:
            try:
                outcome, seconds = _timed_run(batches[name], clock)
                if outcome.gas_used != firsts[name][0].gas_used:
                    raise InconsistentGas(
                        f"gas differs between runs: {firsts[name][0].gas_used} then {outcome.gas_used}")
            except Exception as error:
                results[name] = error
                running.remove(name)
                continue
            durations[name].append(seconds)
        for name in list(running):
            spent = durations[name]
            if len(spent) >= max_runs or (len(spent) >= MIN_RUNS and sum(spent) >= min_time):
                running.remove(name)
    for name, spent in durations.items():
        if name not in results:
            outcome, first = firsts[name]
            results[name] = Timing(outcome, statistics.median(spent), len(spent), None, first)
    return results


def measure(batch: PreparedBatch, **options) -> Timing:
    """One engine alone (see ``measure_interleaved``); raises what stopped it."""
    result = measure_interleaved({"engine": batch}, **options)["engine"]
    if isinstance(result, Exception):
        raise result
    return result
