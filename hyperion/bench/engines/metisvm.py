"""MetisVM adapter: Hyperion's own EVM behind the bench's engine interface.

The pre-state is loaded once into a ``MemoryState``; every run starts from a
``copy()`` of it (untimed) and pushes each decoded transaction through the
state-transition function ``apply_transaction`` (timed), exactly as block
import would, minus receipts and the state root. Transactions are decoded
afresh in every reset so that sender recovery (cached on a decoded
transaction) is paid inside the timed part, as py-evm pays it.
"""

from __future__ import annotations

from typing import Any

from hyperion.bench.engines.base import BatchOutcome, Engine, EngineError, PreparedBatch, check_fork
from hyperion.bench.workloads.model import Workload


def _block_env_class(transaction_module: Any) -> Any:
    """The BlockEnv class ``apply_transaction`` expects (it reads attributes only)."""
    block_env = getattr(transaction_module, "BlockEnv", None)
    if block_env is None:
        from hyperion.execution.environment import BlockEnv as block_env
    return block_env


class _MetisBatch(PreparedBatch):
    def __init__(self, workload: Workload, fork_name: str) -> None:
        from hyperion.execution import transaction as transaction_module
        from hyperion.primitives.transactions import decode_transaction
        from hyperion.state.memory import MemoryState
        from hyperion.vm.forks import get_fork

        self._apply_transaction = transaction_module.apply_transaction
        self._invalid = getattr(transaction_module, "InvalidTransaction", ValueError)
        block = workload.block
        self._env = _block_env_class(transaction_module)(
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
        pre_state = MemoryState()
        for address, account in workload.pre.items():
            pre_state.set_account(
                address,
                nonce=account.nonce,
                balance=account.balance,
                code=account.code,
                storage=dict(account.storage),
            )
        self._pre_state = pre_state
        self._decode_transaction = decode_transaction
        self._raw_transactions = [tx.raw for tx in workload.transactions]
        try:
            self._transactions = [decode_transaction(raw) for raw in self._raw_transactions]
        except ValueError as error:
            raise EngineError(f"MetisVM cannot decode a transaction of {workload.name}: {error}") from error
        self._state: Any = None

    def reset(self) -> None:
        decode = self._decode_transaction
        self._transactions = [decode(raw) for raw in self._raw_transactions]
        self._state = self._pre_state.copy()

    def execute(self) -> BatchOutcome:
        state = self._state
        if state is None:
            raise EngineError("reset() must be called before execute()")
        self._state = None
        apply_transaction = self._apply_transaction
        env = self._env
        gas_used = 0
        reverted = 0
        for tx in self._transactions:
            try:
                result = apply_transaction(state, env, tx)
            except self._invalid as error:
                raise EngineError(f"MetisVM rejected a transaction: {error}") from error
            gas_used += result.gas_used
            if not result.success:
                reverted += 1
        return BatchOutcome(gas_used=gas_used, reverted=reverted)


class MetisVmEngine(Engine):
    name = "metisvm"

    def unavailable_reason(self) -> str | None:
        try:
            import hyperion.execution.transaction  # noqa: F401
            import hyperion.primitives.transactions  # noqa: F401
            import hyperion.state.memory  # noqa: F401
        except ImportError as error:
            return f"MetisVM is not importable ({error})"
        return None

    def prepare(self, workload: Workload, fork: str) -> PreparedBatch:
        return _MetisBatch(workload, check_fork(fork))
