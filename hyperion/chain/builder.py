"""Block building: system calls, transactions in fee order, roots, bloom, header.

``BlockBuilder`` executes on a pending state layered on the parent block:
first the pre-block system calls (EIP-4788 beacon root, EIP-2935 parent
hash), then each transaction offered with ``add`` (an invalid one raises
``InvalidTransaction`` and leaves the state untouched), and ``finish``
seals the header with the transactions root, receipts root, logs bloom,
gas and blob gas used and the state root.
"""

from __future__ import annotations

from typing import Callable, Optional

from hyperion.chain.blocks import (
    EMPTY_OMMERS_HASH,
    EMPTY_REQUESTS_HASH,
    EMPTY_TRIE_ROOT,
    ZERO_HASH,
    Block,
    Header,
)
from hyperion.chain.fees import blob_base_fee, next_base_fee, next_excess_blob_gas
from hyperion.chain.genesis import (
    BEACON_ROOTS_ADDRESS,
    HISTORY_STORAGE_ADDRESS,
    SYSTEM_ADDRESS,
)
from hyperion.chain.store import ReceiptRecord
from hyperion.execution.transaction import InvalidTransaction, apply_transaction
from hyperion.primitives.bloom import combine_blooms
from hyperion.primitives.keccak import keccak256
from hyperion.trie import ordered_trie_root
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import Fork
from hyperion.vm.frame import TxContext
from hyperion.vm.instructions.system import DELEGATION_PREFIX
from hyperion.vm.interpreter import execute_call

SYSTEM_CALL_GAS = 30_000_000


def system_call(state, env: BlockEnv, contract: bytes, data: bytes) -> None:
    """Call a system contract as SYSTEM_ADDRESS, uncharged and outside any transaction (EIP-4788 rules)."""
    code = state.get_code(contract)
    if not code:
        return
    state.begin_transaction()
    ctx = TxContext(state, env, env.fork, SYSTEM_ADDRESS, 0)
    execute_call(ctx, SYSTEM_ADDRESS, contract, contract, 0, data, SYSTEM_CALL_GAS, 0, False, False, code)
    state.end_transaction()


def prev_randao_for(parent_hash: bytes, number: int) -> bytes:
    """A deterministic stand-in for the beacon chain's randomness: varies per block."""
    return keccak256(parent_hash + number.to_bytes(8, "big"))


