"""The coordinator: runs a block's transactions with warm worker processes (Block-STM).

``workers = N`` means N executing processes: the coordinator and N - 1
worker processes (``worker.py``). The block is cut into chunks; workers run
theirs speculatively, each from its own view of the pre-block state, and
send back per transaction what it read and what it wrote. The coordinator
commits in block order on the true state:

- a worker's transaction ``i`` is committed by applying its writes when
  every value it read is still the value on the true state after
  transactions ``0..i-1`` (validation by value); otherwise the coordinator
  re-executes it on the true state at once;
- the coordinator's own share of the chunks (one in N) and whatever no
  worker holds are run directly on the true state when their turn comes.

A committed prefix is therefore always exactly the sequential result,
whatever the workers did, and a worker that dies or fails only means the
coordinator runs the rest.

The multi-version memory is split: the coordinator's true state holds
every committed version; each worker keeps the latest version it knows per
account and slot (its own speculative writes, and the other workers'
commits, piggybacked on each new chunk: one message each way per chunk,
never a whole state).

Hot spots do not conflict: credits (the coinbase's fee, the base fee to
the Holders Mining vault, the recipient of a value transfer) are recorded
as deltas, not as read-then-write (``recording``), and added on commit.

Fallbacks (``BlockReport.reason`` says which ran and why): a block under
``min_transactions``, pre-Byzantium receipts (a state root per
transaction), a state the workers cannot read, or an environment that
cannot be sent, run sequentially; a block whose re-execution rate passes
``conflict_limit`` switches to sequential for the rest, and so does a
block whose worker died or failed. A transaction a speculative run cannot
represent (a credit reverted after its account was read, storage emptiness
after deletes) or a deposit is run by the coordinator. Self-destructs and
redeploys need no fallback: a redeploy reads the account the destruct
wrote, so validation orders them.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import multiprocessing
import pickle
import re
import time
import weakref
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Optional, Sequence

from hyperion.execution.deposit import DEPOSIT_TX_TYPE
from hyperion.execution.parallel import worker as worker_module
from hyperion.execution.parallel.recording import RecordingState, Unparallelizable, View, apply_writes, read_holds
from hyperion.execution.transaction import InvalidTransaction, TransactionResult, apply_transaction, base_fee_credit
from hyperion.primitives.keccak import EMPTY_KECCAK
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv

DEFAULT_MIN_TRANSACTIONS = 16
DEFAULT_CONFLICT_LIMIT = 0.5
SHIPPED_STATE_LIMIT = 50_000  # accounts + slots of an in-memory state sent to workers per block
_CONFLICT_SAMPLE = 16  # speculative outcomes consumed before the conflict rate is judged


class TransactionNotIncludable(Exception):
    """Transaction ``index`` cannot be included (``reason`` in geth's words)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"transaction {index}: {reason}")
        self.index = index
        self.reason = reason


@dataclass
class BlockReport:
    """How one block ran: ``mode`` is "parallel" or "sequential"; ``reason`` says why
    it ran (or switched to) sequential, empty when it ran in parallel throughout."""

    mode: str
    reason: str = ""
    transactions: int = 0
    reexecuted: int = 0  # speculative results that failed validation and were re-run
    coordinator_runs: int = 0  # transactions the coordinator ran itself (re-executions included)
    messages: int = 0  # coordinator <-> worker messages
    workers: int = 0
    coordinator_cpu: float = 0.0  # CPU seconds the coordinator's process spent on the block
    worker_cpu: float = 0.0  # CPU seconds the worker processes spent on the block's chunks, together

    @property
    def reexecutions_per_transaction(self) -> float:
        return self.reexecuted / self.transactions if self.transactions else 0.0

    def summary(self) -> str:
        """The mode and the kind of reason, without the numbers (to count blocks by)."""
        kind = re.split(r"[(\d]", self.reason, maxsplit=1)[0].strip().rstrip(":")
        return f"{self.mode}: {kind}" if kind else self.mode


@dataclass
class BlockOutcome:
    """``results`` in block order; with ``skip_invalid`` a skipped transaction's result is None
    and ``skipped`` says why (None: it did not fit in the gas left)."""

    results: list[Optional[TransactionResult]] = field(default_factory=list)
    gas_used: int = 0
    blob_gas_used: int = 0
    report: BlockReport = field(default_factory=lambda: BlockReport("sequential"))
    skipped: dict[int, Optional[str]] = field(default_factory=dict)


class _TrueStateView(View):
    """The coordinator's recorded runs read the true state itself (their reads hold by construction)."""

    def __init__(self, state) -> None:
        self.state = state
        self.codes: dict[bytes, bytes] = {}

    def account(self, address: bytes):
        state = self.state
        if not state.account_exists(address):
            return None
        code_hash = state.get_code_hash(address)
        if code_hash != EMPTY_KECCAK and code_hash not in self.codes:
            self.codes[code_hash] = state.get_code(address)
        return (state.get_nonce(address), state.get_balance(address), code_hash)

    def code(self, code_hash: bytes) -> bytes:
        return self.codes[code_hash]

    def slot(self, address: bytes, key: int) -> int:
        return self.state.get_storage(address, key)

    def has_storage(self, address: bytes) -> bool:
        return self.state.has_storage(address)


class _Worker:
    def __init__(self, context, number: int) -> None:
        self.number = number
        self.cancelled = context.RawValue("q", -1)
        self.connection, child = context.Pipe()
        self.process = context.Process(target=worker_module.main, args=(child, self.cancelled),
                                       name=f"hyperion-exec-{number}", daemon=True)
        self.process.start()
        child.close()
        self.in_flight: list[tuple[int, int]] = []
        self.commits: list = []
        self.usable = True  # for the current block

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        try:
            self.connection.send(("stop",))
        except (OSError, ValueError):
            pass
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2)
        self.connection.close()


