"""MPEF: parallel block execution (Block-STM) with results identical to sequential execution.

``ParallelEngine(workers).run(state, env, transactions)`` is the entry point;
see ``engine`` (coordinator), ``worker`` (speculative runs in worker
processes) and ``recording`` (what a run read and wrote, lazy credits).
"""

from hyperion.execution.parallel.engine import (
    BlockOutcome,
    BlockReport,
    ParallelEngine,
    TransactionNotIncludable,
)

__all__ = ["BlockOutcome", "BlockReport", "ParallelEngine", "TransactionNotIncludable"]
