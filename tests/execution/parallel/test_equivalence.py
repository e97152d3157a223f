"""The parallel executor gives exactly the sequential result: roots, receipts, logs, rejections.

Random blocks (hypothesis) of plain and chained ETH transfers, token
transfers (some reverting), swaps, a contended counter, reverts with value,
CREATE, CREATE2 + self-destruct (Shanghai: deleted, then redeployed in a
later transaction; Prague: EIP-6780), EIP-7702 delegations and calls to
delegated accounts, run on real worker processes.
"""

from __future__ import annotations

import dataclasses
import os
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperion.bench.workloads import mpef as W
from hyperion.chain.executor import SEQUENTIAL, ExecutionOptions, ParallelExecutor, TransactionRejected
from hyperion.execution.parallel import engine as engine_module
from hyperion.primitives.secp256k1 import SECP256K1_N
from hyperion.primitives.transactions import decode_transaction
from hyperion.state.memory import MemoryState
from hyperion.state.metisdb import MetisDB
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import get_fork

SENDERS = 6
SHARED = [bytes([0xAB, i]) * 10 for i in range(2)]  # recipients many transactions credit


@pytest.fixture(scope="module")
def world():
    return W.make_world(SENDERS, tokens=1, pairs=2)


@pytest.fixture(scope="module")
def executor():
    executor = ParallelExecutor(2, min_transactions=1)
    executor.engine.patience = 30.0  # (always wait for a speculative chunk: the paths under test are taken)
    yield executor
    executor.close()


def env_for(fork: str) -> BlockEnv:
    return BlockEnv(fork=get_fork(fork), chain_id=W.CHAIN_ID, coinbase=W.COINBASE, number=1,
                    timestamp=1_700_000_000, gas_limit=30_000_000, base_fee=W.BASE_FEE)


def pre_state(world) -> MemoryState:
    state = MemoryState()
    world.load_into(state)
    state.state_root()
    return state


def run(executor, state, env, txs, options):
    try:
        execution = executor.execute(state, env, txs, options)
    except TransactionRejected as exc:
        return ("rejected", exc.index, exc.reason)
    return ("ok", state.state_root(), [r.consensus_receipt().encode() for r in execution.receipts],
            execution.logs, execution.gas_used, [r.contract_address for r in execution.receipts])


operation = st.one_of(
    st.tuples(st.just("eth"), st.integers(0, SENDERS - 1), st.integers(0, SENDERS + 3)),
    st.tuples(st.just("token"), st.integers(0, SENDERS - 1), st.integers(0, SENDERS - 1), st.booleans()),
    st.tuples(st.just("swap"), st.integers(0, SENDERS - 1), st.integers(0, 1)),
    st.tuples(st.just("counter"), st.integers(0, SENDERS - 1)),
    st.tuples(st.just("revert"), st.integers(0, SENDERS - 1), st.booleans()),
    st.tuples(st.just("create"), st.integers(0, SENDERS - 1)),
    st.tuples(st.just("create2"), st.integers(0, SENDERS - 1), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("delegate"), st.integers(0, SENDERS - 1), st.integers(0, SENDERS - 1)),
    st.tuples(st.just("call_eoa"), st.integers(0, SENDERS - 1), st.integers(0, SENDERS - 1)),
    st.tuples(st.just("high_s"), st.integers(0, SENDERS - 1)),
)
# The shares of the engine's three ways (coordinator alone, sender recovered by a worker, speculative
# run on a worker): None = the measured plan; the others make sure each way is taken.
WAYS = st.sampled_from([None, (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.2, 0.4, 0.4)])


