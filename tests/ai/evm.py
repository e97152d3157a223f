"""The EVM path of the AI precompiles, without a chain: signed transactions applied straight
through the state-transition function on a scratch ``MemoryState`` (one block environment),
with models installed in its ModelStore as if published at genesis."""

from __future__ import annotations

from typing import Iterable, Optional

from hyperion.ai.chainstore import install_model, with_ai_precompiles
from hyperion.artifacts import load_artifact
from hyperion.execution.transaction import apply_transaction
from hyperion.predeploys.plan import MODEL_STORE_ADDRESS
from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.primitives.transactions import FeeMarketTransaction
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import PRAGUE


class ScratchEvm:
    def __init__(self, funded_keys: Iterable[bytes], models: Iterable = (), chain_id: int = 133717) -> None:
        self.fork = with_ai_precompiles(PRAGUE)
        self.state = MemoryState()
        self.state.set_code(MODEL_STORE_ADDRESS, load_artifact("ModelStore")["runtime"])  # as predeployed
        self.state.set_nonce(MODEL_STORE_ADDRESS, 1)
        for model in models:
            install_model(self.state, MODEL_STORE_ADDRESS, model.encode())
        self.env = BlockEnv(fork=self.fork, chain_id=chain_id, number=1, timestamp=1_700_000_000,
                            gas_limit=60_000_000, base_fee=1, prev_randao=b"\x00" * 31 + b"\x01")
        for key in funded_keys:
            self.state.set_balance(private_key_to_address(key), 10**24)

    def sign(self, key: bytes, to: Optional[bytes], data: bytes, gas: int) -> FeeMarketTransaction:
        nonce = self.state.get_nonce(private_key_to_address(key))
        return FeeMarketTransaction(chain_id=self.env.chain_id, nonce=nonce, max_priority_fee_per_gas=1,
                                    max_fee_per_gas=2, gas=gas, to=to, value=0, data=data).signed(key)

    def apply(self, tx: FeeMarketTransaction):
        """The transaction's result (success, gas_used, output, logs)."""
        return apply_transaction(self.state, self.env, tx)

    def send(self, key: bytes, to: Optional[bytes], data: bytes, gas: int):
        return self.apply(self.sign(key, to, data, gas))