class ParallelEngine:
    """Warm worker processes plus the coordinator (see the module docstring).

    ``workers``: executing processes, the coordinator included (1 means sequential).
    ``min_transactions``: smaller blocks run sequentially (0 or 1 forces the
    parallel path for every block with transactions, as ``blocktest
    --parallel`` does to check it). ``conflict_limit``: the share of
    re-executed transactions above which a block finishes sequentially.
    """

    def __init__(self, workers: int, *, min_transactions: int = DEFAULT_MIN_TRANSACTIONS,
                 conflict_limit: float = DEFAULT_CONFLICT_LIMIT, chunk_size: Optional[int] = None,
                 start_method: str = "forkserver") -> None:
        if type(workers) is not int or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        self.worker_count = workers
        self.min_transactions = min_transactions
        self.conflict_limit = conflict_limit
        self.chunk_size = chunk_size
        self.start_method = start_method
        self._workers: list[_Worker] = []
        self._block_id = 0
        self.last_report: Optional[BlockReport] = None
        self.tally: collections.Counter = collections.Counter()  # blocks by ``BlockReport.summary()``
        _ENGINES.add(self)

    # -- lifecycle -----------------------------------------------------------------------
    def _start(self) -> list[_Worker]:
        """The live workers, (re)starting any that died."""
        live = [w for w in self._workers if w.alive()]
        for w in self._workers:
            if w not in live:
                w.stop()
        wanted = self.worker_count - 1  # the coordinator is the last of the workers
        if len(live) < wanted:
            context = multiprocessing.get_context(self.start_method)
            if self.start_method == "forkserver":
                context.set_forkserver_preload([worker_module.__name__])
            while len(live) < wanted:
                live.append(_Worker(context, len(live)))
        self._workers = live
        return live

    def close(self) -> None:
        """Stop the worker processes (a later block starts new ones)."""
        workers, self._workers = self._workers, []
        for w in workers:
            w.stop()

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.alive()]

    # -- one block -----------------------------------------------------------------------
    def run(self, state, env: BlockEnv, transactions: Sequence, *, base_fee_recipient: Optional[bytes] = None,
            intermediate_roots: bool = False, skip_invalid: bool = False, gas_used: int = 0,
            blob_gas_used: int = 0) -> BlockOutcome:
        """Execute ``transactions`` on ``state`` exactly as in sequence, after ``gas_used`` and
        ``blob_gas_used`` of the block (transactions already in it).

        Raises ``TransactionNotIncludable`` for the first that cannot be included
        (a block being imported), or, with ``skip_invalid``, leaves it out and goes
        on (a block being built from candidates).
        """
        cpu_start = time.process_time()
        outcome = BlockOutcome(gas_used=gas_used, blob_gas_used=blob_gas_used)
        report = outcome.report
        report.transactions = len(transactions)
        block = _BlockRun(self, state, env, transactions, base_fee_recipient, outcome, skip_invalid)
        try:
            reason = self._why_sequential(state, transactions, intermediate_roots)
            if reason is None:
                reason = block.start()
            if reason is not None:
                report.mode, report.reason = "sequential", reason
                block.finish_locally(0)
            else:
                report.mode = "parallel"
                block.run()
        finally:
            block.drain()
            report.coordinator_cpu = time.process_time() - cpu_start
            self.last_report = report
            self.tally[report.summary()] += 1
        return outcome

    def _why_sequential(self, state, transactions: Sequence, intermediate_roots: bool) -> Optional[str]:
        if self.worker_count < 2:
            return "one worker: sequential by configuration"
        if not transactions:
            return "no transactions"
        if len(transactions) < max(1, self.min_transactions):
            return f"small block ({len(transactions)} transactions < {self.min_transactions})"
        if intermediate_roots:
            return "pre-Byzantium receipts carry a state root per transaction"
        return None