def build(world, operations, fork: str) -> list:
    world.nonces = [0] * SENDERS
    txs = []
    for op in operations:
        kind, sender = op[0], op[1]
        if kind == "eth":
            target = op[2]
            to = (world.senders[target] if target < SENDERS else
                  [SHARED[0], SHARED[1], W.COINBASE, W.FEE_VAULT][target - SENDERS])
            txs.append(W.eth_transfer(world, sender, to))
        elif kind == "token":
            txs.append(W.token_transfer(world, sender, world.tokens[0], world.senders[op[2]],
                                        10**31 if op[3] else 10**18))  # 10**31: more than held, reverts
        elif kind == "swap":
            txs.append(W.swap(world, sender, world.pairs[op[2]]))
        elif kind == "counter":
            txs.append(W.call(world, sender, world.counter))
        elif kind == "revert":
            txs.append(W.call(world, sender, world.reverter, value=10**15 if op[2] else 0))
        elif kind == "create":
            txs.append(W.create(world, sender))
        elif kind == "create2":
            txs.append(W.call(world, sender, world.factory, op[2].to_bytes(32, "big") + bytes([op[3]]).rjust(32, b"\0")))
        elif kind == "delegate" and fork == "Prague":
            txs.append(W.delegate(world, sender, op[2], world.counter))
        elif kind == "call_eoa":
            txs.append(W.call(world, sender, world.senders[op[2]]))
        elif kind == "high_s":  # an invalid signature (EIP-2): the block is rejected at it
            tx = W.eth_transfer(world, sender, SHARED[0])
            txs.append(dataclasses.replace(tx, s=SECP256K1_N - tx.s))
    return txs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=2, max_size=40), fork=st.sampled_from(["Prague", "Shanghai"]),
       chunk=st.integers(1, 6), vault=st.booleans(), ways=WAYS, fresh=st.booleans())
def test_parallel_equals_sequential_on_random_blocks(world, executor, operations, fork, chunk, vault, ways, fresh):
    txs = build(world, operations, fork)
    env = env_for(fork)
    options = ExecutionOptions(base_fee_recipient=W.FEE_VAULT if vault else None)
    base = pre_state(world)
    executor.engine.chunk_size = chunk
    executor.engine.ways = ways
    sequential = run(SEQUENTIAL, base.copy(), env, txs, options)
    if fresh:  # decoded afresh: no sender known (as on import), so workers recover them
        txs = [decode_transaction(tx.encode()) for tx in txs]
    try:
        parallel = run(executor, base.copy(), env, txs, options)
    finally:
        executor.engine.ways = None
    assert parallel == sequential
    report = executor.last_report
    assert report.mode == ("parallel" if txs else "sequential"), report.reason


def test_a_block_of_conflicts_is_still_exact_and_stops_speculating(world, executor):
    world.nonces = [0] * SENDERS
    txs = [W.call(world, i % SENDERS, world.counter) for i in range(40)]
    env = env_for("Prague")
    base = pre_state(world)
    executor.engine.chunk_size = 4
    executor.engine.ways = (0.5, 0.0, 0.5)  # (chunks alternate: each worker chunk misses the coordinator's)
    sequential = run(SEQUENTIAL, base.copy(), env, txs, ExecutionOptions())
    try:
        assert run(executor, base.copy(), env, txs, ExecutionOptions()) == sequential
    finally:
        executor.engine.ways = None
    assert "conflict rate" in executor.last_report.reason


def test_the_hot_spots_do_not_conflict(executor):
    """Every transaction pays the coinbase and the fee vault, and credits one shared recipient
    (a plain transfer, and a token contract's account): none is re-executed."""
    world = W.make_world(48, tokens=1, pairs=1)
    world.alloc[SHARED[0]] = (0, 1, b"", {})  # (it exists: creating it would be a real dependency)
    txs = [W.eth_transfer(world, i, SHARED[0]) if i % 2 else W.call(world, i, world.tokens[0], value=10**15,
                                                                       data=SHARED[1].rjust(32, b"\0") + bytes(32))
           for i in range(48)]
    env = env_for("Prague")
    options = ExecutionOptions(base_fee_recipient=W.FEE_VAULT)
    base = pre_state(world)
    executor.engine.chunk_size = 4
    sequential = run(SEQUENTIAL, base.copy(), env, txs, options)
    assert run(executor, base.copy(), env, txs, options) == sequential
    report = executor.last_report
    assert report.mode == "parallel" and report.reason == ""
    assert report.reexecuted == 0 and report.coordinator_runs < len(txs)


