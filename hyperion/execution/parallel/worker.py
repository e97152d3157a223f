"""The worker process: runs chunks of a block's transactions speculatively.

A worker is started once (spawn or forkserver, never fork: py-lmdb breaks
when a forked child reuses its parent's environment) and serves block after
block. Per block it gets the environment and where to
read the pre-block state:

- ``("metisdb", path, block_number)``: its own read-only LMDB environment on
  the node's data dir, and a read transaction at the parent block (LMDB's
  MVCC keeps it consistent while the node writes);
- ``("shipped", accounts, codes, storage)``: an in-memory state, sent whole
  (the coordinator does this only for small states; see ``engine``).

Over that base it keeps the latest write it knows of per account and slot
(``BlockView``): its own speculative results, and the commits the
coordinator piggybacks on each new chunk. What it reads is only a guess;
the coordinator validates every read against the true state.
"""

from __future__ import annotations

import pickle
import queue
import sys
import threading
import time
import traceback
from typing import Optional

from hyperion.execution.parallel.recording import RecordingState, Unparallelizable, View
from hyperion.execution.transaction import InvalidTransaction, TransactionResult, apply_transaction, base_fee_credit
from hyperion.primitives.keccak import EMPTY_KECCAK
from hyperion.primitives.logs import Log
from hyperion.primitives.transactions import TransactionDecodeError, decode_transaction
from hyperion.state.metisdb.codec import ABSENT_ACCOUNT as _ABSENT
from hyperion.state.metisdb.codec import decode_record as _decode_record
from hyperion.trie.codec import EMPTY_TRIE_ROOT
from hyperion.vm.environment import BlockEnv

# Outcome kinds a worker reports per transaction.
RAN = 0  # (RAN, reads, account writes, credits, result fields, sender)
INVALID = 1  # (INVALID, message): not includable on the state the worker saw
UNPARALLEL = 2  # (UNPARALLEL, reason): the coordinator must run it itself


class ShippedBase:
    """A small in-memory state sent by the coordinator."""

    def __init__(self, accounts: dict, codes: dict, storage: dict) -> None:
        self.accounts = accounts  # address -> (nonce, balance, code_hash)
        self.codes = codes
        self.storage = storage  # address -> {slot: value}

    def account(self, address: bytes):
        return self.accounts.get(address)

    def code(self, code_hash: bytes) -> bytes:
        return self.codes.get(code_hash, b"")

    def slot(self, address: bytes, key: int) -> int:
        slots = self.storage.get(address)
        return 0 if slots is None else slots.get(key, 0)

    def has_storage(self, address: bytes) -> bool:
        return bool(self.storage.get(address))

    def close(self) -> None:
        pass


