"""Block building: system calls, transactions in fee order, withdrawals, requests, roots, header.

``BlockBuilder`` executes on a pending state layered on the parent block:
first the pre-block system calls (EIP-4788 beacon root, EIP-2935 parent
hash), then each transaction offered with ``add`` (an invalid one raises
``InvalidTransaction`` and leaves the state untouched), and ``finish``
applies the withdrawals and collects the EIP-7685 requests, then seals the
header with the transactions, receipts and withdrawals roots, logs bloom,
gas and blob gas used, the requests hash and the state root.

Every step is the one block import runs (``chain.system``,
``chain.executor``, ``chain.consensus``), so a block the node builds is a
block ``import_block`` accepts with the same roots.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

from hyperion.chain import system
from hyperion.chain.blocks import EMPTY_OMMERS_HASH, ZERO_HASH, Block, Header, Withdrawal
from hyperion.chain.consensus import BlockRules, block_rules, excess_blob_gas_after, expected_base_fee
from hyperion.chain.executor import ExecutionOptions, execute_transaction, receipt_record
from hyperion.chain.schedule import ForkSchedule
from hyperion.chain.store import ReceiptRecord
from hyperion.execution.transaction import InvalidTransaction
from hyperion.primitives import rlp
from hyperion.primitives.bloom import combine_blooms
from hyperion.primitives.keccak import keccak256
from hyperion.trie import ordered_trie_root
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import Fork
from hyperion.vm.instructions.system import DELEGATION_PREFIX


def prev_randao_for(parent_hash: bytes, number: int) -> bytes:
    """A deterministic stand-in for the beacon chain's randomness: varies per block."""
    return keccak256(parent_hash + number.to_bytes(8, "big"))


