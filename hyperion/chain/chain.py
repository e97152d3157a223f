"""The ``Chain`` facade: what the JSON-RPC server and the node call.

One ``Chain`` owns a ``StateDatabase``, the chain records kept beside the
state (``ChainStore``), the transaction pool and the sequencer: in automine
mode every accepted transaction is mined into its own block before
``send_raw_transaction`` returns; with a block time a timer thread mines
every N seconds.

Threads: whatever changes the chain (mining, the pool, dev edits) takes one
re-entrant *writer* lock. Reads take no lock: a block is published (as the
head) only after its state and records are committed, readers see the head
published last and read state through MVCC snapshots. Executions an RPC
request starts (calls, estimates, access lists, traces) and log queries
run outside the writer lock, under the work limits of ``limits`` (the RPC
gas cap, a deadline that stops the interpreter, a trace memory budget), so
none of them can hold up block production or other reads.

See /notes/chain_api.md for the contract with the RPC layer. The pool is
not persisted: a restarted node continues from its last committed block
with an empty pool. Readers returned by ``state_at`` must be closed by the
caller (they hold a database snapshot).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Union

from hyperion.chain import calls as _calls
from hyperion.chain import fees as _fees
from hyperion.chain import limits
from hyperion.chain.limits import check
from hyperion.chain.blocks import Block
from hyperion.chain.builder import BlockBuilder
from hyperion.chain.consensus import BlockRules, block_rules, next_block_blob_base_fee
from hyperion.chain.calls import CallResult, build_call_transaction, parse_access_list
from hyperion.chain.errors import BlockNotFound, ChainError, ExecutionReverted, TxPoolError
from hyperion.chain.executor import ParallelExecutor, default_executor
from hyperion.chain.genesis import ChainConfig, Genesis, write_alloc
from hyperion.chain.importer import InvalidBlock, decode_raw_block, import_block, is_proof_of_stake
from hyperion.chain.schedule import UnsupportedFork
from hyperion.chain.logfilter import bloom_may_match, log_matches, topic_filter
from hyperion.chain.records import LogEntry, TxReceipt
from hyperion.chain.store import TOTAL_DIFFICULTY, ChainStore, ReceiptRecord, receipt_at, receipts_of
from hyperion.chain.txpool import TxPool, unwrap_blob_network_form
from hyperion.execution.transaction import InvalidTransaction
from hyperion.primitives.secp256k1 import InvalidSignature
from hyperion.primitives.transactions import (
    AccessListTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
    TransactionDecodeError,
    decode_transaction,
)
from hyperion.state.database import StateUnavailable
from hyperion.vm.environment import BlockEnv
from hyperion.vm.instructions.system import DELEGATION_PREFIX

__all__ = ["Chain", "ChainConfig", "CallResult", "TxReceipt", "LogEntry", "ChainError", "TxPoolError",
           "BlockNotFound", "ExecutionReverted"]

log = logging.getLogger("hyperion.chain")

MAX_LOG_RANGE = 10_000        # blocks one log query may span
MAX_LOG_RESULTS = 10_000      # logs one query may return
MAX_TIMESTAMP = 2**63 - 1     # block timestamps (and the shifted clock) stay below this, far below 2^64
BLOCKHASH_WINDOW = 256
_TAGS_LATEST = ("latest", "pending", "safe", "finalized")


class Chain:
    """A single-node dev chain over a ``StateDatabase`` (see the module docstring)."""

    def __init__(self, config: Optional[ChainConfig] = None, state_db=None):
        if state_db is None:
            from hyperion.state.memorydb import MemoryStateDatabase
            state_db = MemoryStateDatabase()
        self.config = config = config or ChainConfig()
        self.db = state_db
        self.chain_id = config.chain_id
        # The chain's rules (fork schedule, chain id, base fee recipient); ``fork`` is the next block's.
        self.spec = config.chain_spec()
        self.fork = config.fork
        # How blocks' transactions run when imported or built (parallel with exec_workers > 1).
        self.executor = default_executor(config.exec_workers)
        self._lock = threading.RLock()
        self._deferring = threading.local()  # .scope: the thread's DeferredMining, if any
        self._recent_drops: OrderedDict[bytes, str] = OrderedDict()  # tx hash -> why mining dropped it
        self._commits = 0  # blocks committed since opening; ``_synced`` of them are durable (group commit)
        self._synced = 0
        self._sync_lock = threading.Lock()
        self.store = ChainStore(state_db)
        self._dev_keys = dict(config.dev_accounts())
        self._accounts = list(self._dev_keys)
        self.pool = TxPool(self.fork, self.chain_id, max_slots=config.txpool_max_slots,
                           max_queued_per_account=config.txpool_max_queued_per_account,
                           max_queued=config.txpool_max_queued,
                           queued_lifetime=config.txpool_queued_lifetime, min_priority_fee=config.min_priority_fee)
        self._impersonated: set[bytes] = set()
        self._time_offset = 0
        self._next_timestamp: Optional[int] = None
        self._snapshots: dict[int, tuple] = {}
        self._next_snapshot_id = 1
        self._amendments: list[tuple] = []  # (block, address, kind, key, old value) of dev state edits
        self._block_listeners: list[Callable] = []
        self._pending_listeners: list[Callable] = []
        self.automine = config.automine and not config.block_time
        self.block_time: Optional[float] = None
        self._interval_thread: Optional[threading.Thread] = None
        self._interval_stop = threading.Event()
        self._closed = False
        latest = state_db.latest_block_number()
        if latest is None:
            self._head = self._write_genesis()
        else:
            head = self.store.block(latest)
            if head is None:
                raise ChainError(f"the database has state for block {latest} but no block record")
            self._head = head
            stored_chain_id = self.store.get_meta("chain_id")
            if stored_chain_id is not None and int.from_bytes(stored_chain_id, "big") != self.chain_id:
                # the chain id is part of the chain's identity (signatures depend on it): the stored one wins
                log.warning("chain id %d given, but the data dir holds chain %d: using %d", self.chain_id,
                            int.from_bytes(stored_chain_id, "big"), int.from_bytes(stored_chain_id, "big"))
                self.chain_id = config.chain_id = int.from_bytes(stored_chain_id, "big")
                self.pool.chain_id = self.chain_id
            stored_genesis = self.store.get_meta("genesis_spec")
            if stored_genesis is not None:
                # a chain started from a genesis file keeps that file's rules, whatever the caller passed
                config.genesis = Genesis.from_stored_form(stored_genesis)
                config.genesis.chain_id = self.chain_id
                config.gas_limit = head.header.gas_limit  # what the pool holds transactions to
            self.spec = config.chain_spec()
        self._refresh_fork()
        if self.automine and not self.next_block_rules().merged:
            log.info("automine off: the next block is a proof-of-work block, which Hyperion does not build")
            self.automine = False
        if config.block_time:
            self.set_block_time(config.block_time)

    # ------------------------------------------------------------------ genesis
    def _write_genesis(self) -> Block:
        genesis = self.config.genesis_spec()
        pending = self.db.pending()
        write_alloc(pending, genesis.alloc)
        block = genesis.block(pending.state_root())
        writes = self.store.block_writes(block, [])
        meta = {"chain_id": self.chain_id.to_bytes(8, "big"), "genesis": block.hash}
        if self.config.genesis is not None:
            meta["genesis_spec"] = genesis.stored_form()
        writes += self.store.meta_writes(meta)
        writes.append((TOTAL_DIFFICULTY, block.hash, _td_bytes(block.header.difficulty)))
        self.db.commit(pending, 0, writes)
        self.store.remember(block, [])
        return block

    # ------------------------------------------------------------------ fork rules
    def block_rules(self, header) -> BlockRules:
        """The consensus rules a block (given by its header) was built under."""
        parent = None if header.number == 0 else self.store.block(header.number - 1)
        merged = parent is not None and is_proof_of_stake(
            parent.header, self._total_difficulty(parent.hash), self.spec.schedule)
        return block_rules(self.spec.schedule, header.number, header.timestamp, merged)

    def next_block_rules(self, timestamp: Optional[int] = None) -> BlockRules:
        """The rules of a block on top of the head (at ``timestamp``, default the head's + 1)."""
        head = self._head.header
        return self._rules_after(head, head.timestamp + 1 if timestamp is None else timestamp)

    def _rules_after(self, parent, timestamp: int) -> BlockRules:
        """The rules of a child of ``parent`` (a header) at ``timestamp``."""
        merged = is_proof_of_stake(parent, self._total_difficulty(parent.hash), self.spec.schedule)
        return block_rules(self.spec.schedule, parent.number + 1, timestamp, merged)

    def _refresh_fork(self) -> None:
        """Follow the schedule: the fork of the next block validates pool transactions and calls."""
        timestamp = max(int(time.time()) + self._time_offset, self._head.header.timestamp + 1)
        try:
            self.fork = self.pool.fork = self.next_block_rules(timestamp).fork
        except UnsupportedFork as exc:  # the chain can still be served; building or importing there fails
            log.warning("the next block's fork cannot be executed: %s", exc)

    def _total_difficulty(self, block_hash: bytes) -> Optional[int]:
        raw = self.db.chain_get(TOTAL_DIFFICULTY, block_hash)
        return None if raw is None else int.from_bytes(raw, "big")

    # ------------------------------------------------------------------ importing blocks
    def import_block(self, raw) -> Block:
        """Validate and execute a block (RLP bytes or a ``Block``) on top of the head, and commit it.

        Raises ``InvalidBlock`` naming the rule the block breaks; the chain is
        then unchanged. A block already held at its height is accepted again
        without work (imports can be repeated).
        """
        with self._lock:
            self._check_open()
            block = decode_raw_block(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else raw
            known = self.store.number_of_hash(block.hash)
            if known is not None and known <= self._head.number and known == block.number:
                stored = self.store.block(known)
                if stored is not None and stored.hash == block.hash:
                    return stored
            parent = self._head
            if block.header.parent_hash != parent.hash:
                raise InvalidBlock("UNKNOWN_PARENT", f"parent 0x{block.header.parent_hash.hex()} is not the head "
                                   f"(block {parent.number}, 0x{parent.hash.hex()}); only the head can be extended",
                                   block.number, block.hash)
            pending = self.db.pending(parent.number)
            imported = import_block(block, parent.header, pending, self.spec, _StoreAncestry(self),
                                    executor=self.executor)
            self._log_execution(block.number)
            for tx in imported.block.transactions:
                tx.sender  # recovered during execution: cached for the store's sender column
            extra = [(TOTAL_DIFFICULTY, block.hash, _td_bytes(imported.total_difficulty))]
            self._commit_block(pending, imported.block, imported.receipts, extra)
            return imported.block

    # ------------------------------------------------------------------ blocks
    def head(self) -> Block:
        return self._head

    def block_by_number(self, number: int) -> Optional[Block]:
        if not isinstance(number, int) or number < 0 or number > self._head.number:
            return None
        return self.store.block(number)

    def block_by_hash(self, block_hash: bytes) -> Optional[Block]:
        number = self.store.number_of_hash(block_hash)
        if number is None or number > self._head.number:
            return None
        block = self.store.block(number)
        return block if block is not None and block.hash == block_hash else None

    def resolve_block(self, spec) -> Block:
        """Turn a block spec (tag, number, EIP-1898 object) into a block; BlockNotFound if unknown."""
        if spec is None:
            return self._head
        if isinstance(spec, Block):
            return spec
        if isinstance(spec, str):
            if spec in _TAGS_LATEST:
                return self._head
            if spec == "earliest":
                return self.store.block(0)
            try:
                spec = int(spec, 16) if spec.lower().startswith("0x") else int(spec)
            except ValueError:
                raise BlockNotFound(f"invalid block tag {spec!r}") from None
        if isinstance(spec, bool):
            raise BlockNotFound(f"invalid block spec {spec!r}")
        if isinstance(spec, int):
            block = self.block_by_number(spec)
            if block is None:
                raise BlockNotFound("header not found")
            return block
        if isinstance(spec, (bytes, bytearray)) and len(spec) == 32:
            spec = {"blockHash": bytes(spec)}
        if isinstance(spec, dict):
            if spec.get("blockHash") is not None:
                block = self.block_by_hash(spec["blockHash"])
                if block is None:
                    raise BlockNotFound("header for hash not found")
                return block
            if "blockNumber" in spec:
                return self.resolve_block(spec["blockNumber"])
        raise BlockNotFound(f"invalid block spec {spec!r}")

    def state_at(self, block: Union[Block, str, int, dict] = "latest"):
        """A ``StateReader`` of the block's state (an MVCC snapshot); the caller closes it.

        ``"pending"`` reads the latest state, except that nonces count the
        sender's executable pool transactions (what wallets need to chain txs).
        """
        number = self.resolve_block(block).number
        try:
            reader = self.db.reader(number)
        except StateUnavailable as exc:
            raise ChainError(f"missing trie node: state of block {number} is not available ({exc})") from None
        if isinstance(block, str) and block == "pending":
            return PendingReader(reader, self.pool, self._lock)
        return reader

    def block_env(self, block: Block) -> BlockEnv:
        """The EVM block context of ``block`` (what its own transactions saw)."""
        header = block.header
        return BlockEnv(
            fork=self.block_rules(header).fork, chain_id=self.chain_id, coinbase=header.coinbase,
            number=header.number, timestamp=header.timestamp, gas_limit=header.gas_limit,
            base_fee=header.base_fee or 0, prev_randao=header.prev_randao, difficulty=header.difficulty,
            excess_blob_gas=header.excess_blob_gas or 0,
            parent_beacon_block_root=header.parent_beacon_block_root, block_hash=self._block_hash_reader(header.number),
        )

    def _block_hash_reader(self, current: int) -> Callable[[int], Optional[bytes]]:
        """BLOCKHASH for a block numbered ``current``: the 256 ancestors from the store."""
        store = self.store

        def block_hash(number: int) -> Optional[bytes]:
            if not current - BLOCKHASH_WINDOW <= number < current:
                return None
            block = store.block(number)
            return None if block is None else block.hash

        return block_hash

    # ------------------------------------------------------------------ receipts, txs, logs
    def receipts(self, block: Block) -> list[TxReceipt]:
        return receipts_of(block, self.store.receipt_records(block.number))

    def _locate(self, tx_hash: bytes) -> Optional[tuple[Block, int]]:
        location = self.store.tx_location(tx_hash)
        if location is None:
            return None
        number, index = location
        if number > self._head.number:
            return None
        block = self.store.block(number)
        if block is None or index >= len(block.transactions) or block.transactions[index].hash != tx_hash:
            return None
        return block, index

    def transaction(self, tx_hash: bytes):
        """``(tx, block, index)`` for a mined tx, ``(tx, None, None)`` for a pooled one, else None."""
        found = self._locate(tx_hash)
        if found is not None:
            block, index = found
            return block.transactions[index], block, index
        tx = self.pool.get(tx_hash)
        if tx is None:  # mined since the lookup above?
            found = self._locate(tx_hash)
            return None if found is None else (found[0].transactions[found[1]], *found)
        return tx, None, None

    def receipt(self, tx_hash: bytes) -> Optional[TxReceipt]:
        found = self._locate(tx_hash)
        if found is None:
            return None
        block, index = found
        records = self.store.receipt_records(block.number)
        if index >= len(records):
            return None
        return receipt_at(block, records, index)

    def get_logs(self, from_block: int, to_block: int, addresses: Optional[list] = None,
                 topics: Optional[list] = None, block_hash: Optional[bytes] = None) -> list[LogEntry]:
        """Logs matching the filter; blocks whose bloom rules the filter out are skipped unread.

        Bounded like the public endpoints clients know: at most
        ``MAX_LOG_RANGE`` blocks and ``MAX_LOG_RESULTS`` logs (with their
        error texts), and the caller's deadline (``limits.check`` per block).
        """
        if block_hash is not None:
            block = self.block_by_hash(block_hash)
            if block is None:
                raise BlockNotFound("unknown block")
            numbers = [block.number]
        else:
            if to_block - from_block + 1 > MAX_LOG_RANGE:
                raise ChainError(f"exceed maximum block range: {MAX_LOG_RANGE}")
            to_block = min(self._head.number, to_block)
            if from_block > to_block:
                return []
            numbers = range(from_block, to_block + 1)
        addresses = [bytes(a) for a in addresses] if addresses else None
        topic_sets = topic_filter(topics)
        found = []
        for number in numbers:
            check()
            block = self.store.block(number)
            if block is None:  # rolled back meanwhile
                break
            if not bloom_may_match(block.header.logs_bloom, addresses, topic_sets):
                continue
            for receipt in self.receipts(block):
                for entry in receipt.logs:
                    if log_matches(entry, addresses, topic_sets):
                        found.append(entry)
            if len(found) > MAX_LOG_RESULTS:
                raise ChainError(f"query returned more than {MAX_LOG_RESULTS} results")
        return found

    max_log_range = MAX_LOG_RANGE

    # ------------------------------------------------------------------ transactions in
    def accounts(self) -> list[bytes]:
        return list(self._accounts)

    def dev_accounts(self) -> list[tuple[bytes, bytes]]:
        """``(address, private_key)`` of the dev accounts (for the node's start banner)."""
        return list(self._dev_keys.items())

    def send_raw_transaction(self, raw: bytes) -> bytes:
        """Validate and pool a signed transaction (mining it at once in automine mode); returns its hash."""
        prepared = getattr(self._deferring, "prepared", None)
        tx = prepared.pop(raw, None) if prepared else None
        if tx is None:
            try:
                tx = decode_transaction(raw)
            except TransactionDecodeError as exc:
                tx = unwrap_blob_network_form(raw)
                if tx is None:
                    raise TxPoolError(f"rlp: {exc}") from None
        try:
            tx.sender  # recovered (and kept) before the writer lock is taken
        except (InvalidSignature, ValueError):
            pass  # the pool's validation reports it in geth's words
        return self.submit_transaction(tx)

    def prepare_raw_transactions(self, raws: list[bytes]) -> None:
        """Decode transactions this thread is about to send and recover their senders on worker
        threads (libsecp256k1 runs without the GIL); ``send_raw_transaction`` then finds them ready."""
        txs = {}
        for raw in raws:
            try:
                txs[raw] = decode_transaction(raw)
            except TransactionDecodeError:
                continue  # send_raw_transaction reports it
        if len(txs) > 1:
            list(_sender_pool().map(_recover_quietly, txs.values()))
        self._deferring.prepared = txs

    @contextmanager
    def mining_deferred(self) -> Iterator["DeferredMining"]:
        """In automine mode, the transactions this thread submits inside are mined when it ends,
        together, in as few blocks as the gas limit allows (anvil mines every ready transaction
        into one block the same way); the RPC layer uses it for a JSON-RPC batch's run of
        eth_sendRawTransaction calls, whose answers all leave after that. ``dropped`` then maps
        the hash of each transaction found invalid at mining to the reason."""
        scope = DeferredMining()
        if getattr(self._deferring, "scope", None) is not None:  # nested: the outer scope mines
            yield scope
            return
        self._deferring.scope = scope if self.automine else None
        try:
            yield scope
        finally:
            self._deferring.scope = None
            self._deferring.prepared = None
            if scope.hashes:
                with self._lock:
                    if self.automine and not self._closed:
                        self._automine(grouped=True)
                    scope.dropped = {h: self._recent_drops[h] for h in scope.hashes if h in self._recent_drops}

    def submit_transaction(self, tx) -> bytes:
        """Pool an already decoded transaction (its sender may be preset for impersonation)."""
        with self._lock:
            self._check_open()
            head = self._head.header
            base_fee = _fees.next_base_fee(head.base_fee or 0, head.gas_used, head.gas_limit)
            if tx.hash in self.pool:
                raise TxPoolError("already known")
            self.pool.validate_static(tx, self.config.gas_limit, base_fee)
            sender = tx.sender
            reader = self.db.reader()
            try:
                self.pool.add(tx, state_nonce=reader.get_nonce(sender), balance=reader.get_balance(sender),
                              gas_limit=self.config.gas_limit, base_fee=base_fee, prevalidated=True)
            finally:
                reader.close()
            tx_hash = tx.hash
            self._emit(self._pending_listeners, tx_hash)
            scope = getattr(self._deferring, "scope", None)
            if self.automine and scope is not None:
                scope.hashes.append(tx_hash)
            elif self.automine:
                dropped = self._automine()
                if tx_hash in dropped:
                    raise TxPoolError(dropped[tx_hash])
            return tx_hash

    def send_transaction(self, fields: dict) -> bytes:
        """eth_sendTransaction for dev and impersonated accounts: fill defaults, sign, submit."""
        sender = fields.get("from")
        if not isinstance(sender, (bytes, bytearray)) or len(sender) != 20:
            raise ChainError("from address is required")
        sender = bytes(sender)
        key = self._dev_keys.get(sender)
        if key is None and sender not in self._impersonated:
            raise ChainError(f"unknown account 0x{sender.hex()}")
        fields = self._fill_gas(fields)  # may execute: outside the writer lock
        with self._lock:
            tx = self._fill_transaction(fields, sender)
            if key is not None:
                tx = tx.signed(key, self.chain_id) if tx.type == 0 else tx.signed(key)
            else:
                tx = _impersonated(tx, sender)
            return self.submit_transaction(tx)

    def _fill_gas(self, fields: dict) -> dict:
        """Fee fields and, when missing, the gas limit (estimated on the pending block)."""
        head = self._head.header
        next_base = _fees.next_base_fee(head.base_fee or 0, head.gas_used, head.gas_limit)
        fields = dict(fields)
        if fields.get("gasPrice") is None and fields.get("type") in (0, 1):
            fields["gasPrice"] = self.gas_price()
        if fields.get("gasPrice") is None:
            tip = fields.get("maxPriorityFeePerGas")
            if tip is None:
                tip = self.config.priority_fee_suggestion
                if fields.get("maxFeePerGas") is not None:
                    tip = min(tip, fields["maxFeePerGas"])
            fields["maxPriorityFeePerGas"] = tip
            if fields.get("maxFeePerGas") is None:
                fields["maxFeePerGas"] = 2 * next_base + tip
        if fields.get("gas") is None:
            fields["gas"] = self.estimate_gas(dict(fields, nonce=None), "pending")
        return fields

    def _fill_transaction(self, fields: dict, sender: bytes):
        """The unsigned transaction of ``_fill_gas``'s fields, with the sender's next nonce (writer lock held)."""
        reader = self.db.reader()
        try:
            state_nonce = reader.get_nonce(sender)
        finally:
            reader.close()
        nonce = fields.get("nonce")
        if nonce is None:
            nonce = self.pool.pending_nonce(sender, state_nonce)
        gas = fields["gas"]
        template, _ = build_call_transaction(fields, chain_id=self.chain_id, nonce=nonce, gas=gas)
        access_list = parse_access_list(fields.get("accessList"))
        if fields.get("gasPrice") is not None:
            if access_list or fields.get("type") == 1:
                return AccessListTransaction(self.chain_id, nonce, fields["gasPrice"], gas, template.to,
                                             template.value, template.data, access_list)
            return LegacyTransaction(nonce, fields["gasPrice"], gas, template.to, template.value, template.data)
        return FeeMarketTransaction(self.chain_id, nonce, fields["maxPriorityFeePerGas"], fields["maxFeePerGas"],
                                    gas, template.to, template.value, template.data, access_list)

    def sign_transaction(self, fields: dict) -> bytes:
        """eth_signTransaction: the raw signed transaction of a dev account, not submitted."""
        sender = fields.get("from")
        key = self._dev_keys.get(bytes(sender)) if isinstance(sender, (bytes, bytearray)) else None
        if key is None:
            raise ChainError("unknown account")
        fields = self._fill_gas(fields)
        with self._lock:
            tx = self._fill_transaction(fields, bytes(sender))
            tx = tx.signed(key, self.chain_id) if tx.type == 0 else tx.signed(key)
            return tx.encode()

    def dev_key(self, address: bytes) -> Optional[bytes]:
        """Private key of a dev account (eth_sign / personal_sign), or None."""
        return self._dev_keys.get(address)

    # ------------------------------------------------------------------ mining
    def _next_timestamp_value(self, explicit: Optional[int], consume: bool = True) -> int:
        """The next block's timestamp; ``consume=False`` only peeks (the pending block of calls)."""
        parent_ts = self._head.header.timestamp
        if explicit is not None:
            ts = explicit
        elif self._next_timestamp is not None:
            ts = self._next_timestamp
        else:
            return max(int(time.time()) + self._time_offset, parent_ts + 1)
        _check_timestamp(ts)
        if ts <= parent_ts:
            raise ChainError(f"timestamp {ts} is not after the parent block's timestamp {parent_ts}")
        if consume:
            self._next_timestamp = None
            self._time_offset = ts - int(time.time())
        return ts

    def pending_block_args(self, parent: Block) -> dict:
        """How the block after ``parent`` would be built now (``BlockBuilder`` keywords), for
        executions on the pending block (eth_estimateGas): its timestamp is peeked, not used up."""
        if parent.number == self._head.number:
            timestamp = self._next_timestamp_value(None, consume=False)
        else:
            timestamp = parent.header.timestamp + 1
        return self._builder_args(parent, timestamp)

    def _builder_args(self, parent: Block, timestamp: int) -> dict:
        return dict(rules=self._rules_after(parent.header, timestamp), chain_id=self.chain_id, timestamp=timestamp,
                    coinbase=self.config.coinbase, gas_limit=self.config.gas_limit, extra_data=self.config.extra_data,
                    block_hash=self._block_hash_reader(parent.number + 1), allow_code_senders=True,
                    base_fee_recipient=self.spec.base_fee_recipient, deposit_contract=self.spec.deposit_contract)

    def _mine_one(self, timestamp: Optional[int] = None, max_txs: Optional[int] = None) -> tuple[Block, dict]:
        """Build, commit and announce one block from the pool; returns it and the txs dropped as invalid."""
        parent = self._head
        ts = self._next_timestamp_value(timestamp)
        rules = self.next_block_rules(ts)
        if not rules.merged:
            raise ChainError(f"block {parent.number + 1} would be a proof-of-work block: Hyperion only builds "
                             "proof-of-stake blocks (this chain's merge is still ahead)")
        pending = self.db.pending(parent.number)
        builder = BlockBuilder(pending, parent.header, **self._builder_args(parent, ts))
        dropped = self._fill_from_pool(builder, max_txs)
        block = builder.finish()
        self._commit_block(pending, block, builder.records)
        return block, dropped

    def _fill_from_pool(self, builder: BlockBuilder, max_txs: Optional[int] = None) -> dict[bytes, str]:
        """Add pool transactions in fee order while they fit; returns (and removes) those found invalid."""
        if max_txs is None and isinstance(self.executor, ParallelExecutor):
            dropped = self._fill_in_parallel(builder)
            if dropped is not None:
                return dropped
        dropped = {}
        ordered = self.pool.ordered_for_block(builder.env.base_fee)
        try:
            tx = next(ordered)
            while True:
                skip = False
                if max_txs is not None and len(builder.transactions) >= max_txs:
                    break
                if builder.gas_remaining < 21000:
                    break
                if tx.gas > builder.gas_remaining:
                    skip = True
                else:
                    try:
                        builder.add(tx)
                    except InvalidTransaction as exc:
                        dropped[tx.hash] = str(exc)
                        skip = True
                    except Exception as exc:
                        # the pending state may be half-written: give up on this block, and drop the
                        # transaction so that it cannot wedge the sequencer
                        self.pool.remove(tx.hash)
                        log.exception("executing transaction 0x%s failed", tx.hash.hex())
                        raise ChainError(f"internal error executing transaction 0x{tx.hash.hex()}: {exc!r}") from exc
                tx = ordered.send(skip)
        except StopIteration:
            pass
        for tx_hash in dropped:
            self.pool.remove(tx_hash)
        return dropped

    def _fill_in_parallel(self, builder: BlockBuilder) -> Optional[dict[bytes, str]]:
        """``_fill_from_pool`` with the parallel executor: the pool's candidates in fee order, up to
        twice the gas left, run as one batch. None (nothing done) when a candidate needs the
        sequential path: a sender with code (an impersonated contract, see ``BlockBuilder.add``)."""
        candidates = []
        gas = 0
        state = builder.state
        ordered = self.pool.ordered_for_block(builder.env.base_fee)
        try:
            tx = next(ordered)
            while gas < 2 * builder.gas_remaining:
                code = state.get_code(tx.sender)
                if code and not code.startswith(DELEGATION_PREFIX):
                    return None
                candidates.append(tx)
                gas += tx.gas
                tx = ordered.send(False)
        except StopIteration:
            pass
        if not candidates:
            return {}
        dropped: dict[bytes, str] = {}
        stopped: set[bytes] = set()  # senders whose chain stopped: their later nonces stay in the pool
        skipped = builder.add_candidates(candidates, self.executor)
        self._log_execution(builder.env.number)
        for index, reason in sorted(skipped.items()):
            tx = candidates[index]
            if reason is not None and tx.sender not in stopped:
                dropped[tx.hash] = reason
            stopped.add(tx.sender)
        for tx_hash in dropped:
            self.pool.remove(tx_hash)
        return dropped

    def _log_execution(self, number: int) -> None:
        report = getattr(self.executor, "last_report", None)
        if report is not None:
            log.info("block %d: %d transactions executed %s%s (%d re-executed, %d workers)", number,
                     report.transactions, report.mode, f": {report.reason}" if report.reason else "",
                     report.reexecuted, report.workers)

    def _commit_block(self, pending, block: Block, records: list[ReceiptRecord], extra_writes=()) -> None:
        writes = self.store.block_writes(block, records)
        writes.extend(extra_writes)
        self.db.commit(pending, block.number, writes)
        self._commits += 1
        self.store.remember(block, records)
        self._head = block
        self._refresh_fork()
        reader = self.db.reader()
        try:
            self.pool.reset(reader.get_nonce, reader.get_balance)
        finally:
            reader.close()
        if self._block_listeners:
            receipts = _LazyReceipts(block, records)  # built only if a listener reads them
            self._emit(self._block_listeners, block, receipts)

    def _automine(self, grouped: bool = False) -> dict[bytes, str]:
        """Mine one block per executable pool transaction (``grouped``: full blocks) until none is left."""
        dropped_all: dict[bytes, str] = {}
        while self.pool.status()["pending"]:
            block, dropped = self._mine_one(max_txs=None if grouped else 1)
            dropped_all.update(dropped)
            if not block.transactions and not dropped:
                break
        if dropped_all:
            self._recent_drops.update(dropped_all)
            while len(self._recent_drops) > _RECENT_DROPS:
                self._recent_drops.popitem(last=False)
        return dropped_all

    def mine(self, blocks: int = 1, timestamp: Optional[int] = None) -> list[Block]:
        """Mine ``blocks`` blocks with whatever the pool holds (evm_mine / anvil_mine)."""
        if not isinstance(blocks, int) or blocks < 0:
            raise ChainError("blocks must be a non-negative integer")
        with self._lock:
            self._check_open()
            mined = []
            for i in range(blocks):
                block, _ = self._mine_one(timestamp if i == 0 else None)
                mined.append(block)
            return mined

    # ------------------------------------------------------------------ calls
    # Executions for RPC: no writer lock, the bounded fork, the gas cap and a deadline (see calls.py).
    def _call_block(self, block_spec) -> tuple[Block, bool]:
        """The block whose state a call reads, and whether it runs on the pending block after it."""
        pending = isinstance(block_spec, str) and block_spec == "pending"
        return self.resolve_block(block_spec), pending

    def call(self, tx_fields: dict, block_spec="latest", state_overrides: Optional[dict] = None,
             block_overrides: Optional[dict] = None) -> CallResult:
        block, pending = self._call_block(block_spec)
        return _calls.call(self, block, tx_fields, state_overrides, block_overrides, pending=pending)

    def estimate_gas(self, tx_fields: dict, block_spec="pending", state_overrides: Optional[dict] = None) -> int:
        """The gas limit the transaction needs in the block it can be mined in at the earliest.

        ``"latest"`` (web3.py's default) is estimated like ``"pending"``, on the
        block after the head, as anvil does: estimated on the head's own number
        and timestamp, code whose cost depends on them would be sent with too
        little gas. An older block is estimated as of that block.
        """
        block = self.resolve_block(block_spec)
        pending = block_spec is None or (isinstance(block_spec, str) and block_spec in ("latest", "pending"))
        return _calls.estimate_gas(self, block, tx_fields, state_overrides, pending=pending)

    def create_access_list(self, tx_fields: dict, block_spec="pending", state_overrides: Optional[dict] = None):
        block, pending = self._call_block(block_spec)
        return _calls.create_access_list(self, block, tx_fields, state_overrides, pending=pending)

    # ------------------------------------------------------------------ tracing
    def _make_tracer(self, tracer: Optional[str], config: Optional[dict]):
        """A tracer that stops at the caller's deadline and refuses to outgrow the trace memory budget."""
        budget_bytes = self.config.rpc_trace_memory
        if tracer in (None, "", "structLogger", "structLog"):
            return limits.BoundedStructLogger(config, budget_bytes)
        if tracer == "callTracer":
            return limits.BoundedCallTracer(config, budget_bytes)
        raise ChainError(f"tracer {tracer!r} is not supported (use the default struct logger or callTracer)")

    def trace_transaction(self, tx_hash: bytes, tracer: Optional[str] = None,
                          tracer_config: Optional[dict] = None) -> dict:
        """Re-execute a mined transaction on its parent state (after the block's earlier txs) with a tracer."""
        found = self._locate(tx_hash)
        if found is None:
            raise ChainError(f"transaction 0x{tx_hash.hex()} not found")
        block, index = found
        return self._replay(block, tracer, tracer_config, only=index)[0]

    def trace_block(self, block: Block, tracer: Optional[str] = None, tracer_config: Optional[dict] = None) -> list:
        """Every transaction of ``block`` re-executed under its own tracer, in one pass over the block."""
        return [] if block.number == 0 else self._replay(block, tracer, tracer_config)

    def _replay(self, block: Block, tracer: Optional[str], tracer_config: Optional[dict],
                only: Optional[int] = None) -> list:
        """Rebuild ``block`` on its parent's state, tracing each transaction (or only the one at ``only``,
        after the earlier ones ran untraced); the results in order."""
        self._make_tracer(tracer, tracer_config)  # an unknown tracer fails before any work
        parent = self.store.block(block.number - 1)
        with _calls.evm_budget(self):
            try:
                reader = self.db.reader(parent.number)
            except StateUnavailable as exc:
                raise ChainError(f"required historical state unavailable: {exc}") from None
            try:
                builder = self._replay_builder(reader.pending(), parent, block)
                results = []
                for index, tx in enumerate(block.transactions[:None if only is None else only + 1]):
                    check()
                    if only not in (None, index):
                        builder.add(tx)
                        continue
                    with _released(self._make_tracer(tracer, tracer_config)) as tracer_obj:
                        builder.add(tx, tracer=tracer_obj)
                        results.append(tracer_obj.result())
                return results
            finally:
                reader.close()

    def _replay_builder(self, state, parent: Block, block: Block) -> BlockBuilder:
        """A builder that re-executes ``block`` on its parent's ``state`` (bounded fork: RPC work)."""
        header = block.header
        rules = self.block_rules(header)
        rules = dataclasses.replace(rules, fork=limits.bounded_fork(rules.fork))
        builder = BlockBuilder(state, parent.header, rules=rules, chain_id=self.chain_id,
                               timestamp=header.timestamp, coinbase=header.coinbase, gas_limit=header.gas_limit,
                               extra_data=header.extra_data, block_hash=self._block_hash_reader(block.number),
                               base_fee=header.base_fee, beacon_root=header.parent_beacon_block_root or b"\0" * 32,
                               prev_randao=header.prev_randao, allow_code_senders=True,
                               base_fee_recipient=self.spec.base_fee_recipient)
        return builder

    def trace_call(self, tx_fields: dict, block_spec="latest", tracer: Optional[str] = None,
                   tracer_config: Optional[dict] = None, state_overrides: Optional[dict] = None,
                   block_overrides: Optional[dict] = None) -> dict:
        """debug_traceCall: a call under a tracer, with geth's state and block overrides."""
        block, pending = self._call_block(block_spec)
        with _released(self._make_tracer(tracer, tracer_config)) as tracer_obj:
            with _calls.evm_budget(self):
                runner = _calls.CallRunner(self, block, state_overrides, block_overrides, pending=pending)
                runner.run(tx_fields, tracer=tracer_obj)
            return tracer_obj.result()

    # ------------------------------------------------------------------ fees
    def max_priority_fee(self) -> int:
        return self.config.priority_fee_suggestion

    def next_base_fee(self) -> int:
        header = self._head.header
        return _fees.next_base_fee(header.base_fee or 0, header.gas_used, header.gas_limit)

    def gas_price(self) -> int:
        """Suggested legacy gas price: the next block's base fee plus the priority suggestion."""
        return self.next_base_fee() + self.max_priority_fee()

    def blob_base_fee(self) -> int:
        return next_block_blob_base_fee(self._head.header, self.next_block_rules())

    def fee_history(self, block_count: int, newest_block_spec="latest",
                    reward_percentiles: Optional[list] = None) -> dict:
        return _fees.fee_history(self, block_count, newest_block_spec, reward_percentiles)

    # ------------------------------------------------------------------ pool views
    def txpool_status(self) -> dict:
        with self._lock:
            return self.pool.status()

    def txpool_content(self) -> dict:
        with self._lock:
            pending, queued = self.pool.content()
            return {"pending": pending, "queued": queued}

    def pending_nonce(self, address: bytes) -> int:
        """eth_getTransactionCount(address, "pending"): state nonce plus executable pool txs."""
        with self._lock:
            reader = self.db.reader()
            try:
                return self.pool.pending_nonce(address, reader.get_nonce(address))
            finally:
                reader.close()

    # ------------------------------------------------------------------ dev: time, snapshots
    def increase_time(self, seconds: int) -> int:
        """evm_increaseTime: shift the clock used for new blocks; returns the total shift.

        The shifted clock must stay a valid timestamp (below ``MAX_TIMESTAMP``)."""
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise ChainError("seconds must be an integer")
        with self._lock:
            offset = self._time_offset + seconds
            _check_timestamp(int(time.time()) + offset)
            if int(time.time()) + offset < 0:
                raise ChainError("the time shift would move the clock before 1970")
            self._time_offset = offset
            return self._time_offset

    def set_next_block_timestamp(self, timestamp: int) -> None:
        _check_timestamp(timestamp)
        with self._lock:
            if timestamp <= self._head.header.timestamp:
                raise ChainError(
                    f"timestamp {timestamp} is lower than or equal to the previous block's timestamp "
                    f"{self._head.header.timestamp}")
            self._next_timestamp = timestamp

    def snapshot(self) -> int:
        with self._lock:
            snapshot_id = self._next_snapshot_id
            self._next_snapshot_id += 1
            self._snapshots[snapshot_id] = (self._head.number, self._time_offset, self._next_timestamp,
                                            len(self._amendments))
            return snapshot_id

    def revert(self, snapshot_id: int) -> bool:
        """evm_revert: roll the chain back to the snapshot (which, with every later one, is used up)."""
        with self._lock:
            saved = self._snapshots.get(snapshot_id)
            if saved is None:
                return False
            number, offset, next_ts, amend_mark = saved
            self._rollback_to(number)
            undo = [a for a in self._amendments[amend_mark:] if a[0] == number]
            del self._amendments[amend_mark:]
            if undo:
                pending = self.db.pending()
                for _block, address, kind, key, old in reversed(undo):
                    _write_field(pending, address, kind, key, old)
                self.db.amend_latest(pending)
            self._time_offset, self._next_timestamp = offset, next_ts
            for other in [s for s in self._snapshots if s >= snapshot_id]:
                del self._snapshots[other]
            reader = self.db.reader()
            try:
                self.pool.reset(reader.get_nonce, reader.get_balance)
            finally:
                reader.close()
            return True

    def _rollback_to(self, number: int) -> None:
        if number < self._head.number:
            try:
                self.db.rollback(number)
            except StateUnavailable as exc:
                raise ChainError(f"cannot revert to block {number}: {exc}") from None
            self.store.forget_above(number)
            self._head = self.store.block(number)

    # ------------------------------------------------------------------ dev: state edits
    def _amend(self, address: bytes, kind: str, value, key: int = 0) -> None:
        if not isinstance(address, (bytes, bytearray)) or len(address) != 20:
            raise ChainError("address must be 20 bytes")
        address = bytes(address)
        with self._lock:
            pending = self.db.pending()
            old = _read_field(pending, address, kind, key)
            _write_field(pending, address, kind, key, value)
            self.db.amend_latest(pending)
            self._amendments.append((self._head.number, address, kind, key, old))

    def set_balance(self, address: bytes, value: int) -> None:
        self._amend(address, "balance", _uint(value, "balance"))

    def set_nonce(self, address: bytes, nonce: int) -> None:
        self._amend(address, "nonce", _uint(nonce, "nonce", 2**64 - 1))

    def set_code(self, address: bytes, code: bytes) -> None:
        if not isinstance(code, (bytes, bytearray)):
            raise ChainError("code must be bytes")
        self._amend(address, "code", bytes(code))

    def set_storage_at(self, address: bytes, slot: int, value: int) -> None:
        self._amend(address, "storage", _uint(value, "value"), _uint(slot, "slot"))

    def impersonate(self, address: bytes) -> None:
        with self._lock:
            self._impersonated.add(bytes(address))

    def stop_impersonating(self, address: bytes) -> None:
        with self._lock:
            self._impersonated.discard(bytes(address))

    # ------------------------------------------------------------------ dev: mining mode
    def set_automine(self, enabled: bool) -> None:
        with self._lock:
            self.automine = bool(enabled)
            if self.automine and self.pool.status()["pending"]:
                self._automine()

    def set_block_time(self, seconds: Optional[float]) -> None:
        """Mine every ``seconds`` (None or 0 stops interval mining); interval mining turns automine off."""
        with self._lock:
            self._stop_interval(wait=False)  # the old thread exits when it next sees its stop flag
            if seconds:
                if seconds < 0:
                    raise ChainError("block time must be positive")
                self.block_time = float(seconds)
                self.automine = False
                self._interval_stop = threading.Event()
                self._interval_thread = threading.Thread(target=self._interval_loop, args=(self._interval_stop,),
                                                         name="hyperion-interval-miner", daemon=True)
                with limits.deep_stacks():
                    self._interval_thread.start()
            else:
                self.block_time = None

    def _interval_loop(self, stop: threading.Event) -> None:
        while not stop.wait(self.block_time or 1.0):
            try:
                with self._lock:
                    if stop.is_set() or self._closed:
                        return
                    self._mine_one()
                    self.flush()
            except Exception:  # keep the sequencer alive; the error is logged
                log.exception("interval mining failed")

    def _stop_interval(self, wait: bool = True, join_timeout: float = 5.0) -> None:
        thread = self._interval_thread
        if thread is not None:
            self._interval_stop.set()
            if wait and thread is not threading.current_thread():
                thread.join(timeout=join_timeout)
            self._interval_thread = None

    # ------------------------------------------------------------------ events
    def on_new_block(self, callback: Callable[[Block, list], None]) -> Callable[[], None]:
        return self._subscribe(self._block_listeners, callback)

    def on_pending_transaction(self, callback: Callable[[bytes], None]) -> Callable[[], None]:
        return self._subscribe(self._pending_listeners, callback)

    def _subscribe(self, listeners: list, callback: Callable) -> Callable[[], None]:
        with self._lock:
            listeners.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in listeners:
                    listeners.remove(callback)

        return unsubscribe

    @staticmethod
    def _emit(listeners: list, *args) -> None:
        for callback in list(listeners):
            try:
                callback(*args)
            except Exception:  # a subscriber's bug must not break mining
                log.exception("chain event listener failed")

    # ------------------------------------------------------------------ lifecycle
    def _check_open(self) -> None:
        if self._closed:
            raise ChainError("the chain is closed")

    @property
    def needs_flush(self) -> bool:
        """True when blocks were committed since the last ``flush``."""
        return self._commits != self._synced

    def flush(self) -> None:
        """Make every committed block durable against an OS crash (group commit).

        The node opens MetisDB without per-commit fsync; the RPC server calls
        this before a response that may report mined blocks leaves, so one
        fsync covers a whole batch. Databases without ``sync`` need nothing.
        """
        # Not under the writer lock: a long mining run must not hold up every answer. A caller
        # returns once every block committed before it asked is synced, by it or by a concurrent sync.
        wanted = self._commits
        if self._synced >= wanted or self._closed:
            return
        with self._sync_lock:
            if self._synced >= wanted:
                return
            covered = self._commits
            sync = getattr(self.db, "sync", None)
            if sync is not None:
                sync()
            self._synced = covered

    def close(self, timeout: Optional[float] = None) -> bool:
        """Stop interval mining and close the state database; False when the writer lock
        (a block being built) was not free within ``timeout`` seconds (nothing is closed then).

        Every committed block is already durable and consistent on disk (one atomic
        commit per block), so a caller that must stop may exit even then: the block
        being built was never announced.
        """
        started = time.monotonic()
        self._stop_interval(join_timeout=5.0 if timeout is None else timeout)
        left = None if timeout is None else max(0.0, timeout - (time.monotonic() - started))
        if not self._lock.acquire(timeout=-1 if left is None else left):
            return False
        try:
            if not self._closed:
                self._closed = True
                self.db.close()
                close_executor = getattr(self.executor, "close", None)
                if close_executor is not None:
                    close_executor()  # its worker processes
            return True
        finally:
            self._lock.release()


# ---------------------------------------------------------------------- helpers
_RECENT_DROPS = 4096


_SENDER_POOL: Optional[ThreadPoolExecutor] = None
_SENDER_POOL_LOCK = threading.Lock()


def _sender_pool() -> ThreadPoolExecutor:
    global _SENDER_POOL
    with _SENDER_POOL_LOCK:
        if _SENDER_POOL is None:
            _SENDER_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sender-recovery")
        return _SENDER_POOL


def _recover_quietly(tx) -> None:
    try:
        tx.sender
    except (InvalidSignature, ValueError):
        pass  # the pool's validation reports it


@contextmanager
def _released(tracer_obj):
    """A tracer whose kept steps are freed gently when done (see ``limits.BoundedStructLogger.release``)."""
    try:
        yield tracer_obj
    finally:
        release = getattr(tracer_obj, "release", None)
        if release is not None:
            release()


class _LazyReceipts(Sequence):
    """A block's full receipts, built on first use (most blocks are announced to nobody who reads them)."""

    __slots__ = ("_block", "_records", "_receipts")

    def __init__(self, block: Block, records: list[ReceiptRecord]):
        self._block, self._records, self._receipts = block, records, None

    def _all(self) -> list[TxReceipt]:
        if self._receipts is None:
            self._receipts = receipts_of(self._block, self._records)
        return self._receipts

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index):
        return self._all()[index]


class DeferredMining:
    """What ``Chain.mining_deferred`` collected: the hashes submitted, and those dropped at mining."""

    __slots__ = ("hashes", "dropped")

    def __init__(self) -> None:
        self.hashes: list[bytes] = []
        self.dropped: dict[bytes, str] = {}


class PendingReader:
    """A latest-state reader whose nonces include the pool's executable transactions."""

    def __init__(self, reader, pool: TxPool, lock):
        self._reader = reader
        self._pool = pool
        self._lock = lock

    def get_nonce(self, address: bytes) -> int:
        with self._lock:  # the pool changes with every block
            return self._pool.pending_nonce(address, self._reader.get_nonce(address))

    def __getattr__(self, name: str):
        return getattr(self._reader, name)

    def __enter__(self) -> "PendingReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self._reader.close()


class _StoreAncestry:
    """Block import's view of the chain's own blocks (the canonical chain, by hash)."""

    def __init__(self, chain: "Chain") -> None:
        self._chain = chain

    def _block(self, block_hash: bytes) -> Optional[Block]:
        return self._chain.block_by_hash(block_hash)

    def header(self, block_hash: bytes):
        block = self._block(block_hash)
        return None if block is None else block.header

    def ommers(self, block_hash: bytes) -> list:
        block = self._block(block_hash)
        return [] if block is None else block.ommers

    def total_difficulty(self, block_hash: bytes) -> Optional[int]:
        return self._chain._total_difficulty(block_hash)


def _td_bytes(total_difficulty: int) -> bytes:
    return total_difficulty.to_bytes(max(1, (total_difficulty.bit_length() + 7) // 8), "big")


def _check_timestamp(timestamp: int) -> None:
    """Refuse block timestamps past ``MAX_TIMESTAMP`` with anvil's words (so later blocks still fit uint64)."""
    if timestamp > MAX_TIMESTAMP:
        raise ChainError("The timestamp is too big")


def _uint(value, name: str, limit: int = 2**256 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit:
        raise ChainError(f"{name} must be an integer in [0, {limit}]")
    return value


def _read_field(state, address: bytes, kind: str, key: int):
    if kind == "balance":
        return state.get_balance(address)
    if kind == "nonce":
        return state.get_nonce(address)
    if kind == "code":
        return state.get_code(address)
    return state.get_storage(address, key)


def _write_field(state, address: bytes, kind: str, key: int, value) -> None:
    if kind == "balance":
        state.set_balance(address, value)
    elif kind == "nonce":
        state.set_nonce(address, value)
    elif kind == "code":
        state.set_code(address, value)
    else:
        state.set_storage(address, key, value)


def _impersonated(tx, sender: bytes):
    """A transaction from an impersonated account: a placeholder signature and the sender preset.

    r carries the sender so that equal fields from two impersonated accounts
    still hash differently.
    """
    r = int.from_bytes(sender, "big") or 1
    if tx.type == 0:
        signed = dataclasses.replace(tx, v=27, r=r, s=1)
    else:
        signed = dataclasses.replace(tx, y_parity=0, r=r, s=1)
    object.__setattr__(signed, "_sender", sender)
    return signed
