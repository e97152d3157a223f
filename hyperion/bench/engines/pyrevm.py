"""pyrevm adapter: Python bindings to revm, the Rust EVM (a native-code baseline).

pyrevm (0.3.x) has no "apply a signed transaction" call: calls go through
``message_call`` and creations through ``deploy``, both running the full
transaction frame (intrinsic gas, refunds), and it keeps one journal open
across them: what a call loads or writes stays warm (EIP-2929), and a slot
written earlier keeps being priced as dirty, in every later call. The
same holds for storage put in with ``insert_account_storage`` beyond an
account's first slot, and ``commit()`` underflows the journal's depth and
breaks the next call, so no pre-state can make a later transaction start
clean (``tests/fuzz/pyrevm-journal-reproducer.json`` shows it:
``hyperion fuzz vm --replay FILE --pyrevm``). A batch of several
transactions therefore reports less gas on pyrevm than a block would; the
bench excludes such a workload from the pyrevm ratio and says why.
Single-transaction workloads are unaffected. The sender is not charged
for gas on calls and BASEFEE reads 0, which changes no workload's gas.
"""

from __future__ import annotations

from typing import Any

from hyperion.bench import missing_peer
from hyperion.bench.engines.base import BatchOutcome, Engine, EngineError, PreparedBatch, check_fork
from hyperion.bench.workloads.model import Workload

_SPEC_IDS = {"shanghai": "SHANGHAI", "cancun": "CANCUN", "prague": "PRAGUE"}

JOURNAL_NOTE = ("pyrevm keeps one journal across transactions (state touched by earlier ones stays warm "
                "and dirty), so its gas differs on this multi-transaction batch: excluded from the pyrevm ratio")


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


def new_evm(block, spec_id: str) -> Any:
    """A pyrevm EVM for one block context."""
    import pyrevm

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
    return pyrevm.EVM(env=env, gas_limit=block.gas_limit, spec_id=spec_id)


class _PyRevmBatch(PreparedBatch):
    def __init__(self, workload: Workload, fork: str) -> None:
        self._workload = workload
        self._spec_id = _SPEC_IDS[fork]
        self._accounts = [(_hex(address), account) for address, account in workload.pre.items()]
        self._calls = [
            (_hex(tx.sender), None if tx.to is None else _hex(tx.to), tx.data, tx.value, tx.gas_limit, tx.gas_price)
            for tx in workload.transactions
        ]
        self._evm: Any = None

    def reset(self) -> None:
        import pyrevm

        evm = new_evm(self._workload.block, self._spec_id)
        for address, account in self._accounts:
            evm.insert_account_info(
                address, pyrevm.AccountInfo(balance=account.balance, nonce=account.nonce, code=account.code))
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

    def unavailable_reason(self) -> str | None:
        try:
            import pyrevm  # noqa: F401
        except ImportError as error:
            return missing_peer("pyrevm", str(error))
        return None

    def prepare(self, workload: Workload, fork: str) -> PreparedBatch:
        return _PyRevmBatch(workload, check_fork(fork))