class BlockBuilder:
    """Builds one proof-of-stake block on top of ``parent`` by executing transactions on ``state``.

    The block's rules come from ``rules`` or, for a single-fork chain, from
    ``fork``. ``base_fee`` and ``prev_randao`` override what the rules and
    the parent give (tracing re-executes recorded blocks with their own).
    """

    def __init__(self, state, parent: Header, *, fork: Optional[Fork] = None, chain_id: int, timestamp: int,
                 coinbase: bytes, rules: Optional[BlockRules] = None, gas_limit: Optional[int] = None,
                 extra_data: bytes = b"", block_hash: Callable[[int], Optional[bytes]] = lambda n: None,
                 base_fee: Optional[int] = None, beacon_root: bytes = ZERO_HASH,
                 prev_randao: Optional[bytes] = None, allow_code_senders: bool = False,
                 base_fee_recipient: Optional[bytes] = None,
                 deposit_contract: Optional[bytes] = system.MAINNET_DEPOSIT_CONTRACT):
        number = parent.number + 1
        if rules is None:
            if fork is None:
                raise TypeError("BlockBuilder needs the block's rules or its fork")
            rules = block_rules(ForkSchedule.single(fork), number, timestamp, merged=True)
        self.rules = rules
        self.fork = fork = rules.fork
        self.state = state
        self.parent = parent
        self.options = ExecutionOptions(intermediate_roots=not rules.byzantium, base_fee_recipient=base_fee_recipient)
        self.deposit_contract = deposit_contract
        if base_fee is None:
            base_fee = expected_base_fee(parent, rules) or 0
        excess_blob_gas = excess_blob_gas_after(parent, fork) if rules.cancun else 0
        self.extra_data = extra_data
        self.allow_code_senders = allow_code_senders
        self.beacon_root = beacon_root
        if prev_randao is None:
            prev_randao = prev_randao_for(parent.hash, number)
        self.env = BlockEnv(
            fork=fork, chain_id=chain_id, coinbase=coinbase, number=number, timestamp=timestamp,
            gas_limit=gas_limit if gas_limit is not None else parent.gas_limit, base_fee=base_fee,
            prev_randao=prev_randao, excess_blob_gas=excess_blob_gas,
            parent_beacon_block_root=beacon_root if rules.cancun else None, block_hash=block_hash,
        )
        self.transactions: list = []
        self.records: list[ReceiptRecord] = []
        self.results: list = []
        self.gas_used = 0
        self.blob_gas_used = 0
        system.pre_block_calls(state, self.env, parent.hash, beacon_root)

    @property
    def gas_remaining(self) -> int:
        return self.env.gas_limit - self.gas_used

    def add(self, tx, tracer=None) -> ReceiptRecord:
        """Execute ``tx``; raises InvalidTransaction (state untouched) when it cannot be included."""
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
            record, result = execute_transaction(state, self.env, tx, gas_used=self.gas_used,
                                                 blob_gas_used=self.blob_gas_used, options=self.options,
                                                 tracer=tracer)
        finally:
            if hidden_code is not None:
                state.set_code(tx.sender, hidden_code)
        self.gas_used = record.cumulative_gas_used
        self.blob_gas_used += record.blob_gas_used
        self.transactions.append(tx)
        self.records.append(record)
        self.results.append(result)
        return record

    def add_candidates(self, transactions: Sequence, executor) -> dict[int, Optional[str]]:
        """Execute candidate ``transactions`` in order with a ``ParallelExecutor``, keeping those that
        can be included (as ``add`` would one by one); returns the others by index: why each is
        invalid, or None for one that did not fit in the gas left."""
        results, skipped = executor.execute_candidates(self.state, self.env, transactions, self.options,
                                                       gas_used=self.gas_used, blob_gas_used=self.blob_gas_used)
        for tx, result in zip(transactions, results):
            if result is None:
                continue
            record = receipt_record(self.env, tx, result, self.gas_used + result.gas_used)
            self.gas_used = record.cumulative_gas_used
            self.blob_gas_used += record.blob_gas_used
            self.transactions.append(tx)
            self.records.append(record)
            self.results.append(result)
        return skipped

    def finish(self, withdrawals: Optional[Sequence[Withdrawal]] = None) -> Block:
        """Apply ``withdrawals`` (EIP-4895) and the requests (EIP-7685), then seal the header."""
        env = self.env
        rules = self.rules
        withdrawals = list(withdrawals or ()) if rules.shanghai else None
        if withdrawals:
            system.apply_withdrawals(self.state, withdrawals)
        requests_hash = None
        self.requests: Optional[list[bytes]] = None  # EIP-7685 requests of the block (Prague on)
        if rules.prague:
            self.requests = self._requests()
            requests_hash = system.requests_hash(self.requests)
        header = Header(
            parent_hash=self.parent.hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=env.coinbase,
            state_root=self.state.state_root(),
            transactions_root=ordered_trie_root([tx.encode() for tx in self.transactions]),
            receipts_root=ordered_trie_root([r.consensus_receipt().encode() for r in self.records]),
            logs_bloom=combine_blooms(r.bloom for r in self.records),
            difficulty=0, number=env.number, gas_limit=env.gas_limit, gas_used=self.gas_used,
            timestamp=env.timestamp, extra_data=self.extra_data, prev_randao=env.prev_randao, nonce=b"\x00" * 8,
            base_fee=env.base_fee if rules.london else None,
            withdrawals_root=(ordered_trie_root([rlp.encode(w.to_rlp()) for w in withdrawals])
                              if rules.shanghai else None),
            blob_gas_used=self.blob_gas_used if rules.cancun else None,
            excess_blob_gas=env.excess_blob_gas if rules.cancun else None,
            parent_beacon_block_root=self.beacon_root if rules.cancun else None,
            requests_hash=requests_hash,
        )
        return Block(header, list(self.transactions), withdrawals)

    def _requests(self) -> list[bytes]:
        logs = [log for record in self.records for log in record.logs]
        state = self.state
        if not (state.get_code(system.WITHDRAWAL_REQUEST_ADDRESS)
                and state.get_code(system.CONSOLIDATION_REQUEST_ADDRESS)):
            # A dev chain created before its genesis carried the EIP-7002/7251 contracts: build its
            # blocks as before (no requests), though block import requires the contracts.
            return []
        return system.collect_requests(state, self.env, logs, self.deposit_contract)


__all__ = ["BlockBuilder", "InvalidTransaction", "prev_randao_for"]
