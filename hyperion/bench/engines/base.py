"""The one small interface every benchmarked EVM sits behind.

An ``Engine`` turns a workload into a ``PreparedBatch``. The bench calls
``reset()`` (untimed: rebuild the pre-state) and then ``execute()`` (timed:
apply every transaction of the batch in order), so only transaction
execution is measured, never state setup or signing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from hyperion.bench.workloads.model import Workload

SUPPORTED_FORKS = ("shanghai", "cancun", "prague")


class EngineError(ValueError):
    """An engine rejected a workload or a transaction of it (invalid, not merely reverted)."""


@dataclass(frozen=True)
class BatchOutcome:
    """What one execution of a batch produced: total gas and how many transactions reverted."""

    gas_used: int
    reverted: int = 0


class PreparedBatch(ABC):
    @abstractmethod
    def reset(self) -> None:
        """Restore the workload's pre-state so the next ``execute`` starts afresh."""

    @abstractmethod
    def execute(self) -> BatchOutcome:
        """Apply the whole transaction batch; this is the timed part."""

    def warm_up(self) -> None:
        """Untimed preparation before the first run (MetisVM's compiled tier compiles here)."""


class Engine(ABC):
    #: the name used on the command line and in the JSON output
    name: str = ""
    #: a caveat printed under the table (e.g. a semantic difference of the engine)
    note: str | None = None

    @abstractmethod
    def unavailable_reason(self) -> str | None:
        """None when the engine can run here; otherwise why not (e.g. package missing)."""

    @abstractmethod
    def prepare(self, workload: Workload, fork: str) -> PreparedBatch:
        """Load the workload; ``fork`` is one of ``SUPPORTED_FORKS``."""


def check_fork(fork: str) -> str:
    """Normalise a fork name, rejecting forks the bench cannot run on every engine."""
    name = fork.lower()
    if name not in SUPPORTED_FORKS:
        raise EngineError(f"unsupported fork {fork!r}; choose one of {', '.join(SUPPORTED_FORKS)}")
    return name