_ENGINES: "weakref.WeakSet[ParallelEngine]" = weakref.WeakSet()


@atexit.register
def _close_engines() -> None:
    for engine in list(_ENGINES):
        engine.close()


def base_state_spec(state) -> tuple[Optional[tuple], Optional[str]]:
    """How workers read ``state``'s pre-block base: ``(spec, None)`` or ``(None, why not)``."""
    snapshot = getattr(state, "base_snapshot", None)
    if snapshot is not None:  # a MetisDB pending state: workers open their own read snapshot
        number = getattr(state, "parent_block", None)
        path = getattr(getattr(snapshot, "_db", None), "path", None)
        if number is None or path is None:
            return None, "the pending state has no committed parent block"
        return ("metisdb", str(path), number), None
    if isinstance(state, MemoryState):
        accounts, codes, storage = {}, {}, {}
        entries = 0
        for address, account in state.accounts():
            accounts[address] = (account.nonce, account.balance, account.code_hash)
            if account.code:
                codes[account.code_hash] = account.code
            slots = state.get_storage_items(address)
            if slots:
                storage[address] = slots
            entries += 1 + len(slots)
            if entries > SHIPPED_STATE_LIMIT:
                return None, (f"in-memory state over {SHIPPED_STATE_LIMIT} accounts and slots: not sent to "
                              "workers (use MetisDB)")
        return ("shipped", accounts, codes, storage), None
    return None, f"workers cannot read a {type(state).__name__}"


def environment_fields(env: BlockEnv) -> dict:
    """Every field of the block environment but the BLOCKHASH function (see ``recent_block_hashes``),
    with the fork as workers can receive it (``portable_fork``)."""
    fields = {f.name: getattr(env, f.name) for f in dataclasses.fields(env) if f.name != "block_hash"}
    fields["fork"] = portable_fork(env.fork)
    return fields


def _coordinator_only(*_args) -> int:
    raise Unparallelizable("a node-bound precompile runs only in the node's own process")


_PORTABLE_FORKS: dict[int, tuple] = {}


def portable_fork(fork):
    """``fork`` itself when it pickles; else the same fork whose node-bound precompiles (closures
    over the node's model store, ``Fork.extra["precompiles"]``) hand their transactions back to the
    coordinator. Anything else that does not pickle stays as it is (the block then runs sequentially)."""
    cached = _PORTABLE_FORKS.get(id(fork))
    if cached is not None and cached[0] is fork:
        return cached[1]
    portable = fork
    try:
        pickle.dumps(fork)
    except Exception:
        precompiles = fork.extra.get("precompiles") if fork.extra else None
        if precompiles:
            replaced = {}
            for address, precompile in precompiles.items():
                try:
                    pickle.dumps(precompile)
                except Exception:
                    precompile = dataclasses.replace(precompile, gas=_coordinator_only, run=_coordinator_only)
                replaced[address] = precompile
            extra = {key: value for key, value in fork.extra.items() if key != "models"}
            extra["precompiles"] = replaced
            portable = dataclasses.replace(fork, extra=extra)
    _PORTABLE_FORKS[id(fork)] = (fork, portable)
    return portable


