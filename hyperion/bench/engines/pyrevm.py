"""pyrevm adapter: Python bindings to revm, the Rust EVM (a native-code baseline).

pyrevm (0.3.x) has no "apply a signed transaction" call. Calls go through
``message_call`` and creations through ``deploy``; both run the full
transaction frame (intrinsic gas, refunds) on one journal that pyrevm never
finalises between calls. Consequences, stated in the output rather than
hidden: the sender is not charged for gas on calls, BASEFEE reads 0, and in
a multi-transaction batch accounts and slots touched by an earlier
transaction stay warm (EIP-2929) for later ones, so pyrevm may report less
gas than the other engines on such batches. Single-transaction workloads
are unaffected.
"""

from __future__ import annotations

from typing import Any

from hyperion.bench import missing_peer
from hyperion.bench.engines.base import BatchOutcome, Engine, EngineError, PreparedBatch, check_fork
from hyperion.bench.workloads.model import Workload

_SPEC_IDS = {"shanghai": "SHANGHAI", "cancun": "CANCUN", "prague": "PRAGUE"}


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


class _PyRevmBatch(PreparedBatch):
    def __init__(self, workload: Workload, fork: str) -> None:
        self._workload = workload
        self._spec_id = _SPEC_IDS[fork]
        self._accounts = [
            (_hex(address), account) for address, account in workload.pre.items()
        ]
        self._calls = [
            (
                _hex(tx.sender),
                None if tx.to is None else _hex(tx.to),
                tx.data,
                tx.value,
                tx.gas_limit,
                tx.gas_price,
            )
            for tx in workload.transactions
        ]
        self._evm: Any = None

    def reset(self) -> None:
        import pyrevm

        block = self._workload.block
        env = pyrevm.Env(
            cfg=pyrevm.CfgEnv(chain_id=block.chain_id),
            block=pyrevm.BlockEnv(
                number=block.number,
                coinbase=_hex(block.coinbase),
                timestamp=block.timestamp,
                difficulty=0,
                prevrandao=block.prev_randao,
                basefee=block.base_fee,
                gas_limit=block.gas_limit,
                excess_blob_gas=0,
            ),
        )
        evm = pyrevm.EVM(env=env, gas_limit=block.gas_limit, spec_id=self._spec_id)
        for address, account in self._accounts:
            evm.insert_account_info(
                address,
                pyrevm.AccountInfo(balance=account.balance, nonce=account.nonce, code=account.code),
            )
            for key, value in account.storage.items():
                evm.insert_account_storage(address, key, value)
        self._evm = evm

    def execute(self) -> BatchOutcome:
        evm = self._evm
        if evm is None:
            raise EngineError("reset() must be called before execute()")
        self._evm = None
        gas_used = 0
        reverted = 0
        for sender, to, data, value, gas, gas_price in self._calls:
            try:
                if to is None:
                    evm.deploy(sender, data, value, gas, gas_price)
                else:
                    evm.message_call(sender, to, data, value, gas, gas_price)
            except RuntimeError as error:
                # pyrevm raises on revert/halt too; a missing result means the
                # transaction was rejected outright.
                if evm.result is None:
                    raise EngineError(f"pyrevm rejected a transaction: {error}") from error
                reverted += 1
            gas_used += evm.result.gas_used
        return BatchOutcome(gas_used=gas_used, reverted=reverted)


class PyRevmEngine(Engine):
    name = "pyrevm"
    note = (
        "pyrevm keeps one open journal across a batch: later transactions see warm "
        "accounts/slots, so multi-transaction gas can be lower than on other engines"
    )

    def unavailable_reason(self) -> str | None:
        try:
            import pyrevm  # noqa: F401
        except ImportError as error:
            return missing_peer("pyrevm", str(error))
        return None

    def prepare(self, workload: Workload, fork: str) -> PreparedBatch:
        return _PyRevmBatch(workload, check_fork(fork))
