"""MetisVM adapters: Hyperion's own EVM, once per tier, behind the bench's engine interface.

``interpreter`` runs every code in the interpreter; ``compiled`` runs every
code compiled (the compiled tier with threshold 0). The pre-state is loaded
once into a ``MemoryState``; every run starts from a ``copy()`` of it
(untimed) and pushes each decoded transaction through the state-transition
function ``apply_transaction`` (timed), as block import does, minus
receipts and the state root. Senders are recovered when the batch is
prepared (the other engines do not pay signature recovery in the timed
part either). The compiled engine's warm-up compiles what the workload
reaches, from an empty code cache, a bounded slice per transaction, over
as many runs as that takes: their compile time is reported, in all and
the most one transaction spent.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hyperion.bench.engines.base import BatchOutcome, Engine, EngineError, PreparedBatch, check_fork
from hyperion.bench.workloads.model import Workload


def block_env(workload: Workload, fork_name: str) -> Any:
    from hyperion.execution.environment import BlockEnv
    from hyperion.vm.forks import get_fork

    block = workload.block
    return BlockEnv(
        fork=get_fork(fork_name),
        chain_id=block.chain_id,
        coinbase=block.coinbase,
        number=block.number,
        timestamp=block.timestamp,
        gas_limit=block.gas_limit,
        base_fee=block.base_fee,
        prev_randao=block.prev_randao,
        difficulty=0,
        excess_blob_gas=0,
    )


def load_pre_state(workload: Workload, state: Any = None) -> Any:
    from hyperion.state.memory import MemoryState

    state = MemoryState() if state is None else state
    for address, account in workload.pre.items():
        state.set_account(address, nonce=account.nonce, balance=account.balance, code=account.code,
                          storage=dict(account.storage))
    return state


def decode_all(workload: Workload) -> list:
    """The workload's transactions, decoded, with their senders recovered (cached on each)."""
    from hyperion.primitives.transactions import decode_transaction

    try:
        transactions = [decode_transaction(tx.raw) for tx in workload.transactions]
        for tx in transactions:
            tx.sender  # noqa: B018 - recover now, outside the timed part
    except ValueError as error:
        raise EngineError(f"MetisVM cannot decode a transaction of {workload.name}: {error}") from error
    return transactions


WARM_UP_RUNS = 500  # at most, until a run compiles nothing


class _MetisBatch(PreparedBatch):
    def __init__(self, workload: Workload, fork_name: str, compiled: bool) -> None:
        from hyperion.execution import transaction as transaction_module
        from hyperion.vm.compiler.tiering import TIERS

        self._apply_transaction = transaction_module.apply_transaction
        self._invalid = transaction_module.InvalidTransaction
        self._env = block_env(workload, fork_name)
        self._pre_state = load_pre_state(workload)
        self._transactions = decode_all(workload)
        self._state: Any = None
        self._tiers = TIERS
        self._compiled = compiled
        self.compile_seconds: float | None = None  # all the compiling the warm-up did
        self.compile_seconds_per_tx: float | None = None  # the most one transaction spent compiling

    def reset(self) -> None:
        self._state = self._pre_state.copy()

    def execute(self) -> BatchOutcome:
        state = self._state
        if state is None:
            raise EngineError("reset() must be called before execute()")
        self._state = None
        with self._tier():
            if self._compiled and self.compile_seconds is None:  # --quick: no warm-up
                self._tiers.clear()
                return self._run(state, track_compiling=True)
            return self._run(state)

    def warm_up(self) -> None:
        """For the compiled tier: one run from an empty code cache under the default compile budget
        per transaction (a transaction compiles a bounded slice, see compiler/program.py), then
        runs without that budget until one compiles nothing more, so that the timed runs are fully
        compiled. Records the compile time in all and the most one transaction of the first run
        spent."""
        if not self._compiled:
            return
        from hyperion.vm.compiler.program import Program
        from hyperion.vm.compiler.tiering import UNLIMITED

        with self._tier():
            self._tiers.clear()
            self._run(self._pre_state.copy(), track_compiling=True)
            per_tx = self.compile_seconds_per_tx
            budget = Program.tx_budget
            Program.tx_budget = UNLIMITED
            try:
                for _ in range(WARM_UP_RUNS):
                    before = self.compile_seconds
                    self._run(self._pre_state.copy(), track_compiling=True)
                    if self.compile_seconds == before:
                        break
            finally:
                Program.tx_budget = budget
            self.compile_seconds_per_tx = per_tx

    @contextlib.contextmanager
    def _tier(self):
        tiers = self._tiers
        saved = tiers.enabled, tiers.threshold
        tiers.enabled, tiers.threshold = self._compiled, 0
        try:
            yield
        finally:
            tiers.enabled, tiers.threshold = saved

    def _run(self, state, track_compiling: bool = False) -> BatchOutcome:
        """Apply the batch to ``state``; ``track_compiling``: add each transaction's compile time
        to ``compile_seconds`` and keep the largest in ``compile_seconds_per_tx``."""
        apply_transaction = self._apply_transaction
        env = self._env
        gas_used = 0
        reverted = 0
        if track_compiling:
            from hyperion.vm.compiler.program import Program
        for tx in self._transactions:
            if track_compiling:
                before = Program.compile_seconds_total
            try:
                result = apply_transaction(state, env, tx)
            except self._invalid as error:
                raise EngineError(f"MetisVM rejected a transaction: {error}") from error
            if track_compiling:
                spent = Program.compile_seconds_total - before
                self.compile_seconds = (self.compile_seconds or 0.0) + spent
                self.compile_seconds_per_tx = max(self.compile_seconds_per_tx or 0.0, spent)
            gas_used += result.gas_used
            if not result.success:
                reverted += 1
        return BatchOutcome(gas_used=gas_used, reverted=reverted)


class MetisVmEngine(Engine):
    name = "compiled"
    compiled = True

    def unavailable_reason(self) -> str | None:
        try:
            import hyperion.execution.transaction  # noqa: F401
            import hyperion.state.memory  # noqa: F401
        except ImportError as error:
            return f"MetisVM is not importable ({error})"
        return None

    def prepare(self, workload: Workload, fork: str) -> PreparedBatch:
        return _MetisBatch(workload, check_fork(fork), self.compiled)


class MetisVmInterpreterEngine(MetisVmEngine):
    name = "interpreter"
    compiled = False