class MetisBase:
    """A read snapshot of a MetisDB data dir at one block, from this process's own LMDB environment.

    At the latest block (the parent of the block being imported or built) it
    reads the flat tables, as the node does: the storage table directly, the
    accounts table for every account not changed since the table was last
    brought up to date (the node keeps newer account records in memory; the
    changesets say which accounts those are, and they are read from the
    trie). Elsewhere it walks the tries. Every answer is cached for the block.
    """

    _environments: dict = {}
    _stale_cache: dict = {}  # path -> (flat block, last block, addresses changed since the flat block)

    def __init__(self, path: str, block_number: int) -> None:
        import lmdb

        from hyperion.state.metisdb.cache import StateCache
        from hyperion.state.metisdb.codec import block_from_key, block_key, decode_root_entry
        from hyperion.state.metisdb.engine import _INTERNAL_TABLES, _META_FLAT, _META_LATEST
        from hyperion.state.metisdb.snapshot import Snapshot

        env = self._environments.get(path)
        if env is None:
            env = self._environments[path] = lmdb.open(path, readonly=True, lock=True, max_dbs=128,
                                                      subdir=True, readahead=False)
        try:
            txn = env.begin(buffers=False)
        except lmdb.MapResizedError:
            env.set_mapsize(0)  # the node grew the map: adopt its size
            txn = env.begin(buffers=False)
        tables = self._tables = _ReadTables(env, txn, _INTERNAL_TABLES)  # (the name a Snapshot reads)
        entry = txn.get(block_key(block_number), db=tables.roots)
        if entry is None:
            txn.abort()
            raise LookupError(f"block {block_number} is not in {path}")
        root, root_id, _ = decode_root_entry(entry)
        self._cache = StateCache(1, 1)
        self._txn = txn
        self._snapshot = Snapshot(self, txn, block_number, root, root_id, False, None)
        self._accounts: dict = {}
        self._slots: dict = {}
        self._stale: Optional[set] = None  # None: no flat reads
        latest = txn.get(_META_LATEST, db=tables.meta)
        flat = txn.get(_META_FLAT, db=tables.meta)
        if latest == block_key(block_number) and flat is not None:
            self._stale = self._changed_since(path, block_from_key(flat), block_number)

    def _changed_since(self, path: str, flat_block: int, block_number: int) -> Optional[set]:
        """Accounts changed in blocks ``flat_block + 1 .. block_number`` (None: a changeset is gone)."""
        from hyperion.state.metisdb.codec import block_key, decode_changeset

        cached = self._stale_cache.get(path)
        if cached is not None and cached[0] == flat_block and cached[1] <= block_number:
            first, stale = cached[1] + 1, set(cached[2])
        else:
            first, stale = flat_block + 1, set()
        for number in range(first, block_number + 1):
            stored = self._txn.get(block_key(number), db=self._tables.changes)
            if stored is None:
                return None
            stale.update(entry[0] for entry in decode_changeset(stored))
        self._stale_cache[path] = (flat_block, block_number, stale)
        return stale

    def _reader_closed(self, snapshot) -> None:  # (what Snapshot.close calls on its database)
        pass

    def _record(self, address: bytes):
        """(nonce, balance, storage_root, code_hash), or None when absent."""
        try:
            return self._accounts[address]
        except KeyError:
            pass
        stale = self._stale
        if stale is not None and address not in stale:
            data = self._txn.get(address, db=self._tables.accounts)
            record = None if data is None else _decode_record(data)
        else:
            record = self._snapshot.account_record(address)
            record = None if record is _ABSENT else record
        self._accounts[address] = record
        return record

    def account(self, address: bytes):
        record = self._record(address)
        return None if record is None else (record[0], record[1], record[3])

    def code(self, code_hash: bytes) -> bytes:
        return self._snapshot.code(code_hash)

    def slot(self, address: bytes, key: int) -> int:
        value = self._slots.get((address, key))
        if value is None:
            if self._stale is not None:
                data = self._txn.get(address + key.to_bytes(32, "big"), db=self._tables.storage)
                value = 0 if data is None else int.from_bytes(data, "big")
            else:
                value = self._snapshot.slot_value(address, key)
            self._slots[(address, key)] = value
        return value

    def has_storage(self, address: bytes) -> bool:
        record = self._record(address)
        return record is not None and record[2] != EMPTY_TRIE_ROOT

    def close(self) -> None:
        self._snapshot.close()


class _ReadTables:
    """The sub-database handles a ``Snapshot`` reads, opened without creating any."""

    def __init__(self, env, txn, names) -> None:
        for name in names:
            try:
                setattr(self, name, env.open_db(name.encode(), txn=txn, create=False))
            except Exception:  # a table this data dir does not have: never read by a snapshot
                setattr(self, name, None)