class BlockBuilder:
    """Builds one block on top of ``parent`` by executing transactions on ``state``."""

    def __init__(self, state, parent: Header, *, fork: Fork, chain_id: int, timestamp: int, coinbase: bytes,
                 gas_limit: Optional[int] = None, extra_data: bytes = b"",
                 block_hash: Callable[[int], Optional[bytes]] = lambda n: None,
                 base_fee: Optional[int] = None, beacon_root: bytes = ZERO_HASH,
                 prev_randao: Optional[bytes] = None, allow_code_senders: bool = False,
                 base_fee_recipient: Optional[bytes] = None):
        self.state = state
        # Chain rule of this network: the base fee is credited here instead of burned.
        self.base_fee_recipient = base_fee_recipient
        self.parent = parent
        self.fork = fork
        number = parent.number + 1
        if base_fee is None:
            base_fee = next_base_fee(parent.base_fee or 0, parent.gas_used, parent.gas_limit)
        excess_blob_gas = next_excess_blob_gas(parent.excess_blob_gas, parent.blob_gas_used, fork) if fork.has_blobs else 0
        self.extra_data = extra_data
        self.allow_code_senders = allow_code_senders
        self.beacon_root = beacon_root
        if prev_randao is None:
            prev_randao = prev_randao_for(parent.hash, number)
        self.env = BlockEnv(
            fork=fork, chain_id=chain_id, coinbase=coinbase, number=number, timestamp=timestamp,
            gas_limit=gas_limit if gas_limit is not None else parent.gas_limit, base_fee=base_fee,
            prev_randao=prev_randao, excess_blob_gas=excess_blob_gas,
            parent_beacon_block_root=beacon_root if fork.has_beacon_root else None, block_hash=block_hash,
        )
        self.transactions: list = []
        self.records: list[ReceiptRecord] = []
        self.results: list = []
        self.gas_used = 0
        self.blob_gas_used = 0
        self._pre_block()

    def _pre_block(self) -> None:
        env = self.env
        if self.fork.has_beacon_root:
            system_call(self.state, env, BEACON_ROOTS_ADDRESS, self.beacon_root)
        if self.fork.has_history_storage:
            system_call(self.state, env, HISTORY_STORAGE_ADDRESS, self.parent.hash)

    @property
    def gas_remaining(self) -> int:
        return self.env.gas_limit - self.gas_used

    def add(self, tx, tracer=None) -> ReceiptRecord:
        """Execute ``tx``; raises InvalidTransaction (state untouched) when it cannot be included."""
        env = self.env
        state = self.state
        hidden_code = None
        if self.allow_code_senders:
            # like anvil (EIP-3607 off): a dev chain lets impersonated contracts send. Their code is
            # hidden while the transaction runs (a call back into the sender sees no code) and restored after
            code = state.get_code(tx.sender)
            if code and not code.startswith(DELEGATION_PREFIX):
                hidden_code = code
                state.set_code(tx.sender, b"")
        try:
            result = apply_transaction(state, env, tx, tracer=tracer, block_gas_used=self.gas_used,
                                       block_blob_gas_used=self.blob_gas_used)
        finally:
            if hidden_code is not None:
                state.set_code(tx.sender, hidden_code)
        self.gas_used += result.gas_used
        self.blob_gas_used += result.blob_gas_used
        recipient = self.base_fee_recipient
        if recipient is not None and env.base_fee and result.gas_used and result.deposit_nonce is None:
            state.set_balance(recipient, state.get_balance(recipient) + result.gas_used * env.base_fee)
        record = ReceiptRecord(
            tx.type, 1 if result.success else 0, self.gas_used, result.gas_used,
            tx.effective_gas_price(env.base_fee), result.contract_address, list(result.logs),
            result.blob_gas_used,
            blob_base_fee(env.excess_blob_gas, self.fork) if tx.type == 3 else 0,
            result.deposit_nonce,
        )
        self.transactions.append(tx)
        self.records.append(record)
        self.results.append(result)
        return record

    def finish(self) -> Block:
        """Seal the header over everything added so far."""
        env = self.env
        fork = self.fork
        receipts_root = ordered_trie_root([
            _consensus_receipt(r) for r in self.records
        ])
        header = Header(
            parent_hash=self.parent.hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=env.coinbase,
            state_root=self.state.state_root(),
            transactions_root=ordered_trie_root([tx.encode() for tx in self.transactions]),
            receipts_root=receipts_root,
            logs_bloom=combine_blooms(r.bloom for r in self.records),
            difficulty=0, number=env.number, gas_limit=env.gas_limit, gas_used=self.gas_used,
            timestamp=env.timestamp, extra_data=self.extra_data, prev_randao=env.prev_randao, nonce=b"\x00" * 8,
            base_fee=env.base_fee, withdrawals_root=EMPTY_TRIE_ROOT,
            blob_gas_used=self.blob_gas_used if fork.has_blobs else None,
            excess_blob_gas=env.excess_blob_gas if fork.has_blobs else None,
            parent_beacon_block_root=self.beacon_root if fork.has_beacon_root else None,
            requests_hash=EMPTY_REQUESTS_HASH if fork.has_history_storage else None,
        )
        return Block(header, list(self.transactions), [])


def _consensus_receipt(record: ReceiptRecord) -> bytes:
    from hyperion.primitives.receipts import Receipt

    receipt = Receipt(record.tx_type, bool(record.status), record.cumulative_gas_used, tuple(record.logs),
                      record.deposit_nonce)
    object.__setattr__(receipt, "_bloom", record.bloom)
    return receipt.encode()


__all__ = ["BlockBuilder", "InvalidTransaction", "system_call", "SYSTEM_CALL_GAS"]