def test_small_blocks_run_sequentially_and_say_why(world):
    executor = ParallelExecutor(2)  # default policy
    try:
        world.nonces = [0] * SENDERS
        txs = [W.eth_transfer(world, 0, SHARED[0])]
        state = pre_state(world)
        executor.execute(state, env_for("Prague"), txs, ExecutionOptions())
        assert executor.last_report.mode == "sequential"
        assert "small block" in executor.last_report.reason
        assert executor.engine.worker_pids() == []  # never started for it
    finally:
        executor.close()


def test_workers_read_their_own_metisdb_snapshot(tmp_path, executor):
    """A MetisDB pending state: workers open the data dir themselves (no state is shipped)."""
    world = W.make_world(60, tokens=2, pairs=8)
    with MetisDB(tmp_path / "db") as db:
        genesis = db.pending()
        world.load_into(genesis)
        db.commit(genesis, 0)
        txs = W.mixed_block(world, 60)
        env = env_for("Prague")
        options = ExecutionOptions(base_fee_recipient=W.FEE_VAULT)
        executor.engine.chunk_size = 5
        sequential = run(SEQUENTIAL, db.pending(0), env, txs, options)
        shipped = []
        original = engine_module.base_state_spec
        engine_module.base_state_spec = lambda state: (shipped.append(original(state)[0][0]), original(state))[1]
        try:
            parallel = run(executor, db.pending(0), env, txs, options)
        finally:
            engine_module.base_state_spec = original
        assert parallel == sequential
        assert shipped == ["metisdb"]
        assert executor.last_report.mode == "parallel" and executor.last_report.reason == ""


def test_a_worker_killed_mid_block_never_gives_a_wrong_result(executor):
    world = W.make_world(80, tokens=2, pairs=8)
    txs = W.mixed_block(world, 80)
    env = env_for("Prague")
    base = pre_state(world)
    sequential = run(SEQUENTIAL, base.copy(), env, txs, ExecutionOptions())
    executor.engine.chunk_size = 4
    original = engine_module._BlockRun._receive
    killed = []

    def kill_then_receive(self, timeout):
        if not killed and self.workers:
            victim = self.workers[0].process.pid
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
        return original(self, timeout)

    engine_module._BlockRun._receive = kill_then_receive
    try:
        parallel = run(executor, base.copy(), env, txs, ExecutionOptions())
    finally:
        engine_module._BlockRun._receive = original
    assert parallel == sequential
    # The loss reads "died" (its pipe ended) or "could not be reached" (a message to it failed; seen
    # once at load 7); either way the block fell back to a result equal to sequential, as asserted above.
    reason = executor.last_report.reason
    assert any(lost in reason for lost in ("died", "could not be reached", "no worker could be reached")), reason
    # The next block gets a fresh worker and runs in parallel again.
    world.nonces = [0] * 80
    again = run(executor, base.copy(), env, W.mixed_block(world, 80), ExecutionOptions())
    assert again == sequential
    assert executor.last_report.reason == "" and killed[0] not in executor.engine.worker_pids()


def test_the_cost_model_picks_the_cheapest_mix_of_ways():
    """Sender recovery dominates a light transaction: workers recover senders (B) and no speculation is
    needed; heavy execution goes speculative (C); with every sender known, B is of no use."""
    light = engine_module.CostModel(direct=100e-6, recovery=0.65, speculative=1.4, recover=0.8, commit=0.15)
    a, b, c, time_ = light.plan(1)
    assert b > 0.5 and c == 0 and time_ < 0.6
    heavy = engine_module.CostModel(direct=600e-6, recovery=0.1, speculative=1.4, recover=0.15, commit=0.07)
    assert heavy.plan(1)[2] > 0.3 and heavy.plan(1)[3] < 0.7
    assert light.plan(1, unrecovered=0.0)[1] == 0
    assert light.plan(1, speculation=False)[2] == 0


