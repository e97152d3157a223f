"""How the coordinator shares a block out: chunks in block order, the chunks it reaches first, and
messages that never deadlock."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
import types

from hyperion.bench.workloads import mpef as W
from hyperion.chain.executor import SEQUENTIAL, ExecutionOptions, ParallelExecutor
from hyperion.execution.parallel import engine as engine_module
from hyperion.primitives.transactions import decode_transaction
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import get_fork


def env() -> BlockEnv:
    return BlockEnv(fork=get_fork("Prague"), chain_id=W.CHAIN_ID, coinbase=W.COINBASE, number=1,
                    timestamp=1_700_000_000, gas_limit=30_000_000, base_fee=W.BASE_FEE)


class _Connection:
    """A worker's end that takes messages and never answers."""

    def __init__(self) -> None:
        self.sent = []
        self._read, self._write = os.pipe()

    def send(self, message) -> None:
        self.sent.append(message)

    def fileno(self) -> int:
        return self._read

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


class _Position:
    """A worker's shared ``position``, keeping every value the coordinator writes."""

    def __init__(self) -> None:
        self.values = []

    @property
    def value(self) -> int:
        return self.values[-1] if self.values else 0

    @value.setter
    def value(self, value: int) -> None:
        self.values.append(value)


def _block_run(txs, shares, state=None) -> tuple:
    engine = engine_module.ParallelEngine(2, min_transactions=1, chunk_size=8, ways=shares)
    block = engine_module._BlockRun(engine, state or MemoryState(), env(), txs, None, engine_module.BlockOutcome())
    worker = types.SimpleNamespace(number=0, connection=_Connection(), in_flight=[], commits=[], usable=True,
                                   alive=lambda: True, position=_Position())
    block.workers, block.parallel, block.block_id, block.shares = [worker], True, 1, shares
    block.report.mode = "parallel"
    return block, worker


def _fresh_transfers(count: int):
    world = W.make_world(count, tokens=1, pairs=1)
    txs = [decode_transaction(tx.encode()) for tx in W.eth_transfers_block(world, count)]  # (no sender known)
    state = MemoryState()
    world.load_into(state)
    return txs, state


def test_with_sender_recovery_in_the_plan_every_chunk_goes_to_a_worker_in_block_order():
    txs, _ = _fresh_transfers(80)
    block, worker = _block_run(txs, (0.3, 0.7, 0.0))  # (the coordinator's share is taken on the way)
    try:
        block._dispatch(worker)
    finally:
        worker.connection.close()
    assert [message[0] for message in worker.connection.sent] == ["recover"] * block.DEPTH
    assert [[index for index, _ in message[2]] for message in worker.connection.sent] == \
        [list(range(0, 8)), list(range(8, 16)), list(range(16, 24))]


def test_the_coordinator_takes_over_the_rest_of_a_chunk_it_reaches_before_the_worker():
    """The worker never answers here: on reaching each chunk the coordinator tells the worker to skip
    it up to its end (so no sender is recovered twice) and runs it alone, exactly as in sequence."""
    txs, state = _fresh_transfers(80)
    expected_state = state.copy()
    expected = SEQUENTIAL.execute(expected_state, env(), [decode_transaction(tx.encode()) for tx in txs],
                                  ExecutionOptions())
    block, worker = _block_run(txs, (0.0, 1.0, 0.0), state)
    try:
        block.run()
    finally:
        worker.connection.close()
    # (written after each transaction: the worker is told to skip up to the end of the chunk reached)
    assert worker.position.values[:24] == [8] * 8 + [16] * 8 + [24] * 8
    assert worker.position.values[-1] == 80
    assert block.ways() == (80, 0, 0)  # (no sender came from the worker)
    assert state.state_root() == expected_state.state_root()
    assert [r.gas_used for r in block.outcome.results] == [r.gas_used for r in expected.receipts]