class BlockView(View):
    """The base state plus the latest known write per account and slot."""

    def __init__(self, base) -> None:
        self.base = base
        self.accounts: dict = {}  # address -> (tx index, record or None)
        self.slots: dict = {}  # (address, slot) -> (tx index, value)
        self.wipes: dict = {}  # address -> tx index whose write started its storage afresh
        self.with_slots: set = set()  # addresses given a non-zero slot by a known write
        self.codes: dict = {}

    def account(self, address: bytes):
        entry = self.accounts.get(address)
        return self.base.account(address) if entry is None else entry[1]

    def code(self, code_hash: bytes) -> bytes:
        if code_hash == EMPTY_KECCAK:
            return b""
        code = self.codes.get(code_hash)
        return self.base.code(code_hash) if code is None else code

    def slot(self, address: bytes, key: int) -> int:
        entry = self.slots.get((address, key))
        wiped = self.wipes.get(address)
        if entry is not None and (wiped is None or entry[0] >= wiped):
            return entry[1]
        if wiped is not None:
            return 0
        return self.base.slot(address, key)

    def has_storage(self, address: bytes) -> bool:
        if address in self.with_slots:
            return True
        return address not in self.wipes and self.base.has_storage(address)

    def learn(self, index: int, written: list) -> None:
        """Take one transaction's account writes in (the later transaction's write wins)."""
        accounts = self.accounts
        for address, record, code, wiped, slots in written:
            entry = accounts.get(address)
            if entry is not None and entry[0] > index:
                continue
            if record is not None and record[1] is None:  # only credited: keep the balance known so far
                known = entry[1] if entry is not None else self.base.account(address)
                record = (record[0], 0 if known is None else known[1], record[2])
            accounts[address] = (index, record)
            if code is not None:
                self.codes[record[2]] = code
            if wiped:
                self.wipes[address] = index
            if slots:
                table = self.slots
                for key, value in slots.items():
                    table[(address, key)] = (index, value)
                    if value:
                        self.with_slots.add(address)


def make_env(fields: dict, hashes: dict) -> BlockEnv:
    return BlockEnv(**fields, block_hash=hashes.get)


def run_transaction(view: View, env: BlockEnv, tx, base_fee_recipient: Optional[bytes]) -> tuple:
    """One speculative run: ``(RAN, reads, account writes, credits, result fields, sender)`` or an
    INVALID/UNPARALLEL outcome (plain tuples: they are pickled for every transaction)."""
    state = RecordingState(view)
    try:
        result = apply_transaction(state, env, tx)
        if base_fee_recipient is not None:
            credit = base_fee_credit(env, result)
            if credit:
                state.add_balance(base_fee_recipient, credit)
        written, credits = state.writes()
    except InvalidTransaction as exc:
        return (INVALID, str(exc))
    except Unparallelizable as exc:
        return (UNPARALLEL, str(exc))
    return (RAN, state.reads, written, credits, result_fields(result), getattr(tx, "_sender", None))


def result_fields(result: TransactionResult) -> tuple:
    """What a receipt needs of a result (not the output), as plain tuples: a ``Log`` (a named
    tuple) pickles and unpickles several times slower than the same fields bare."""
    logs = tuple(tuple(log) for log in result.logs)
    return (result.gas_used, result.success, logs, result.contract_address, result.error,
            result.blob_gas_used, result.gas_refunded, result.deposit_nonce)


def result_from_fields(fields: tuple) -> TransactionResult:
    gas_used, success, logs, contract_address, error, blob_gas_used, gas_refunded, deposit_nonce = fields
    return TransactionResult(gas_used, success, b"", [Log._make(log) for log in logs], contract_address, error,
                             blob_gas_used, gas_refunded, deposit_nonce)


class _Block:
    def __init__(self, message: tuple) -> None:
        _, self.block_id, env_fields, hashes, self.base_fee_recipient, base_spec = message
        self.env = make_env(env_fields, hashes)
        kind = base_spec[0]
        if kind == "metisdb":
            base = MetisBase(base_spec[1], base_spec[2])
        elif kind == "shipped":
            base = ShippedBase(*base_spec[1:])
        else:
            raise ValueError(f"unknown base state kind {kind!r}")
        self.view = BlockView(base)

    def close(self) -> None:
        self.view.base.close()


def decode(raw: bytes, sender: Optional[bytes]):
    """A chunk's transaction from its bytes; ``sender`` is the coordinator's cached one, if any
    (recovered, or set by the node for an impersonated account), kept as sequential execution would."""
    tx = decode_transaction(raw)
    if sender is not None:
        object.__setattr__(tx, "_sender", sender)
    return tx


