"""MetisVM adapters: Hyperion's own EVM, once per tier, behind the bench's engine interface.

``interpreter`` runs every code in the interpreter; ``compiled`` runs every
code compiled (the compiled tier with threshold 0). The pre-state is loaded
once into a ``MemoryState``; every run starts from a ``copy()`` of it
(untimed) and pushes each decoded transaction through the state-transition
function ``apply_transaction`` (timed), as block import does, minus
receipts and the state root. Senders are recovered when the batch is
prepared (the other engines do not pay signature recovery in the timed
part either). The compiled engine's first run compiles what the workload
reaches, from an empty code cache: its time is reported as the compile
time.
"""

from __future__ import annotations

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
        self._first = True
        self.compile_seconds: float | None = None

    def reset(self) -> None:
        self._state = self._pre_state.copy()

    def execute(self) -> BatchOutcome:
        state = self._state
        if state is None:
            raise EngineError("reset() must be called before execute()")
        self._state = None
        tiers = self._tiers
        saved = tiers.enabled, tiers.threshold
        tiers.enabled, tiers.threshold = self._compiled, 0
        if self._compiled and self._first:
            from hyperion.vm.compiler.program import Program

            tiers.clear()  # compile from scratch: the first run's compile time is reported
            compiled_before = Program.compile_seconds_total
        apply_transaction = self._apply_transaction
        env = self._env
        gas_used = 0
        reverted = 0
        try:
            for tx in self._transactions:
                try:
                    result = apply_transaction(state, env, tx)
                except self._invalid as error:
                    raise EngineError(f"MetisVM rejected a transaction: {error}") from error
                gas_used += result.gas_used
                if not result.success:
                    reverted += 1
        finally:
            tiers.enabled, tiers.threshold = saved
        if self._compiled and self._first:
            self.compile_seconds = Program.compile_seconds_total - compiled_before
        self._first = False
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
