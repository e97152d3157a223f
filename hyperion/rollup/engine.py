"""The rollup's execution engine: the L2 chain as derivation and the sequencer drive it.

``RollupChain`` is the dev ``Chain`` with the rollup's rules:

- blocks are only made by the roles: the sequencer builds them from payload
  attributes (deposits first, then the pool), derivation builds the blocks
  the protocol fills in itself and imports the sequencer's batched blocks
  through block import, which refuses a block whose claimed header does
  not hold;
- ``safe`` is the newest block derived from L1 data, ``finalized`` the newest
  derived from finalized L1 data (the OP Stack's meaning); both, and the L1
  block each safe block was derived from, persist across restarts;
- blocks above ``safe`` are *unsafe*: derivation keeps one when it matches
  what L1 says and replaces it (rolling back) when it does not;
- blob transactions are refused (an L2 has no blob data availability), and a
  follower forwards ``eth_sendRawTransaction`` to the sequencer.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Optional

from hyperion.chain.blocks import (
    EMPTY_OMMERS_HASH,
    EMPTY_TRIE_ROOT,
    Block,
    Header,
)
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.chain import Chain
from hyperion.chain.errors import BlockNotFound, ChainError, TxPoolError
from hyperion.chain.importer import InvalidBlock as ImportRefused
from hyperion.chain.system import CONSOLIDATION_REQUEST_ADDRESS, WITHDRAWAL_REQUEST_ADDRESS
from hyperion.chain.consensus import excess_blob_gas_after
from hyperion.chain.fees import next_base_fee
from hyperion.execution.transaction import InvalidTransaction
from hyperion.primitives import rlp
from hyperion.primitives.transactions import DEPOSIT_TX_TYPE
from hyperion.rollup.channel import BlockBatch
from hyperion.rollup.config import L1BlockId, RollupConfig
from hyperion.rollup.deposits import L1Info, parse_l1_info
from hyperion.trie import ordered_trie_root
from hyperion.web3tx import rpc as web3rpc

log = logging.getLogger("hyperion.rollup.engine")

ROLLUP_TABLE = "rollup"
DERIVED_FROM_TABLE = "rollup_derived"
SIGNATURES_TABLE = "rollup_signatures"  # block hash -> the sequencer's signature over it (staked sequencer set)
_SAFE = b"safe"
_FINALIZED = b"finalized"


class InvalidBlock(ValueError):
    """A derived block that block import refuses (its claimed header does not hold, or a tx is invalid)."""


class ForwardError(TxPoolError):
    """The sequencer refused (or could not be reached for) a forwarded transaction."""


@dataclass(frozen=True, slots=True)
class L2Ref:
    """What derivation needs to know of an L2 block."""

    number: int
    hash: bytes
    timestamp: int
    origin: L1Info

    @property
    def origin_number(self) -> int:
        return self.origin.number


@dataclass(frozen=True)
class PayloadAttributes:
    """Everything that decides an L2 block except its execution results."""

    number: int
    timestamp: int
    prev_randao: bytes
    beacon_root: bytes
    deposits: tuple          # the L1-attributes deposit, then the epoch's user deposits
    transactions: tuple = ()  # sequenced transactions from a batch
    claim: Optional[BlockBatch] = None  # the batch's header claim (None: the protocol fills the block itself)
    coinbase: Optional[bytes] = None  # the fee recipient (None: the genesis coinbase)

    @property
    def all_transactions(self) -> tuple:
        return self.deposits + self.transactions


def _number_key(number: int) -> bytes:
    return number.to_bytes(8, "big")


class RollupChain(Chain):
    """An L2 chain that only derivation and the sequencer extend (see the module docstring)."""

    def __init__(self, rollup: RollupConfig, state_db=None, *, forward_url: Optional[str] = None):
        super().__init__(rollup.chain_config(), state_db)
        self.rollup = rollup
        self.forward_url = forward_url
        genesis = self.store.block(0)
        if rollup.genesis_l2_hash is not None and genesis.hash != rollup.genesis_l2_hash:
            raise ChainError(f"the L2 genesis 0x{genesis.hash.hex()} is not the rollup's "
                             f"0x{rollup.genesis_l2_hash.hex()}: wrong rollup config or data dir")
        self._check_system_contracts()
        self.genesis_origin = L1Info(rollup.genesis_l1.number, 0, 0, rollup.genesis_l1.hash, 0, bytes(32), 0)
        self.rollup_status = None  # set by the node: a callable giving optimism_syncStatus's details
        self.share_transaction = None  # set by a sequencer of a set: passes an accepted raw tx on to its peers
        self.safe_number = self._read_number(_SAFE)
        self.finalized_number = min(self._read_number(_FINALIZED), self.safe_number)
        self._labels_lock = threading.Lock()

    def _check_system_contracts(self) -> None:
        """Refuse an L2 genesis that block import would refuse every block of.

        From Prague, a block is invalid when the EIP-7002 or EIP-7251 system
        contract has no code, so a genesis under Prague rules must hold them
        (the dev chain's genesis does).
        """
        if not self._rules_after(self._head.header, self._head.header.timestamp + 1).fork.has_requests:
            return
        reader = self.state_at("latest")
        try:
            missing = [address for address in (WITHDRAWAL_REQUEST_ADDRESS, CONSOLIDATION_REQUEST_ADDRESS)
                       if not reader.get_code(address)]
        finally:
            reader.close()
        if missing:
            raise ChainError("the L2 genesis lacks the EIP-7002/EIP-7251 system contracts "
                             f"({', '.join('0x' + a.hex() for a in missing)}) that Prague's rules require: "
                             "no block of this chain could be imported")

    @property
    def lock(self):
        """The chain's lock: derivation holds it across a check-then-replace of a block."""
        return self._lock

    # -- persisted labels --------------------------------------------------------------------
    def _read_number(self, key: bytes) -> int:
        raw = self.db.chain_get(ROLLUP_TABLE, key)
        return 0 if raw is None else min(int.from_bytes(raw, "big"), self._head.number)

    def meta_get(self, key: str) -> Optional[bytes]:
        return self.db.chain_get(ROLLUP_TABLE, key.encode())

    def meta_put(self, key: str, value: Optional[bytes]) -> None:
        with self._lock:
            self.db.chain_put(ROLLUP_TABLE, key.encode(), value)

    def derived_from(self, number: int) -> Optional[L1BlockId]:
        """The L1 block safe block ``number`` was derived from (genesis: the rollup's L1 start)."""
        if number == 0:
            return self.rollup.genesis_l1
        raw = self.db.chain_get(DERIVED_FROM_TABLE, _number_key(number))
        if raw is None:
            return None
        l1_number, l1_hash = rlp.decode(raw)
        return L1BlockId(int.from_bytes(l1_number, "big"), l1_hash)

    def mark_safe(self, number: int, derived_from: L1BlockId) -> None:
        with self._lock:
            self.db.chain_put(DERIVED_FROM_TABLE, _number_key(number),
                              rlp.encode([derived_from.number, derived_from.hash]))
            self.db.chain_put(ROLLUP_TABLE, _SAFE, _number_key(number))
            self.safe_number = number

    def demote_safe(self, number: int) -> None:
        """After an L1 reorg: blocks above ``number`` are unsafe again (they stay until derivation decides)."""
        with self._lock:
            if number < self.finalized_number:
                raise ChainError(f"an L1 reorg reached below the finalized L2 block {self.finalized_number}")
            if number < self.safe_number:
                self.db.chain_put(ROLLUP_TABLE, _SAFE, _number_key(number))
                self.safe_number = number

    def demote_finalized(self, number: int) -> None:
        """L1 took back a block it had called finalized: blocks above ``number`` are no longer finalized."""
        with self._lock:
            if number < self.finalized_number:
                self.db.chain_put(ROLLUP_TABLE, _FINALIZED, _number_key(number))
                self.finalized_number = number

    def store_signature(self, block_hash: bytes, signature: bytes) -> None:
        """Keep the sequencer's signature over a block (the one this node built, or one it imported).

        Keyed by block hash, so a block that is rolled back keeps its
        signature: two signed blocks at one height are evidence.
        """
        self.db.chain_put(SIGNATURES_TABLE, bytes(block_hash), bytes(signature))

    def signature(self, block_hash: bytes) -> Optional[bytes]:
        return self.db.chain_get(SIGNATURES_TABLE, bytes(block_hash))

    def mark_finalized(self, number: int) -> None:
        with self._lock:
            number = min(number, self.safe_number)
            if number > self.finalized_number:
                self.db.chain_put(ROLLUP_TABLE, _FINALIZED, _number_key(number))
                self.finalized_number = number

    # -- block tags ----------------------------------------------------------------------------
    def resolve_block(self, spec) -> Block:
        if isinstance(spec, str) and spec in ("safe", "finalized"):
            with self._lock:
                return self.store.block(self.safe_number if spec == "safe" else self.finalized_number)
        return super().resolve_block(spec)

    # -- what derivation reads ------------------------------------------------------------------
    def ref(self, number: int) -> L2Ref:
        block = self.block_by_number(number)
        if block is None:
            raise BlockNotFound(f"no L2 block {number}")
        return self.ref_of(block)

    def ref_of(self, block: Block) -> L2Ref:
        if block.number == 0:
            return L2Ref(0, block.hash, block.header.timestamp, self.genesis_origin)
        info = parse_l1_info(block.transactions[0]) if block.transactions else None
        if info is None:
            raise ChainError(f"L2 block {block.number} does not start with an L1-attributes deposit")
        return L2Ref(block.number, block.hash, block.header.timestamp, info)

    def head_ref(self) -> L2Ref:
        return self.ref_of(self.head())

    def safe_ref(self) -> L2Ref:
        return self.ref(self.safe_number)

    # -- making blocks --------------------------------------------------------------------------
    def _builder(self, parent: Block, attrs: PayloadAttributes, pending) -> BlockBuilder:
        """A builder under the rules block import applies to this block (its fork by its timestamp)."""
        config, spec = self.config, self.spec
        return BlockBuilder(pending, parent.header, rules=self._rules_after(parent.header, attrs.timestamp),
                            chain_id=self.chain_id, timestamp=attrs.timestamp,
                            coinbase=attrs.coinbase or config.coinbase,
                            gas_limit=config.gas_limit, extra_data=config.extra_data,
                            block_hash=self._block_hash_reader(parent.number + 1), beacon_root=attrs.beacon_root,
                            prev_randao=attrs.prev_randao, base_fee_recipient=spec.base_fee_recipient,
                            deposit_contract=spec.deposit_contract)

    def build_block(self, attrs: PayloadAttributes, *, from_pool: bool, max_pool_txs: Optional[int] = None) -> Block:
        """Build and commit the next block: ``attrs``' transactions, then (sequencer) the pool's.

        A deposit that cannot be included, or a batch transaction that is
        invalid, raises InvalidBlock and commits nothing.
        """
        with self._lock:
            self._check_open()
            parent = self._head
            if attrs.number != parent.number + 1:
                raise ChainError(f"attributes for block {attrs.number} on head {parent.number}")
            pending = self.db.pending(parent.number)
            builder = self._builder(parent, attrs, pending)
            for tx in attrs.all_transactions:
                try:
                    builder.add(tx)
                except InvalidTransaction as exc:
                    raise InvalidBlock(f"block {attrs.number}: transaction 0x{tx.hash.hex()} is invalid: {exc}") from None
            if from_pool:
                self._fill_from_pool(builder, max_pool_txs)
            block = builder.finish()
            self._commit_block(pending, block, builder.records)
            return block

    def assemble_block(self, attrs: PayloadAttributes) -> Block:
        """The full block a batch entry claims: derived deposits + batch transactions + the claimed header."""
        claim = attrs.claim
        parent = self._head.header
        rules = self._rules_after(parent, attrs.timestamp)
        transactions = list(attrs.all_transactions)
        header = Header(
            parent_hash=parent.hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=attrs.coinbase or self.config.coinbase,
            state_root=claim.state_root, transactions_root=ordered_trie_root([tx.encode() for tx in transactions]),
            receipts_root=claim.receipts_root, logs_bloom=claim.logs_bloom, difficulty=0, number=attrs.number,
            gas_limit=self.config.gas_limit, gas_used=claim.gas_used, timestamp=attrs.timestamp,
            extra_data=self.config.extra_data, prev_randao=attrs.prev_randao, nonce=b"\x00" * 8,
            base_fee=next_base_fee(parent.base_fee or 0, parent.gas_used, parent.gas_limit),
            withdrawals_root=EMPTY_TRIE_ROOT,
            blob_gas_used=0 if rules.cancun else None,
            excess_blob_gas=excess_blob_gas_after(parent, rules.fork) if rules.cancun else None,
            parent_beacon_block_root=attrs.beacon_root if rules.cancun else None,
            requests_hash=claim.requests_hash,
        )
        return Block(header, transactions, [])

    def import_block(self, block: Block) -> Block:
        """Block import (``hyperion.chain.importer``, the path every imported block takes): validate and
        execute ``block`` on the head and commit it only if every rule and its claimed header hold."""
        with self._lock:
            parent = self._head
            if block.header.parent_hash != parent.hash or block.number != parent.number + 1:
                raise InvalidBlock(f"block {block.number} does not extend the head {parent.number}")
            try:
                return super().import_block(block)
            except ImportRefused as exc:
                raise InvalidBlock(str(exc)) from None

    def rollback_to(self, number: int) -> list:
        """Drop every block above ``number`` (unsafe ones, or safe ones after an L1 reorg); returns their
        sequenced transactions so the sequencer can offer them again."""
        with self._lock:
            if number >= self._head.number:
                return []
            if number < self.finalized_number:
                raise ChainError(f"refusing to roll back below the finalized block {self.finalized_number}")
            dropped = []
            for n in range(number + 1, self._head.number + 1):
                block = self.store.block(n)
                if block is not None:
                    dropped.extend(tx for tx in block.transactions if tx.type != DEPOSIT_TX_TYPE)
            self._rollback_to(number)
            if self.safe_number > number:
                self.safe_number = number
                self.db.chain_put(ROLLUP_TABLE, _SAFE, _number_key(number))
            reader = self.db.reader()
            try:
                self.pool.reset(reader.get_nonce, reader.get_balance)
            finally:
                reader.close()
            return dropped

    # -- transactions in ---------------------------------------------------------------------------
    def submit_transaction(self, tx) -> bytes:
        if tx.type == 3:
            raise TxPoolError("transaction type not supported: blob transactions have no data availability on L2")
        return super().submit_transaction(tx)

    def send_raw_transaction(self, raw: bytes) -> bytes:
        if self.forward_url is not None:
            return forward_raw_transaction(self.forward_url, raw)
        tx_hash = super().send_raw_transaction(raw)
        if self.share_transaction is not None:
            self.share_transaction(raw)
        return tx_hash


def forward_raw_transaction(url: str, raw: bytes, timeout: float = 10.0) -> bytes:
    """Send ``raw`` to the sequencer's JSON-RPC; its answer (hash or error) is the caller's."""
    try:
        result = web3rpc.call(url, "eth_sendRawTransaction", "0x" + raw.hex(), timeout=timeout)
    except web3rpc.Unavailable as exc:
        raise ForwardError(f"cannot reach the sequencer at {url}: {exc}") from None
    except web3rpc.RpcError as exc:
        raise ForwardError(exc.message) from None
    if not isinstance(result, str):
        raise ForwardError(f"the sequencer answered {result!r}")
    return bytes.fromhex(result[2:])
