"""The coordinator: runs a block's transactions with warm worker processes (Block-STM).

``workers = N`` means N executing processes: the coordinator and N - 1
worker processes (``worker.py``). The block is cut into chunks, and each
chunk goes one of three ways (``CostModel.plan``, from CPU costs measured on
recent blocks, so the mix follows the workload):

- A: the coordinator runs it alone, directly on the true state;
- B: a worker recovers its senders ahead of time (secp256k1 recovery is most
  of a light transaction's cost and needs no speculation), then the
  coordinator runs it directly; where the coordinator reaches a chunk whose
  senders are not back yet, it takes the rest of that chunk over (the worker
  skips it), so its share follows the processes' real speeds;
- C: a worker runs it speculatively from its own view of the pre-block
  state and sends back per transaction what it read and what it wrote.

The coordinator commits in block order on the true state: a C outcome for
transaction ``i`` is committed by applying its writes when every value it
read is still the value on the true state after transactions ``0..i-1``
(validation by value), otherwise ``i`` is re-executed here at once; A and B
transactions run here when their turn comes. A committed prefix is
therefore always exactly the sequential result, whatever the workers did,
and a worker that dies or fails only means the coordinator runs the rest.
The coordinator does not idle behind a slow worker: after a few
transactions' time it runs the chunk's transactions itself (what comes back
later is used), and it tells the workers where it is so they skip work it
has done.

The multi-version memory is split: the coordinator's true state holds
every committed version; each worker keeps the latest version it knows per
account and slot (its own speculative writes, the other workers' commits,
and the coordinator's own writes, read from the state's journal by
``journal``), piggybacked on each new chunk: one message each way per chunk,
never a whole state.

Hot spots do not conflict: credits (the coinbase's fee, the base fee to
the Holders Mining vault, the recipient of a value transfer) are recorded
as deltas, not as read-then-write (``recording``), and added on commit.

Fallbacks (``BlockReport.reason`` says which ran and why): a block under
``min_transactions``, one the measured costs say would not gain (``WORTH_IT``;
after ``RETRY_AFTER`` such blocks one runs in parallel to measure again, and
later and later while those do not pay either), pre-Byzantium receipts (a
state root per transaction), a state the workers cannot read, or an
environment that cannot be sent, run sequentially; a
block whose re-execution rate passes ``conflict_limit`` stops speculating
(B goes on: conflicts cannot spoil a sender); a block whose worker died or
failed switches to sequential for the rest. A transaction a speculative run
cannot represent (a credit reverted after its account was read, storage
emptiness after deletes) or a deposit is run by the coordinator.
Self-destructs and redeploys need no fallback: a redeploy reads the account
the destruct wrote, so validation orders them.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import multiprocessing
import pickle
import re
import select
import time
import weakref
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Optional, Sequence

from hyperion.execution.deposit import DEPOSIT_TX_TYPE
from hyperion.execution.parallel import journal
from hyperion.execution.parallel import worker as worker_module
from hyperion.execution.parallel.recording import Unparallelizable, apply_writes, read_holds
from hyperion.execution.transaction import InvalidTransaction, TransactionResult, apply_transaction, base_fee_credit
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv

DEFAULT_MIN_TRANSACTIONS = 16
DEFAULT_CONFLICT_LIMIT = 0.5
SHIPPED_STATE_LIMIT = 50_000  # accounts + slots of an in-memory state sent to workers per block
_CONFLICT_SAMPLE = 8  # speculative outcomes consumed before the conflict rate is judged
WORTH_IT = 0.9  # run in parallel only when the estimate is below this share of the sequential time
# The three ways a transaction can go (``CostModel.plan``), and the stretches of CPU time measured.
_WAY_A, _WAY_B, _WAY_C = 0, 1, 2
_DIRECT, _GIVEN, _COMMIT, _SPECULATIVE, _RECOVER = 0, 1, 2, 3, 4
RETRY_AFTER = 4  # blocks declined as not worth it before one runs in parallel to measure the costs again,
RETRY_AFTER_MOST = 32  # doubled (up to this) each time such a retry does not pay either


@dataclass
class CostModel:
    """What the engine has measured in CPU time, averaged over recent blocks (so it follows the
    workload): ``direct``, seconds per transaction run on the coordinator, sender recovery
    included; relative to that, the part of it that is recovering the sender (``recovery``), a
    worker's speculative run (``speculative``), a worker's recovery of a sender for the
    coordinator (``recover``), the coordinator's commit of a worker's outcome (``commit``:
    receiving, validating, applying) and its messages for a recovered sender (``relay``);
    ``overhead``, seconds per block of running it in parallel.

    A transaction can go three ways: the coordinator runs it alone (A), a worker recovers its
    sender ahead and the coordinator runs it (B), or a worker runs it speculatively and the
    coordinator commits it (C). ``plan`` picks the mix that finishes first. Sender recovery is
    most of a plain transfer's cost and needs no speculation, so B carries light blocks, and
    conflicts do not stop it; C carries heavy transactions.
    """

    direct: float = 100e-6
    recovery: float = 0.6
    speculative: float = 1.5
    recover: float = 0.8
    commit: float = 0.15
    relay: float = 0.03  # the coordinator's side of B: sending the chunk, taking the senders in
    overhead: float = 1e-3

    def plan(self, workers: int, unrecovered: float = 1.0, speculation: bool = True) -> tuple[float, float, float, float]:
        """``(a, b, c, time)``: the shares of the three ways and the block's time per transaction
        relative to ``direct``, for ``workers`` worker processes, when a share ``unrecovered`` of
        the senders is not known yet; without ``speculation``, C is left out."""
        workers = max(1, workers)
        alone = 1.0 - self.recovery * (1.0 - unrecovered)  # (a known sender is not recovered again)
        # (coordinator, worker) cost per transaction of each way
        ways = ((alone, 0.0), (1.0 - self.recovery + self.relay, self.recover * unrecovered / workers),
                (self.commit, self.speculative / workers))
        best = (1.0, 0.0, 0.0, alone)
        pairs = ((0, 1), (0, 2), (1, 2)) if speculation else ((0, 1),)
        for first, second in pairs:
            (c1, w1), (c2, w2) = ways[first], ways[second]
            # share x of the second way that balances: (1-x)c1 + x c2 = (1-x)w1 + x w2
            slope = (c2 - c1) - (w2 - w1)
            x = 1.0 if slope >= 0 else min(1.0, max(0.0, (w1 - c1) / slope))
            time_ = max((1 - x) * c1 + x * c2, (1 - x) * w1 + x * w2)
            if time_ < best[3]:
                shares = [0.0, 0.0, 0.0]
                shares[first], shares[second] = 1 - x, x
                best = (*shares, time_)
        return best

    def estimate(self, transactions: int, workers: int, unrecovered: float = 1.0) -> tuple[float, float]:
        """(parallel, sequential) seconds for a block of ``transactions`` without conflicts."""
        time_ = self.plan(workers, unrecovered)[3]
        block = transactions * self.direct
        return block * time_ + self.overhead, block * (1.0 - self.recovery * (1.0 - unrecovered))


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
    seconds: float = 0.0  # wall-clock seconds the block took
    coordinator_cpu: float = 0.0  # CPU seconds the coordinator's process spent on the block
    worker_cpu: float = 0.0  # CPU seconds the worker processes spent on the block's chunks, together
    ways: tuple = (0, 0, 0)  # transactions cut for each way of ``CostModel.plan`` (alone, B, C)

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


class _Worker:
    def __init__(self, context, number: int) -> None:
        self.number = number
        self.cancelled = context.RawValue("q", -1)  # the id of a block given up: stop its work
        self.speculation_off = context.RawValue("q", -1)  # ... of a block whose speculation stopped
        self.position = context.RawValue("q", 0)  # the transaction the coordinator is at: skip those before
        self.connection, child = context.Pipe()
        self.process = context.Process(target=worker_module.main,
                                       args=(child, self.cancelled, self.speculation_off, self.position),
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
    ``min_transactions``: smaller blocks run sequentially; larger ones run in
    parallel only when the measured costs (``costs``) say it pays. 0 or 1
    forces the parallel path for every block with transactions, as
    ``blocktest --parallel`` does to check it. ``conflict_limit``: the share
    of re-executed transactions above which a block stops speculating.
    ``ways``: fixed shares of the three ways of ``CostModel.plan`` instead of
    the measured plan (for checks that must see each way taken; with no share
    for the coordinator alone, the first chunk goes to a worker too).
    ``patience``: seconds the coordinator waits for a speculative chunk before
    running it itself (None: a few transactions' measured time).
    ``CHECK`` are the options of ``blocktest``/``statetest --parallel N``: every
    block with transactions down the parallel path, every transaction run
    speculatively and validated.
    """

    CHECK = {"min_transactions": 1, "ways": (0.0, 0.0, 1.0), "patience": 3600.0}  # (a check waits: no duplicate runs)

    def __init__(self, workers: int, *, min_transactions: int = DEFAULT_MIN_TRANSACTIONS,
                 conflict_limit: float = DEFAULT_CONFLICT_LIMIT, chunk_size: Optional[int] = None,
                 start_method: str = "forkserver", ways: Optional[tuple[float, float, float]] = None,
                 patience: Optional[float] = None) -> None:
        if type(workers) is not int or workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        self.worker_count = workers
        self.min_transactions = min_transactions
        self.conflict_limit = conflict_limit
        self.chunk_size = chunk_size
        self.start_method = start_method
        self.ways = ways
        self.patience = patience
        self.costs = CostModel()
        self.realized: Optional[float] = None  # see ``_realized`` (acted on from the second block measured)
        self._realized_blocks = 0
        self._expected: Optional[float] = None  # the sequential estimate of the block being run
        self._declined = 0  # blocks declined since the last one run in parallel
        self._retry_after = RETRY_AFTER
        self._retrying = False  # the block being run was let through to measure again
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
            self._expected = None  # (a block that starts workers, or is their first, measures their start-up)
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
        cpu_start, wall_start = time.process_time(), time.perf_counter()
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
            report.seconds = time.perf_counter() - wall_start
            report.ways = block.ways()
            block.learn_costs()
            self._realized(report)
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
        self._expected = None
        if self.min_transactions > 1:
            parallel, sequential = self.costs.estimate(len(transactions), self.worker_count - 1,
                                                       unrecovered_share(transactions))
            why = None
            if parallel > WORTH_IT * sequential:
                why = f"estimated {parallel * 1e3:.1f} ms in parallel vs {sequential * 1e3:.1f} ms sequentially"
            elif self._realized_blocks >= 2 and self.realized > WORTH_IT:
                why = f"recent parallel blocks took {self.realized:.2f} of their sequential estimate"
            if why is not None:
                self._declined += 1
                if self._declined < self._retry_after:  # (then one runs in parallel to measure again)
                    return f"not worth it: {why}"
                self._declined, self._retrying = 0, True
            self._expected = sequential
        return None

    def _realized(self, report: BlockReport) -> None:
        """After a block that ran in parallel by the policy: the busiest process's CPU time over the
        sequential estimate, averaged over recent blocks (``realized``). It catches what the cost
        model misses: above ``WORTH_IT``, blocks run sequentially (and now and then re-measure).
        A block whose wall-clock time passed the estimate counts as at least that: the coordinator
        waiting for a worker costs no CPU (speculation on light blocks whose senders were known took
        twice the sequential time at 0.8-0.95 of the estimate in CPU time). Wall time alone would
        decline good blocks whenever the machine is busy for a moment."""
        expected = self._expected
        if not expected or report.mode != "parallel" or report.reason:
            return
        busiest = max(report.coordinator_cpu, report.worker_cpu / max(1, report.workers - 1))
        ratio = max(busiest, report.seconds * WORTH_IT) / expected  # (wall: above WORTH_IT when slower)
        self.realized = ratio if self.realized is None else (self.realized + ratio) / 2
        self._realized_blocks += 1
        if self._retrying:  # (a retry that did not pay either: wait twice as long for the next)
            self._retrying = False
            self._retry_after = RETRY_AFTER if self.realized <= WORTH_IT else min(2 * self._retry_after,
                                                                                   RETRY_AFTER_MOST)


