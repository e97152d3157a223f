"""Executing a block's transactions: the replaceable step inside block import.

``import_block`` hands a block's transactions to a ``TransactionExecutor``.
The default, ``SequentialExecutor``, runs them one after the other on the
block's state. A parallel executor (Block-STM) plugs in by implementing the
same ``execute`` method: it must leave the state and return the receipts
exactly as the sequential one would, and raise ``TransactionRejected`` for
the first transaction (in block order) that cannot be included.

``execute_transaction`` is the one-transaction step both the executor and
the node's block builder use, so building and importing cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence

from hyperion.chain.store import ReceiptRecord
from hyperion.execution.parallel import BlockReport, ParallelEngine, TransactionNotIncludable
from hyperion.execution.transaction import InvalidTransaction, TransactionResult, apply_transaction, base_fee_credit
from hyperion.vm.environment import BlockEnv


class TransactionRejected(Exception):
    """Transaction ``index`` of the block cannot be included (``reason`` says why, in geth's words)."""

    def __init__(self, index: int, tx_hash: bytes, reason: str) -> None:
        super().__init__(f"transaction {index} (0x{tx_hash.hex()}): {reason}")
        self.index = index
        self.tx_hash = tx_hash
        self.reason = reason


@dataclass
class BlockExecution:
    """What executing a block's transactions produced."""

    receipts: list[ReceiptRecord] = field(default_factory=list)
    gas_used: int = 0
    blob_gas_used: int = 0

    @property
    def logs(self) -> list:
        return [log for receipt in self.receipts for log in receipt.logs]


@dataclass(frozen=True)
class ExecutionOptions:
    """Chain rules that shape transaction execution beyond the EVM fork.

    ``intermediate_roots``: pre-Byzantium receipts carry the state root after
    each transaction. ``base_fee_recipient``: where the EIP-1559 base fee
    goes (None burns it, as Ethereum does; Hyperion's dev chain credits its
    fee vault).
    """

    intermediate_roots: bool = False
    base_fee_recipient: Optional[bytes] = None


def execute_transaction(state, env: BlockEnv, tx, *, gas_used: int, blob_gas_used: int,
                        options: ExecutionOptions = ExecutionOptions(),
                        tracer=None) -> tuple[ReceiptRecord, TransactionResult]:
    """Apply one transaction after ``gas_used``/``blob_gas_used`` of the block; its receipt and result.

    Raises ``InvalidTransaction`` (state untouched) when it cannot be included.
    """
    result = apply_transaction(state, env, tx, tracer=tracer, block_gas_used=gas_used,
                               block_blob_gas_used=blob_gas_used)
    recipient = options.base_fee_recipient
    if recipient is not None:
        credit = base_fee_credit(env, result)
        if credit:
            state.add_balance(recipient, credit)
    record = receipt_record(env, tx, result, gas_used + result.gas_used,
                            state.state_root() if options.intermediate_roots else None)
    return record, result


def receipt_record(env: BlockEnv, tx, result: TransactionResult, cumulative_gas_used: int,
                   post_state: Optional[bytes] = None) -> ReceiptRecord:
    """The receipt of ``tx`` (its ``result``) after ``cumulative_gas_used`` of the block."""
    blob_price = env.blob_gas_price() if tx.type == 3 else 0
    return ReceiptRecord(
        tx.type, 1 if result.success else 0, cumulative_gas_used, result.gas_used,
        tx.effective_gas_price(env.base_fee), result.contract_address, list(result.logs),
        result.blob_gas_used, blob_price, result.deposit_nonce, post_state,
    )


class TransactionExecutor(Protocol):
    """The strategy that runs a block's transactions (see the module docstring)."""

    def execute(self, state, env: BlockEnv, transactions: Sequence,
                options: ExecutionOptions) -> BlockExecution: ...


class SequentialExecutor:
    """Runs the transactions in block order on the block's state."""

    def execute(self, state, env: BlockEnv, transactions: Sequence,
                options: ExecutionOptions) -> BlockExecution:
        execution = BlockExecution()
        for index, tx in enumerate(transactions):
            try:
                record, _ = execute_transaction(state, env, tx, gas_used=execution.gas_used,
                                                blob_gas_used=execution.blob_gas_used, options=options)
            except InvalidTransaction as exc:
                raise TransactionRejected(index, tx.hash, str(exc)) from None
            execution.receipts.append(record)
            execution.gas_used = record.cumulative_gas_used
            execution.blob_gas_used += record.blob_gas_used
        return execution


SEQUENTIAL = SequentialExecutor()


class ParallelExecutor:
    """Runs a block's transactions on ``workers`` processes (Block-STM, ``execution.parallel``).

    Results are exactly the sequential ones; ``last_report`` says whether the
    last block ran in parallel or why it ran sequentially.
    """

    def __init__(self, workers: int, **engine_options) -> None:
        self.engine = ParallelEngine(workers, **engine_options)

    @property
    def last_report(self):
        return self.engine.last_report

    def close(self) -> None:
        self.engine.close()

    def execute(self, state, env: BlockEnv, transactions: Sequence,
                options: ExecutionOptions) -> BlockExecution:
        if options.intermediate_roots:  # a state root per receipt: nothing to gain in parallel
            self.engine.last_report = BlockReport("sequential", "pre-Byzantium receipts carry a state root per "
                                                  "transaction", transactions=len(transactions))
            return SEQUENTIAL.execute(state, env, transactions, options)
        try:
            outcome = self.engine.run(state, env, transactions, base_fee_recipient=options.base_fee_recipient)
        except TransactionNotIncludable as exc:
            raise TransactionRejected(exc.index, transactions[exc.index].hash, exc.reason) from None
        execution = BlockExecution(gas_used=outcome.gas_used, blob_gas_used=outcome.blob_gas_used)
        cumulative = 0
        for tx, result in zip(transactions, outcome.results):
            cumulative += result.gas_used
            execution.receipts.append(receipt_record(env, tx, result, cumulative))
        return execution

    def execute_candidates(self, state, env: BlockEnv, transactions: Sequence, options: ExecutionOptions, *,
                           gas_used: int = 0, blob_gas_used: int = 0) -> tuple[list, dict[int, Optional[str]]]:
        """Block building: run candidate ``transactions`` in order after ``gas_used``/``blob_gas_used``
        of the block, leaving out those that cannot be included. Returns the results (None where
        left out) and, by index, why each was left out (the reason it is invalid, or None when it
        did not fit in the gas left)."""
        outcome = self.engine.run(state, env, transactions, base_fee_recipient=options.base_fee_recipient,
                                  skip_invalid=True, gas_used=gas_used, blob_gas_used=blob_gas_used)
        return outcome.results, outcome.skipped


def default_executor(workers: Optional[int] = None) -> "TransactionExecutor":
    """Sequential for one worker (or one core), parallel otherwise; ``None`` = the machine's cores.

    A daemonic process (a multiprocessing pool's) cannot start worker processes: sequential there.
    """
    import multiprocessing
    import os

    count = (os.cpu_count() or 1) if workers is None else workers
    if count < 2 or multiprocessing.current_process().daemon:
        return SEQUENTIAL
    return ParallelExecutor(count)


__all__ = ["BlockExecution", "ExecutionOptions", "ParallelExecutor", "SEQUENTIAL", "SequentialExecutor",
           "TransactionExecutor", "TransactionRejected", "default_executor", "execute_transaction", "receipt_record"]