def test_speculative_chunks_and_sender_recovery_are_cut_in_the_planned_shares():
    txs, _ = _fresh_transfers(40)
    block, worker = _block_run(txs, (0.0, 0.5, 0.5))
    try:
        block._dispatch(worker)
    finally:
        worker.connection.close()
    assert [(message[0], message[2] if message[0] == "run" else message[2][0][0])
            for message in worker.connection.sent] == [("recover", 0), ("run", 8), ("recover", 16)]


def test_a_block_whose_senders_the_worker_recovers_is_exact(monkeypatch):
    """The coordinator waits for the worker's senders here (it never does in earnest), so every
    sender comes from the worker."""
    world = W.make_world(64, tokens=1, pairs=1)
    txs = W.token_transfers_block(world, 64)
    base = MemoryState()
    world.load_into(base)
    options = ExecutionOptions(base_fee_recipient=W.FEE_VAULT)
    sequential_state = base.copy()
    sequential = SEQUENTIAL.execute(sequential_state, env(), txs, options)
    recovering = engine_module._BlockRun._recovering

    def wait_for_the_worker(self, index):
        deadline = time.monotonic() + 60
        while recovering(self, index) is not None and time.monotonic() < deadline:
            self._receive(timeout=0.05)
        return recovering(self, index)

    monkeypatch.setattr(engine_module._BlockRun, "_recovering", wait_for_the_worker)
    executor = ParallelExecutor(2, min_transactions=1, chunk_size=8, ways=(0.0, 1.0, 0.0))
    try:
        state = base.copy()
        parallel = executor.execute(state, env(), [decode_transaction(tx.encode()) for tx in txs], options)
        report = executor.last_report
    finally:
        executor.close()
    assert state.state_root() == sequential_state.state_root()
    assert [r.consensus_receipt().encode() for r in parallel.receipts] == \
        [r.consensus_receipt().encode() for r in sequential.receipts]
    assert report.mode == "parallel" and report.reason == "" and report.ways == (0, 64, 0)


ECHO_TO_LOG = bytes.fromhex("365f5f37365f a000".replace(" ", ""))  # CALLDATACOPY all calldata to memory, LOG0 it


def test_messages_bigger_than_the_pipes_never_deadlock_coordinator_and_worker():
    """Chunks and outcomes of ~300 KB each way (calldata logged whole) overflow the socket buffers
    (~200 KB): a worker busy on one chunk must still take the next in, or the coordinator blocks
    sending it while the worker blocks sending its outcome, forever."""
    world = W.make_world(4, tokens=1, pairs=1)
    echo = W._address("echo", 0)
    world.alloc[echo] = (1, 0, ECHO_TO_LOG, {})
    txs = [W.call(world, i, echo, data=bytes(300_000), gas=7_000_000) for i in range(4)]
    base = MemoryState()
    world.load_into(base)
    block_env = dataclasses.replace(env(), gas_limit=30_000_000)
    expected_state = base.copy()
    expected = SEQUENTIAL.execute(expected_state, block_env, txs, ExecutionOptions())
    assert all(r.status == 1 and len(r.logs[0].data) == 300_000 for r in expected.receipts)
    executor = ParallelExecutor(2, min_transactions=1, chunk_size=1, ways=(0.0, 0.0, 1.0), patience=30.0)
    state = base.copy()
    runner = threading.Thread(target=executor.execute, args=(state, block_env, txs, ExecutionOptions()),
                              daemon=True)
    try:
        runner.start()
        runner.join(120)
        stuck = runner.is_alive()
        if stuck:  # (unblock the coordinator before closing)
            for pid in executor.engine.worker_pids():
                os.kill(pid, signal.SIGKILL)
            runner.join(30)
    finally:
        executor.close()
    assert not stuck, "coordinator and worker deadlocked on full pipes"
    assert state.state_root() == expected_state.state_root()
    assert executor.last_report.mode == "parallel" and executor.last_report.reason == ""