_ENGINES: "weakref.WeakSet[ParallelEngine]" = weakref.WeakSet()


def unrecovered_share(transactions: Sequence) -> float:
    """The share of ``transactions`` whose sender is not known yet (recovered, or set by the node)."""
    if not transactions:
        return 0.0
    return sum(1 for tx in transactions if getattr(tx, "_sender", None) is None) / len(transactions)


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
    """The coordinator's side of one block.

    The block is cut into chunks in order, and each goes one of the three
    ways of ``CostModel.plan`` (in the shares the engine's costs give at the
    block's start; the first chunk, or with B the coordinator's whole share,
    stays with the coordinator, which runs it while the workers take the block
    in and get ahead, unless fixed ``ways`` give it no share): the coordinator
    keeps it (A); a worker recovers its senders ahead
    and the coordinator runs it (B: the coordinator takes over the rest of a
    chunk it reaches first, nothing waits for it); a worker runs it
    speculatively (C). Workers take their chunks in order, up to ``DEPTH`` in
    flight each. The coordinator commits in block order: a worker's validated
    outcome, or a direct run.
    """

    DEPTH = 3  # chunks in flight per worker

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
        self.position = 0  # the coordinator has committed or run every transaction before this one
        self.assigned = [0, 0, 0]  # transactions cut into chunks of each way (A, B, C)
        self.shares = (1.0, 0.0, 0.0)  # the planned shares of the three ways (``run``)
        self.delivered = 0  # senders workers recovered before the coordinator reached them
        self._by_fd: Optional[dict] = None  # the workers by their connection's file descriptor
        self.speculated = 0  # speculative outcomes consumed (validated or not)
        self.applied = 0  # speculative outcomes committed
        self.credits: dict[bytes, int] = {}  # committed lazy credits not applied to the state yet
        self.parallel = False
        self.speculation = True  # C is one of the ways (until conflicts stop it)
        self.sharing = False  # the coordinator's direct runs can pass their writes to the workers
        self.speculating = False  # ... and do: C is in the plan (else nothing reads them)
        self.skip_shared = tuple(address for address in (env.coinbase, base_fee_recipient) if address)
        count = len(transactions)
        self.unrecovered = unrecovered_share(transactions)
        self.chunk = engine.chunk_size or max(1, min(64, count // ((engine.worker_count + 1) * 4)))
        # CPU seconds and transactions measured in this block (see ``CostModel``), by stretch
        self.times = [0.0, 0.0, 0.0, 0.0, 0.0]  # direct (recovering), direct (sender known), commit,
        self.runs = [0, 0, 0, 0, 0]  # speculative (workers), recover (workers)
        self.relay_time = self.exchange_time = 0.0  # the coordinator's messages for B, for C
        self.messaging = self.messaging_mark = 0.0  # (their sum, and where the current stretch began)
        self.overhead_time = 0.0  # starting the block

    # -- starting ----------------------------------------------------------------------
    def start(self) -> Optional[str]:
        """Send the block to the workers; a reason to run sequentially instead, or None.
        (The transactions go with the chunks, as bytes: a worker decodes only its own.)"""
        clock = time.process_time()
        try:
            return self._start()
        finally:
            self.overhead_time += time.process_time() - clock

    def _start(self) -> Optional[str]:
        base, why_not = base_state_spec(self.state)
        if base is None:
            return why_not
        engine = self.engine
        engine._block_id += 1
        self.block_id = engine._block_id
        env = self.env
        message = ("block", self.block_id, environment_fields(env), recent_block_hashes(env), self.recipient, base)
        try:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            return f"block cannot be sent to workers ({type(exc).__name__}: {exc})"
        clock = time.process_time()
        try:
            workers = engine._start()
        except Exception as exc:
            return f"workers could not start ({type(exc).__name__}: {exc})"
        finally:
            self.overhead_time -= time.process_time() - clock  # (starting processes is once, not per block)
        for w in workers:
            w.in_flight, w.commits, w.usable = [], [], True
            w.position.value = 0
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
        transaction (the coordinator's share, or after a fallback), a direct run."""
        count = len(self.transactions)
        ways = self.engine.ways
        # (planned once per block, on the costs of recent blocks: this block's first measurements
        # are too few to plan by, and a plan that changes from chunk to chunk wastes the workers)
        self.shares = ways or self.engine.costs.plan(len(self.workers), self.unrecovered)[:3]
        if ways is None or ways[_WAY_A] > 0:  # the first chunk is the coordinator's
            first = self.chunk
            if self.shares[_WAY_B] > 0 and self.unrecovered:
                # With B, the coordinator's planned share comes first: while it runs those alone,
                # the workers recover ahead, and the lead lasts (it shrinks where the coordinator
                # is faster with a sender given than a worker at recovering one; what a worker
                # has not recovered in time, the coordinator takes over).
                first = max(first, round(self.shares[_WAY_A] * count))
            self.next_dispatch = self.assigned[_WAY_A] = min(count, first)
        if self.shares[_WAY_C] > 0:  # (workers' views need the coordinator's writes only for C)
            self.sharing = journal.capture_journals(self.state)
        for w in self.workers:
            self._dispatch(w)
        transactions = self.transactions
        results = self.outcome.results
        index = 0
        overtaken = 0  # up to here, in-flight speculative chunks are not waited for
        claimed = 0  # up to here, the coordinator recovers the senders (the workers skip them)
        stretch = _DIRECT  # what the CPU time since ``clock`` is spent on
        clock = time.process_time()
        positions = [w.position for w in self.workers]
        while index < count:
            if index in self.speculative:
                if stretch != _COMMIT:
                    clock, stretch = self._stretch_ends(stretch, clock), _COMMIT
                results.append(self._commit(index))
            else:
                if index >= overtaken:
                    chunk = self._in_flight(index)
                    if chunk is not None:
                        # Wait a few transactions' time; if the outcome is not back by then, run
                        # the chunk's transactions here (the coordinator never idles for long
                        # behind a slow or descheduled worker; what comes back later is used).
                        patience = self.engine.patience
                        if patience is None:
                            patience = min(0.005, 4 * self._costs().direct)
                        if self._receive(timeout=patience):
                            continue
                        overtaken = chunk[1]
                kind = _DIRECT if getattr(transactions[index], "_sender", None) is None else _GIVEN
                if kind == _DIRECT and index >= claimed and self._recovering(index) is not None:
                    self._receive(timeout=0)  # (it may be back already)
                    chunk = self._recovering(index)
                    if chunk is not None:
                        # A worker has not recovered this sender yet: the rest of its chunk is the
                        # coordinator's (the worker skips it and sends what it has), so no sender is
                        # recovered twice and the coordinator's share follows the real speeds.
                        claimed = chunk[1]
                    elif getattr(transactions[index], "_sender", None) is not None:
                        kind = _GIVEN
                if stretch != kind:
                    clock, stretch = self._stretch_ends(stretch, clock), kind
                results.append(self._run_here(index))
            self.runs[stretch] += 1
            index += 1
            self.position = index  # (everything before it is done: workers skip it)
            skip = index if index >= claimed else claimed
            for shared in positions:
                shared.value = skip
            if self.parallel and (index < overtaken or not index % 8):
                self._receive(timeout=0)  # keep the workers fed
        self._stretch_ends(stretch, clock)
        self.settle_credits()
        self.state.begin_transaction()

    def ways(self) -> tuple[int, int, int]:
        """Transactions that went each way: (A) the coordinator alone, (B) its sender recovered by a
        worker in time, (C) given to a worker to run speculatively."""
        speculative = self.assigned[_WAY_C]
        if self.report.mode != "parallel":
            return (0, 0, 0)
        return (len(self.transactions) - self.delivered - speculative, self.delivered, speculative)

    def _stretch_ends(self, stretch: int, clock: float) -> float:
        """Book the CPU time since ``clock`` to ``stretch``, less the messages handled meanwhile
        (booked to their way by ``_receive``). Timed by stretches, not per transaction: a CPU
        clock read costs about a microsecond here."""
        now = time.process_time()
        self.times[stretch] += now - clock - (self.messaging - self.messaging_mark)
        self.messaging_mark = self.messaging
        return now

    def _recovering(self, index: int) -> Optional[tuple]:
        """The sender-recovery chunk a worker holds ``index`` in, if any."""
        for w in self.workers:
            for chunk in w.in_flight:
                if chunk[2] == _WAY_B and chunk[0] <= index < chunk[1]:
                    return chunk
        return None

    def _in_flight(self, index: int) -> Optional[tuple]:
        """The speculative chunk a worker is running ``index`` in, if any."""
        if self.speculation:
            for w in self.workers:
                for chunk in w.in_flight:
                    if chunk[2] == _WAY_C and chunk[0] <= index < chunk[1]:
                        return chunk
        return None

    def _costs(self) -> CostModel:
        """The engine's costs, corrected by what this block has measured so far."""
        prior = self.engine.costs
        times, runs = self.times, self.runs
        weight = 64  # (transactions the prior counts for)
        if runs[_DIRECT] or not runs[_GIVEN]:
            direct = (prior.direct * weight + times[_DIRECT]) / (weight + runs[_DIRECT])
        else:  # every sender known (a block built from the pool): scale the runs without recovery
            direct = (prior.direct * weight + times[_GIVEN] / (1.0 - prior.recovery)) / (weight + runs[_GIVEN])

        def ratio(prior_ratio: float, stretch: int) -> float:
            return (prior_ratio * direct * weight + times[stretch]) / (weight + runs[stretch]) / direct

        given = ratio(1.0 - prior.recovery, _GIVEN) if runs[_DIRECT] else 1.0 - prior.recovery
        commit = ((prior.commit * direct * weight + times[_COMMIT] + self.exchange_time)
                  / (weight + runs[_COMMIT]) / direct)
        relay = (prior.relay * direct * weight + self.relay_time) / (weight + runs[_RECOVER]) / direct
        return CostModel(direct, min(0.95, max(0.0, 1.0 - given)), ratio(prior.speculative, _SPECULATIVE),
                         ratio(prior.recover, _RECOVER), commit, relay, prior.overhead)

    def _dispatch(self, w: _Worker) -> None:
        """Cut chunks until ``w`` has ``DEPTH`` in flight (or the block is all cut), in block order,
        in the shares of ``CostModel.plan``. With sender recovery (B) in the plan, every chunk after
        the coordinator's planned share (``run``) goes to the workers, B or speculative (C); where
        the coordinator reaches a B chunk before a worker recovered it, it takes the rest of that
        chunk, so its share follows the processes' real speeds. Without B, chunks for the
        coordinator alone (A) are cut between C chunks."""
        count = len(self.transactions)
        while self.parallel and w.usable and len(w.in_flight) < self.DEPTH and self.next_dispatch < count:
            if self.next_dispatch < self.position:  # the coordinator got here first: those are its own
                self.assigned[_WAY_A] += self.position - self.next_dispatch
                self.next_dispatch = self.position
                continue
            start = self.next_dispatch
            size = max(1, min(self.chunk, -(-(count - start) // (2 * (len(self.workers) + 1)))))  # (smaller at the end)
            shares = self.shares
            if not self.speculation:
                shares = (shares[0] + shares[2], shares[1], 0.0)
            self.speculating = self.speculation and (shares[_WAY_C] > 0 or self.assigned[_WAY_C] > 0)
            if shares[_WAY_B] > 0 and self.unrecovered:
                rest = shares[_WAY_B] + shares[_WAY_C]
                shares = (0.0, shares[_WAY_B] / rest, shares[_WAY_C] / rest)
            total = sum(self.assigned) + size
            way = max(range(3), key=lambda option: shares[option] * total - self.assigned[option])
            if way == _WAY_C:
                self._send_speculative(w, start, min(count, start + size))
            else:
                self.next_dispatch = min(count, start + size)
                self.assigned[way] += self.next_dispatch - start
                if way == _WAY_B:
                    self._send_recover(w, start, self.next_dispatch)

    def _send_recover(self, w: _Worker, start: int, stop: int) -> None:
        """B: ``w`` recovers the senders of ``start..stop`` not known yet, for the coordinator."""
        txs = [(index, tx.encode()) for index, tx in enumerate(self.transactions[start:stop], start)
               if tx.type != DEPOSIT_TX_TYPE and getattr(tx, "_sender", None) is None]
        if txs:
            self._send(w, ("recover", self.block_id, txs), (start, stop, _WAY_B))

    def _send_speculative(self, w: _Worker, start: int, stop: int) -> None:
        """C: ``w`` runs ``start..stop`` speculatively (deposits stay with the coordinator: they mint,
        and buy no gas)."""
        count = len(self.transactions)
        transactions = self.transactions
        while start < count and transactions[start].type == DEPOSIT_TX_TYPE:
            start += 1
        for index in range(start + 1, stop):
            if transactions[index].type == DEPOSIT_TX_TYPE:
                stop = index
                break
        stop = max(start, stop)
        self.assigned[_WAY_A] += start - self.next_dispatch
        self.assigned[_WAY_C] += stop - start
        self.next_dispatch = stop
        if start < stop:
            commits, w.commits = w.commits, []
            txs = [(tx.encode(), getattr(tx, "_sender", None)) for tx in transactions[start:stop]]
            self._send(w, ("run", self.block_id, start, stop, commits, txs), (start, stop, _WAY_C))

    def _send(self, w: _Worker, message: tuple, chunk: tuple) -> None:
        try:
            w.connection.send(message)
        except (OSError, ValueError):
            self._lose(w, f"worker {w.number} {'could not be reached' if w.alive() else 'died'}")
            return
        self.report.messages += 1
        w.in_flight.append(chunk)

    def _receive(self, timeout: float) -> int:
        """Take in the workers' answers that arrive within ``timeout`` seconds; how many came."""
        for w in self.workers:
            if w.in_flight:
                break
        else:
            return 0
        if self._by_fd is None:
            self._by_fd = {w.connection.fileno(): w for w in self.workers}
        # (a plain select on a kept list: ``multiprocessing.connection.wait`` builds a selector per
        # call, too dear every few transactions; a worker with nothing in flight sends nothing)
        ready = select.select(list(self._by_fd), [], [], timeout)[0]
        for fd in ready:
            w = self._by_fd[fd]
            connection = w.connection
            clock = time.process_time()
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
            if not w.in_flight:  # (nothing asked of it in this block)
                continue
            w.in_flight.pop(0)
            kind, _, found, cpu = message
            self.report.worker_cpu += cpu
            if kind == "senders":
                self.times[_RECOVER] += cpu
                self.runs[_RECOVER] += len(found)
                transactions = self.transactions
                position = self.position
                for index, sender in found:
                    tx = transactions[index]
                    if sender is not None and tx._sender is None:
                        object.__setattr__(tx, "_sender", sender)
                        self.delivered += index >= position
            elif self.speculation:
                self.times[_SPECULATIVE] += cpu
                self.runs[_SPECULATIVE] += len(found)
                for index, outcome in found:
                    if index >= self.position:  # (else the coordinator has run it already)
                        self.speculative[index] = outcome
                        self.ran_by[index] = w
            self._dispatch(w)
            spent = time.process_time() - clock
            self.messaging += spent
            if kind == "senders":
                self.relay_time += spent
            else:
                self.exchange_time += spent
        return len(ready)

    def _lose(self, w: _Worker, reason: str) -> None:
        """A worker is out for this block: the rest runs on the coordinator, in order."""
        w.usable = False
        w.in_flight = []
        self.workers = [other for other in self.workers if other is not w]
        self._by_fd = None
        self._give_up(reason)

    def _give_up(self, reason: str) -> None:
        if self.parallel:
            self.parallel = self.speculation = False
            self.report.reason = f"switched to sequential: {reason}"
            self.speculative.clear()  # (outcomes not committed yet: run here too, as the rest)
            for w in self.workers:
                w.cancelled.value = self.block_id

    def _stop_speculating(self, reason: str) -> None:
        """Conflicts: no more speculative runs in this block (those in flight stop, their outcomes
        are dropped); workers still recover senders ahead (B), which conflicts cannot spoil."""
        if self.speculation:
            self.speculation = False
            self.report.reason = f"speculation stopped: {reason}; senders still recovered in parallel"
            self.speculative.clear()
            for w in self.workers:
                w.speculation_off.value = self.block_id

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
        if (self.speculation and self.speculated >= _CONFLICT_SAMPLE
                and self.report.reexecuted > self.engine.conflict_limit * self.speculated):
            self._stop_speculating(f"conflict rate {self.report.reexecuted}/{self.speculated} re-executed")
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
        """Run transaction ``index`` on the true state, exactly as the sequential executor does;
        while workers run, its writes go to their views (``journal``)."""
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
        if self.sharing and self.speculating:
            written = journal.last_writes(state, self.skip_shared)
            if written:
                for w in self.workers:
                    w.commits.append((index, written))
        self._count(result)
        return result

    def _count(self, result: TransactionResult) -> None:
        self.outcome.gas_used += result.gas_used
        self.outcome.blob_gas_used += result.blob_gas_used

    def finish_locally(self, start: int) -> None:
        self.parallel = False
        for index in range(start, len(self.transactions)):
            self.outcome.results.append(self._run_here(index))
        self.settle_credits()

    # -- ending -------------------------------------------------------------------------
    def learn_costs(self) -> None:
        """Fold this block's measurements into the engine's ``CostModel`` (at most half-way per
        block, so one odd block, such as a worker's first, only nudges it)."""
        costs = self.engine.costs
        measured = self._costs()
        runs = self.runs

        def learn(name: str, samples: int) -> None:
            if samples:
                old = getattr(costs, name)
                setattr(costs, name, old + (getattr(measured, name) - old) * min(0.5, samples / 256))

        learn("direct", runs[_DIRECT] or runs[_GIVEN])
        learn("recovery", min(runs[_DIRECT], runs[_GIVEN]))
        learn("speculative", runs[_SPECULATIVE])
        learn("recover", runs[_RECOVER])
        learn("commit", runs[_COMMIT])
        learn("relay", runs[_RECOVER])
        if self.report.mode == "parallel" and not self.report.reason:
            measured.overhead = self.overhead_time
            learn("overhead", 128)

    def drain(self) -> None:
        """Collect the answers still owed for this block so the next block starts clean,
        and give the state its own class back."""
        journal.release(self.state)
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


__all__ = ["BlockOutcome", "BlockReport", "CostModel", "DEFAULT_CONFLICT_LIMIT", "DEFAULT_MIN_TRANSACTIONS",
           "ParallelEngine", "TransactionNotIncludable", "base_state_spec"]