class Inbox:
    """Takes the coordinator's messages in as they arrive, on a thread of its own, whatever the
    worker is doing. Without it a worker busy on a chunk left the next one in the pipe; a chunk or
    an outcome bigger than the socket buffer (large calldata, logs, write sets) then had the
    coordinator blocked sending the next chunk while the worker was blocked sending its outcome:
    both waited forever."""

    def __init__(self, connection) -> None:
        self._messages: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._take_in, args=(connection,), name="hyperion-exec-inbox", daemon=True).start()

    def _take_in(self, connection) -> None:
        while True:
            try:
                data = connection.recv_bytes()
            except (EOFError, OSError):
                self._messages.put(None)
                return
            self._messages.put(data)

    def recv(self):
        """The next message (raises EOFError once the coordinator's end is closed)."""
        data = self._messages.get()
        if data is None:
            raise EOFError
        return pickle.loads(data)


def serve(connection, inbox: Inbox, cancelled, speculation_off, position) -> None:
    """The worker's loop: blocks and chunks until ``("stop",)`` or EOF.

    ``cancelled.value`` is the id of a block the coordinator gave up running in
    parallel: the worker stops working on it between two transactions;
    ``speculation_off.value``, of a block whose speculative runs it stopped;
    ``position.value``, the transaction the coordinator is at: work on those
    before it is no longer of use, and is skipped. Messages come in through
    ``inbox``; answers go out on ``connection``.
    """
    block: Optional[_Block] = None
    while True:
        try:
            message = inbox.recv()
        except (EOFError, OSError):
            break
        kind = message[0]
        if kind == "stop":
            break
        if kind == "block":
            if block is not None:
                block.close()
                block = None
            try:
                block = _Block(message)
            except Exception as exc:
                connection.send(("failed", message[1], f"{type(exc).__name__}: {exc}"))
            continue
        if kind == "recover":
            _, block_id, transactions = message
            if block is None or block.block_id != block_id:
                continue
            cpu = time.process_time()
            senders = []
            for index, raw in transactions:
                if cancelled.value == block_id:
                    break
                if index < position.value:
                    continue
                try:
                    sender = decode_transaction(raw).sender
                except Exception:  # (the coordinator recovers it itself, and fails as sequential execution does)
                    sender = None
                senders.append((index, sender))
            connection.send(("senders", block_id, senders, time.process_time() - cpu))
            continue
        if kind == "run":
            _, block_id, start, stop, commits, transactions = message
            if block is None or block.block_id != block_id:
                continue  # a chunk of a block this worker could not open (it said so)
            cpu = time.process_time()
            view = block.view
            for index, written in commits:
                view.learn(index, written)
            outcomes = []
            try:
                for index, (raw, sender) in zip(range(start, stop), transactions):
                    if cancelled.value == block_id or speculation_off.value == block_id:
                        break
                    if index < position.value:
                        continue
                    try:
                        tx = decode(raw, sender)
                    except TransactionDecodeError as exc:
                        outcomes.append((index, (UNPARALLEL, f"not decodable here: {exc}")))
                        continue
                    outcome = run_transaction(view, block.env, tx, block.base_fee_recipient)
                    if outcome[0] == RAN and outcome[2]:
                        view.learn(index, outcome[2])
                    outcomes.append((index, outcome))
            except Exception:
                connection.send(("failed", block_id, traceback.format_exc(limit=5)))
                continue
            connection.send(("done", block_id, outcomes, time.process_time() - cpu))


DEEP_STACK_BYTES = 512 * 1024 * 1024  # the EVM nests 1024 frames, each several Python frames deep
DEEP_RECURSION_LIMIT = 100_000


def main(connection, cancelled, speculation_off, position) -> None:
    """Process entry point (``multiprocessing`` target): ``serve`` on a thread with a deep stack."""
    sys.setrecursionlimit(DEEP_RECURSION_LIMIT)
    inbox = Inbox(connection)  # (on a default stack: it only reads)
    threading.stack_size(DEEP_STACK_BYTES)
    thread = threading.Thread(target=serve, args=(connection, inbox, cancelled, speculation_off, position),
                              name="hyperion-exec", daemon=True)
    thread.start()
    thread.join()
    connection.close()
