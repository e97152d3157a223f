"""py-evm adapter: the pure-Python reference EVM of the Ethereum Foundation.

Runs each transaction through py-evm's fork ``State.apply_transaction`` (the
same path its block import uses, minus receipts and block validation) and
counts gas the way py-evm's receipts do (``VM.finalize_gas_used``: refunds
capped, EIP-7623 floor on Prague).
"""

from __future__ import annotations

from typing import Any

from hyperion.bench import missing_peer
from hyperion.bench.engines.base import BatchOutcome, Engine, EngineError, PreparedBatch, check_fork
from hyperion.bench.workloads.model import Workload


def _fork_classes(fork: str) -> tuple[Any, Any]:
    if fork == "shanghai":
        from eth.vm.forks.shanghai import ShanghaiVM
        from eth.vm.forks.shanghai.blocks import ShanghaiBlockHeader

        return ShanghaiVM, ShanghaiBlockHeader
    if fork == "cancun":
        from eth.vm.forks.cancun import CancunVM
        from eth.vm.forks.cancun.blocks import CancunBlockHeader

        return CancunVM, CancunBlockHeader
    from eth.vm.forks.prague import PragueVM
    from eth.vm.forks.prague.blocks import PragueBlockHeader

    return PragueVM, PragueBlockHeader


class _PyEvmBatch(PreparedBatch):
    def __init__(self, workload: Workload, fork: str) -> None:
        from eth.db.atomic import AtomicDB
        from eth.vm.chain_context import ChainContext

        self._vm_class, header_class = _fork_classes(fork)
        block = workload.block
        header_fields: dict[str, Any] = dict(
            difficulty=0,
            block_number=block.number,
            gas_limit=block.gas_limit,
            timestamp=block.timestamp,
            coinbase=block.coinbase,
            mix_hash=block.prev_randao,
            base_fee_per_gas=block.base_fee,
        )
        if fork != "shanghai":
            header_fields["excess_blob_gas"] = 0
        self._db = AtomicDB()
        self._chain_context = ChainContext(block.chain_id)
        genesis_state = self._vm_class.build_state(
            self._db, header_class(**header_fields), self._chain_context
        )
        for address, account in workload.pre.items():
            genesis_state.set_balance(address, account.balance)
            genesis_state.set_nonce(address, account.nonce)
            genesis_state.set_code(address, account.code)
            for key, value in account.storage.items():
                genesis_state.set_storage(address, key, value)
        genesis_state.persist()
        self._header = header_class(**header_fields, state_root=genesis_state.state_root)

        builder = self._vm_class.get_transaction_builder()
        try:
            self._transactions = [builder.decode(tx.raw) for tx in workload.transactions]
        except Exception as error:  # py-evm raises assorted rlp/validation errors
            raise EngineError(f"py-evm cannot decode a transaction of {workload.name}: {error}") from error
        self._state = None

    def reset(self) -> None:
        self._state = self._vm_class.build_state(self._db, self._header, self._chain_context)

    def execute(self) -> BatchOutcome:
        from eth_utils import ValidationError

        state = self._state
        if state is None:
            raise EngineError("reset() must be called before execute()")
        self._state = None
        finalize_gas_used = self._vm_class.finalize_gas_used
        gas_used = 0
        reverted = 0
        for tx in self._transactions:
            state.lock_changes()
            try:
                computation = state.apply_transaction(tx)
            except ValidationError as error:
                raise EngineError(f"py-evm rejected a transaction: {error}") from error
            gas_used += finalize_gas_used(tx, computation)
            if computation.is_error:
                reverted += 1
        return BatchOutcome(gas_used=gas_used, reverted=reverted)


class PyEvmEngine(Engine):
    name = "py-evm"

    def unavailable_reason(self) -> str | None:
        try:
            import eth.vm.forks.cancun  # noqa: F401
        except ImportError as error:
            return missing_peer("py-evm", str(error))
        return None

    def prepare(self, workload: Workload, fork: str) -> PreparedBatch:
        return _PyEvmBatch(workload, check_fork(fork))