def recent_block_hashes(env: BlockEnv) -> dict[int, bytes]:
    """BLOCKHASH's answers for the block (the 256 before it), for the workers."""
    hashes = {}
    for number in range(max(0, env.number - 256), env.number):
        found = env.block_hash(number)
        if found is not None:
            hashes[number] = found
    return hashes


class _BlockRun:
    """The coordinator's side of one block."""

    def __init__(self, engine: ParallelEngine, state, env: BlockEnv, transactions: Sequence,
                 base_fee_recipient: Optional[bytes], outcome: BlockOutcome, skip_invalid: bool = False) -> None:
        self.engine = engine
        self.skip_invalid = skip_invalid
        self.state = state
        self.env = env
        self.transactions = transactions
        self.recipient = base_fee_recipient
        self.outcome = outcome
        self.report = outcome.report
        self.workers: list[_Worker] = []
        self.speculative: dict[int, tuple] = {}  # index -> a worker's outcome
        self.ran_by: dict[int, _Worker] = {}
        self.next_dispatch = 0
        self.chunks_cut = 0
        self.speculated = 0  # speculative outcomes consumed (validated or not)
        self.applied = 0  # speculative outcomes committed
        self.credits: dict[bytes, int] = {}  # committed lazy credits not applied to the state yet
        self.parallel = False
        count = len(transactions)
        self.chunk = engine.chunk_size or max(1, min(64, count // (engine.worker_count * 6)))

    # -- starting ----------------------------------------------------------------------
    def start(self) -> Optional[str]:
        """Send the block to the workers; a reason to run sequentially instead, or None."""
        base, why_not = base_state_spec(self.state)
        if base is None:
            return why_not
        engine = self.engine
        engine._block_id += 1
        self.block_id = engine._block_id
        env = self.env
        message = ("block", self.block_id, environment_fields(env), recent_block_hashes(env),
                   list(self.transactions), self.recipient, base)
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return f"block cannot be sent to workers ({type(exc).__name__}: {exc})"
        try:
            workers = engine._start()
        except Exception as exc:
            return f"workers could not start ({type(exc).__name__}: {exc})"
        for w in workers:
            w.in_flight, w.commits, w.usable = [], [], True
            try:
                w.connection.send_bytes(payload)
                self.report.messages += 1
            except (OSError, ValueError):
                w.usable = False
        self.workers = [w for w in workers if w.usable]
        if not self.workers:
            return "no worker could be reached"
        self.report.workers = len(self.workers) + 1
        self.parallel = True
        return None

    # -- the loop ----------------------------------------------------------------------
    def run(self) -> None:
        """Commit in block order: a worker's validated result, or, where no worker holds the
        transaction (the coordinator's share of the chunks, or after a fallback), a direct run."""
        for w in self.workers:
            self._dispatch(w)
            self._dispatch(w)
        count = len(self.transactions)
        results = self.outcome.results
        index = 0
        while index < count:
            if index in self.speculative:
                results.append(self._commit(index))
                index += 1
            elif self.parallel and self._in_flight(index):
                self._receive(block=True)
            else:
                results.append(self._run_here(index))
                index += 1
                if self.parallel and not index % 4:
                    self._receive(block=False)  # keep the workers fed while the coordinator runs its share
        self.settle_credits()
        self.state.begin_transaction()

    def _in_flight(self, index: int) -> bool:
        return any(start <= index < stop for w in self.workers for start, stop in w.in_flight)

    def _dispatch(self, w: _Worker) -> None:
        """Give ``w`` the next chunk; every (workers + 1)-th chunk stays with the coordinator."""
        count = len(self.transactions)
        if not self.parallel or not w.usable or self.next_dispatch >= count:
            return
        if self.chunks_cut % (len(self.workers) + 1) == len(self.workers):
            self.chunks_cut += 1
            self.next_dispatch = min(count, self.next_dispatch + self.chunk)  # the coordinator's share
        start = self.next_dispatch
        while start < count and self.transactions[start].type == DEPOSIT_TX_TYPE:
            start += 1  # deposits run on the coordinator (they mint, and buy no gas)
        if start >= count:
            self.next_dispatch = count
            return
        stop = min(count, start + self.chunk)
        for index in range(start + 1, stop):
            if self.transactions[index].type == DEPOSIT_TX_TYPE:
                stop = index
                break
        self.next_dispatch = stop
        self.chunks_cut += 1
        commits, w.commits = w.commits, []
        try:
            w.connection.send(("run", self.block_id, start, stop, commits))
        except (OSError, ValueError):
            self._lose(w, f"worker {w.number} could not be reached")
            return
        self.report.messages += 1
        w.in_flight.append((start, stop))

    def _receive(self, block: bool) -> None:
        connections = {w.connection: w for w in self.workers if w.in_flight}
        if not connections:
            return
        for connection in wait(list(connections), timeout=None if block else 0):
            w = connections[connection]
            try:
                message = connection.recv()
            except (EOFError, OSError):
                self._lose(w, f"worker {w.number} died")
                continue
            self.report.messages += 1
            if message[1] != self.block_id:
                continue
            if message[0] == "failed":
                self._lose(w, f"worker {w.number} failed: {message[2].strip().splitlines()[-1]}")
                continue
            w.in_flight.pop(0)
            self.report.worker_cpu += message[3]
            for index, outcome in message[2]:
                self.speculative[index] = outcome
                self.ran_by[index] = w
            self._dispatch(w)

    def _lose(self, w: _Worker, reason: str) -> None:
        """A worker is out for this block: the rest runs on the coordinator, in order."""
        w.usable = False
        w.in_flight = []
        self.workers = [other for other in self.workers if other is not w]
        self._give_up(reason)

    def _give_up(self, reason: str) -> None:
        if self.parallel:
            self.parallel = False
            self.report.reason = f"switched to sequential: {reason}"
            for w in self.workers:
                w.cancelled.value = self.block_id

    # -- committing ---------------------------------------------------------------------
    def _commit(self, index: int) -> Optional[TransactionResult]:
        """Commit a worker's outcome for ``index`` if every read holds, else run it here."""
        tx = self.transactions[index]
        outcome = self.outcome
        speculative = self.speculative.pop(index)
        self.speculated += 1
        env = self.env
        if speculative[0] == worker_module.RAN:
            _, reads, written, credits, fields, sender = speculative
            if (tx.gas <= env.gas_limit - outcome.gas_used
                    and (not fields[5] or fields[5] <= env.fork.max_blob_gas_per_block - outcome.blob_gas_used)
                    and self._reads_hold(reads)):
                apply_writes(self.state, written, reads)
                pending = self.credits
                for address, amount in credits:
                    pending[address] = pending.get(address, 0) + amount
                self.applied += 1
                if not self.applied % 256:
                    self.state.begin_transaction()  # (drops the journal the writes left)
                if self.parallel and written and len(self.workers) > 1:
                    owner = self.ran_by.get(index)
                    for w in self.workers:
                        if w is not owner:
                            w.commits.append((index, written))
                if sender is not None and tx._sender is None:
                    object.__setattr__(tx, "_sender", sender)  # (recovered by the worker: the store wants it)
                result = worker_module.result_from_fields(fields)
                self._count(result)
                return result
        self.report.reexecuted += 1  # its speculative run was wrong (or not possible) on the true state
        if (self.parallel and self.speculated >= _CONFLICT_SAMPLE
                and self.report.reexecuted > self.engine.conflict_limit * self.speculated):
            self._give_up(f"conflict rate {self.report.reexecuted}/{self.speculated} re-executed; rest sequential")
        return self._run_here(index)

    def _reads_hold(self, reads: dict) -> bool:
        """Validation: every value the speculative run read is the true state's now."""
        state = self.state
        pending = self.credits
        for key, value in reads.items():
            if pending:
                address = key if type(key) is bytes else key[0]
                if address in pending:
                    state.add_balance(address, pending.pop(address))  # (a read sees the credits before it)
            if not read_holds(state, key, value):
                return False
        return True

    def settle_credits(self) -> None:
        """Apply the credits of committed transactions not applied yet (they commute: any time
        before the account is next read, or the block ends, is exact)."""
        state = self.state
        for address, amount in self.credits.items():
            state.add_balance(address, amount)
        self.credits.clear()

    def _run_here(self, index: int) -> Optional[TransactionResult]:
        """Run transaction ``index`` on the true state, exactly as the sequential executor does."""
        outcome = self.outcome
        self.report.coordinator_runs += 1
        state = self.state
        if self.credits:
            self.settle_credits()
        env = self.env
        tx = self.transactions[index]
        if self.skip_invalid and (tx.gas > env.gas_limit - outcome.gas_used or (
                tx.blob_gas and tx.blob_gas > env.fork.max_blob_gas_per_block - outcome.blob_gas_used)):
            outcome.skipped[index] = None  # does not fit (any more): not invalid
            return None
        try:
            if self.parallel and (tx.to is None or state.get_code(tx.to)):
                result = self._run_recorded(index, tx)  # (its writes may matter to the workers' views)
                if result is not None:
                    return result
            result = apply_transaction(state, env, tx, block_gas_used=outcome.gas_used,
                                       block_blob_gas_used=outcome.blob_gas_used)
        except InvalidTransaction as exc:
            if self.skip_invalid:
                outcome.skipped[index] = str(exc)
                return None
            raise TransactionNotIncludable(index, str(exc)) from None
        if self.recipient is not None:
            credit = base_fee_credit(env, result)
            if credit:
                state.add_balance(self.recipient, credit)
        if self.parallel:
            self._tell_sender(index, tx)
        self._count(result)
        return result

    def _run_recorded(self, index: int, tx) -> Optional[TransactionResult]:
        """A direct run that records its writes, applies them, and passes them to the workers
        (a contract call or creation: what it wrote later transactions may read). None when the
        transaction cannot be recorded (then it runs plainly). Raises ``InvalidTransaction``."""
        outcome = self.outcome
        state = self.state
        recording = RecordingState(_TrueStateView(state))
        try:
            result = apply_transaction(recording, self.env, tx, block_gas_used=outcome.gas_used,
                                       block_blob_gas_used=outcome.blob_gas_used)
            if self.recipient is not None:
                credit = base_fee_credit(self.env, result)
                if credit:
                    recording.add_balance(self.recipient, credit)
            written, credits = recording.writes()
        except Unparallelizable:
            return None
        apply_writes(state, written, recording.reads)
        for address, amount in credits:
            state.add_balance(address, amount)
        state.begin_transaction()
        if written:
            for w in self.workers:
                w.commits.append((index, written))
        self._count(result)
        return result

    def _tell_sender(self, index: int, tx) -> None:
        """After a direct run, tell the workers the sender's account as it is now: its next
        transactions (the commonest dependency) then run on the right nonce and balance."""
        sender = getattr(tx, "_sender", None)
        state = self.state
        if sender is None or not state.account_exists(sender):
            return
        written = [(sender, (state.get_nonce(sender), state.get_balance(sender), state.get_code_hash(sender)),
                    None, False, None)]
        for w in self.workers:
            w.commits.append((index, written))

    def _count(self, result: TransactionResult) -> None:
        self.outcome.gas_used += result.gas_used
        self.outcome.blob_gas_used += result.blob_gas_used

    def finish_locally(self, start: int) -> None:
        self.parallel = False
        for index in range(start, len(self.transactions)):
            self.outcome.results.append(self._run_here(index))
        self.settle_credits()

    # -- ending -------------------------------------------------------------------------
    def drain(self) -> None:
        """Collect the answers still owed for this block so the next block starts clean."""
        pending = [w for w in self.workers if w.in_flight]
        if not pending:
            return
        for w in pending:
            w.cancelled.value = self.block_id
        deadline = time.monotonic() + 30
        while pending and time.monotonic() < deadline:
            ready = wait([w.connection for w in pending], timeout=max(0.0, deadline - time.monotonic()))
            for w in pending:
                if w.connection in ready:
                    try:
                        message = w.connection.recv()
                    except (EOFError, OSError):
                        w.in_flight = []
                        continue
                    if message[1] == self.block_id and w.in_flight:
                        w.in_flight.pop(0)
            pending = [w for w in pending if w.in_flight]
        for w in pending:  # stuck: replaced at the next block
            w.process.kill()


__all__ = ["BlockOutcome", "BlockReport", "DEFAULT_CONFLICT_LIMIT", "DEFAULT_MIN_TRANSACTIONS", "ParallelEngine",
           "TransactionNotIncludable", "base_state_spec"]
