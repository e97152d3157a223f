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
from hyperion.execution.transaction import InvalidTransaction, TransactionResult, apply_transaction
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
    if recipient is not None and env.base_fee and result.gas_used and result.deposit_nonce is None:
        # (a deposit buys no gas at the base fee: nothing to route)
        state.set_balance(recipient, state.get_balance(recipient) + result.gas_used * env.base_fee)
    blob_price = env.blob_gas_price() if tx.type == 3 else 0
    record = ReceiptRecord(
        tx.type, 1 if result.success else 0, gas_used + result.gas_used, result.gas_used,
        tx.effective_gas_price(env.base_fee), result.contract_address, list(result.logs),
        result.blob_gas_used, blob_price, result.deposit_nonce,
        state.state_root() if options.intermediate_roots else None,
    )
    return record, result


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

__all__ = ["BlockExecution", "ExecutionOptions", "SEQUENTIAL", "SequentialExecutor", "TransactionExecutor",
           "TransactionRejected", "execute_transaction"]