def test_blocks_the_costs_say_do_not_pay_run_sequentially_and_are_retried_now_and_then(world):
    executor = ParallelExecutor(2)  # default policy
    try:
        engine = executor.engine
        engine.costs = engine_module.CostModel(direct=20e-6, overhead=5e-3)  # 5 ms to save 0.4 ms: no
        reasons = []
        for _ in range(engine_module.RETRY_AFTER):
            world.nonces = [0] * SENDERS
            txs = [W.eth_transfer(world, i % SENDERS, SHARED[0]) for i in range(20)]
            executor.execute(pre_state(world), env_for("Prague"), txs, ExecutionOptions())
            reasons.append(executor.last_report.reason)
        assert all("not worth it" in reason for reason in reasons[:-1])
        assert executor.last_report.mode == "parallel"  # the last runs in parallel, to measure again
    finally:
        executor.close()


def test_blocks_run_sequentially_when_recent_parallel_blocks_did_not_pay(world):
    """What the cost model misses is caught by what parallel blocks really cost (wall time, or busiest process's CPU
    time over the sequential estimate): above WORTH_IT, blocks run sequentially."""
    executor = ParallelExecutor(2)  # default policy
    try:
        world.nonces = [0] * SENDERS
        txs = [W.eth_transfer(world, i % SENDERS, SHARED[0]) for i in range(40)]
        engine = executor.engine
        engine.costs = engine_module.CostModel(direct=5e-3)  # (the estimate alone says: parallel)
        engine.realized, engine._realized_blocks = 1.5, 2
        executor.execute(pre_state(world), env_for("Prague"), txs, ExecutionOptions())
        assert "not worth it: recent parallel blocks took 1.50" in executor.last_report.reason
    finally:
        executor.close()


def test_the_check_options_run_even_a_one_transaction_block_on_a_worker(world):
    """``blocktest/statetest --parallel N`` (``ParallelEngine.CHECK``) must exercise the speculative path
    for every transaction, the first of a block included (state tests are one-transaction blocks)."""
    executor = ParallelExecutor(2, **engine_module.ParallelEngine.CHECK)
    try:
        world.nonces = [0] * SENDERS
        txs = [W.eth_transfer(world, 0, SHARED[0])]
        base = pre_state(world)
        assert run(executor, base.copy(), env_for("Prague"), txs, ExecutionOptions()) == \
            run(SEQUENTIAL, base.copy(), env_for("Prague"), txs, ExecutionOptions())
        report = executor.last_report
        assert report.mode == "parallel" and report.ways == (0, 0, 1) and report.coordinator_runs == 0
    finally:
        executor.close()


def test_a_block_let_through_to_measure_again_that_does_not_pay_doubles_the_wait_for_the_next():
    engine = engine_module.ParallelEngine(2)
    engine.costs = engine_module.CostModel(direct=20e-6, overhead=5e-3)  # (the estimate says: not worth it)
    block = [W.eth_transfer(W.make_world(1), 0, SHARED[0])] * 20

    def declined_before_a_retry() -> int:
        declined = 0
        while engine._why_sequential(None, block, False) is not None:
            declined += 1
        return declined

    def measured(seconds: float) -> None:
        engine._realized(engine_module.BlockReport("parallel", seconds=seconds, workers=2))

    assert declined_before_a_retry() == engine_module.RETRY_AFTER - 1
    measured(10.0)  # (far slower than sequential)
    assert declined_before_a_retry() == 2 * engine_module.RETRY_AFTER - 1
    measured(10.0)
    assert declined_before_a_retry() == 4 * engine_module.RETRY_AFTER - 1
    engine.realized = None
    measured(1e-6)  # a retry that pays: back to the first interval
    assert declined_before_a_retry() == engine_module.RETRY_AFTER - 1
