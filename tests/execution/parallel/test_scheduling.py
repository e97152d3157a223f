"""Where the block's work goes: a CPU per process, sender recovery from the back of the block."""

from __future__ import annotations

import os
import types

import pytest

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


def test_the_coordinator_stays_on_its_cpu_and_each_worker_gets_another():
    assert engine_module.cpu_plan([0, 1], 1, 1) == (1, [0])
    assert engine_module.cpu_plan([0, 1, 2, 3], 2, 3) == (2, [0, 1, 3])
    assert engine_module.cpu_plan([4, 6], 0, 1) == (4, [6])  # (not on an allowed CPU: the first one)
    assert engine_module.cpu_plan([0, 1, 2], 0, 4) == (0, [1, 2, 1, 2])  # more workers than CPUs left
    assert engine_module.cpu_plan([3], 3, 2) == (None, [-1, -1])  # one CPU: nothing to place


def _thread_cpus(pid: int, tid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{tid}/status") as status:
        listed = next(line for line in status if line.startswith("Cpus_allowed_list:")).split()[1]
    cpus = set()
    for part in listed.split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_a_parallel_block_pins_coordinator_and_worker_to_different_cpus_and_restores_the_coordinator():
    """Linux places a process woken by a pipe write on the writer's CPU; unpinned, the coordinator
    and its worker shared one core for whole blocks on a busy machine."""
    world = W.make_world(40, tokens=1, pairs=1)
    txs = W.eth_transfers_block(world, 40)
    state = MemoryState()
    world.load_into(state)
    before = os.sched_getaffinity(0)
    during = []
    original = engine_module._BlockRun.run

    def run_and_look(self):
        during.append(os.sched_getaffinity(0))
        return original(self)

    executor = ParallelExecutor(2, min_transactions=1)
    engine_module._BlockRun.run = run_and_look
    try:
        executor.execute(state, env(), txs, ExecutionOptions())
        assert executor.last_report.mode == "parallel", executor.last_report.reason
        (pid,) = executor.engine.worker_pids()
        (tid,) = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid]  # the serving thread
        worker_cpus = _thread_cpus(pid, tid)
    finally:
        engine_module._BlockRun.run = original
        executor.close()
    assert len(during[0]) == 1 and len(worker_cpus) == 1 and during[0] != worker_cpus
    assert os.sched_getaffinity(0) == before


class _Connection:
    def __init__(self) -> None:
        self.sent = []

    def send(self, message) -> None:
        self.sent.append(message)


def _block_run(txs, shares) -> tuple:
    engine = engine_module.ParallelEngine(2, min_transactions=1, chunk_size=8)
    block = engine_module._BlockRun(engine, MemoryState(), env(), txs, None, engine_module.BlockOutcome())
    worker = types.SimpleNamespace(number=0, connection=_Connection(), in_flight=[], commits=[], usable=True,
                                   alive=lambda: True)
    block.workers, block.parallel, block.block_id, block.shares = [worker], True, 1, shares
    return block, worker


def test_senders_are_recovered_from_the_back_of_the_block_last_first():
    """The coordinator runs the block from the front; a worker recovering senders from the back never
    works on what the coordinator has reached, and they meet where the work balances."""
    world = W.make_world(40, tokens=1, pairs=1)
    txs = [decode_transaction(tx.encode()) for tx in W.eth_transfers_block(world, 40)]  # (no sender known)
    block, worker = _block_run(txs, (0.3, 0.7, 0.0))
    block._dispatch(worker)
    assert [message[0] for message in worker.connection.sent] == ["recover"] * block.DEPTH
    indices = [[index for index, _ in message[2]] for message in worker.connection.sent]
    assert indices == [list(range(39, 31, -1)), list(range(31, 23, -1)), list(range(23, 15, -1))]
    assert block.back == 16 and block.next_dispatch == 0
    # The coordinator ran up to 12 meanwhile: the next chunk stops there, and nothing is left to cut.
    worker.in_flight.clear()
    block.position = 12
    block._dispatch(worker)
    assert [index for index, _ in worker.connection.sent[-1][2]] == [15, 14, 13, 12]
    assert block.back == block.next_dispatch == 12 and len(worker.connection.sent) == 4


def test_speculative_chunks_are_cut_from_the_front_and_recovery_from_the_back():
    world = W.make_world(40, tokens=1, pairs=1)
    txs = [decode_transaction(tx.encode()) for tx in W.eth_transfers_block(world, 40)]
    block, worker = _block_run(txs, (0.0, 0.5, 0.5))
    block._dispatch(worker)
    kinds = [(message[0], message[2] if message[0] == "run" else message[2][0][0])
             for message in worker.connection.sent]
    assert kinds == [("run", 0), ("recover", 39), ("run", 8)]


def test_a_block_whose_senders_are_recovered_by_the_worker_is_exact():
    world = W.make_world(64, tokens=1, pairs=1)
    txs = W.token_transfers_block(world, 64)
    base = MemoryState()
    world.load_into(base)
    options = ExecutionOptions(base_fee_recipient=W.FEE_VAULT)
    sequential_state = base.copy()
    sequential = SEQUENTIAL.execute(sequential_state, env(), txs, options)
    executor = ParallelExecutor(2, min_transactions=1, chunk_size=8, ways=(0.0, 1.0, 0.0))
    try:
        state = base.copy()
        fresh = [decode_transaction(tx.encode()) for tx in txs]
        parallel = executor.execute(state, env(), fresh, options)
        report = executor.last_report
    finally:
        executor.close()
    assert state.state_root() == sequential_state.state_root()
    assert [r.consensus_receipt().encode() for r in parallel.receipts] == \
        [r.consensus_receipt().encode() for r in sequential.receipts]
    assert report.mode == "parallel" and report.reason == "" and report.ways[1] > 0
    assert sum(report.ways) == len(txs)
