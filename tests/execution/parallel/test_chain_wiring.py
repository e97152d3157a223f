"""The node's chain with ``exec_workers > 1`` builds and imports blocks identical to sequential ones."""

from __future__ import annotations

import pytest

from hyperion.bench.workloads import mpef as W
from hyperion.chain.chain import Chain
from hyperion.chain.executor import SEQUENTIAL, ParallelExecutor
from hyperion.chain.genesis import ChainConfig
from hyperion.primitives.transactions import FeeMarketTransaction

CHAIN_ID = 4242
GWEI = 10**9
TOKEN = bytes.fromhex("00000000000000000000000000000000000070ce")
VAULT = bytes.fromhex("4200000000000000000000000000000000000019")


def config(workers: int) -> ChainConfig:
    base = ChainConfig(chain_id=CHAIN_ID, dev_account_count=10, genesis_timestamp=1_700_000_000,
                       automine=False, base_fee_recipient=VAULT, exec_workers=workers)
    holders = {int.from_bytes(address, "big"): 10**30 for address, _key in base.dev_accounts()}
    base.alloc = {TOKEN: {"balance": 0, "code": W.TOKEN, "storage": holders}}
    return base


def transactions(chain: Chain) -> list[bytes]:
    """40 transfers and token transfers from 10 senders, plus one a sender cannot pay for."""
    raws = []
    keys = [key for _address, key in chain.dev_accounts()]
    for round_ in range(4):
        for i, key in enumerate(keys):
            nonce = round_
            to = bytes([0xEE, round_, i]) * 6 + b"\x00\x01"
            if i % 2:
                tx = FeeMarketTransaction(CHAIN_ID, nonce, GWEI, 10 * GWEI, 60_000, TOKEN, 0,
                                          to.rjust(32, b"\0") + (10**18).to_bytes(32, "big"))
            else:
                tx = FeeMarketTransaction(CHAIN_ID, nonce, GWEI, 10 * GWEI, 21_000, to, 10**15, b"")
            raws.append(tx.signed(key).encode())
    broke = W.keccak256(b"no funds")
    raws.append(FeeMarketTransaction(CHAIN_ID, 0, GWEI, 10 * GWEI, 21_000, TOKEN, 1, b"").signed(broke).encode())
    return raws


@pytest.fixture()
def chains():
    made = []

    def make(workers: int) -> Chain:
        chain = Chain(config(workers))
        if workers > 1:  # every block down the parallel path (the policy would keep these small ones sequential)
            chain.executor.engine.min_transactions = 1
        made.append(chain)
        return chain

    yield make
    for chain in made:
        chain.close()


def test_exec_workers_one_is_sequential_and_more_is_parallel(chains):
    assert chains(1).executor is SEQUENTIAL
    assert isinstance(chains(2).executor, ParallelExecutor)


def test_a_block_built_in_parallel_equals_the_sequential_one(chains):
    sequential, parallel = chains(1), chains(2)
    blocks = []
    for chain in (sequential, parallel):
        for raw in transactions(chain):
            try:
                chain.send_raw_transaction(raw)
            except Exception:
                pass  # the unfunded one may already be refused by the pool
        blocks.append(chain.mine(1, timestamp=1_700_000_012)[0])
    assert blocks[0].hash == blocks[1].hash
    assert len(blocks[0].transactions) == 40
    assert parallel.executor.last_report.mode == "parallel"


def test_a_parallel_node_imports_a_sequential_nodes_blocks(chains):
    builder, follower = chains(1), chains(2)
    for raw in transactions(builder):
        try:
            builder.send_raw_transaction(raw)
        except Exception:
            pass
    block = builder.mine(1, timestamp=1_700_000_012)[0]
    imported = follower.import_block(block.encode())
    assert imported.hash == block.hash == follower.head().hash
    assert follower.executor.last_report.mode == "parallel"


def test_followers_and_blocktest_execute_in_parallel_by_default_on_more_than_one_core(monkeypatch):
    """Issue 14: a rollup follower and ``hyperion blocktest`` use the parallel executor by default
    when the machine has more than one core (and the sequential one on a single core)."""
    from hyperion.chain.genesis import ChainConfig as Config
    from hyperion.rollup.config import L1BlockId, RollupConfig
    from hyperion.rollup.engine import RollupChain
    from hyperion.tools import blocktest

    genesis = Config(chain_id=901, genesis_timestamp=0x100, dev_account_count=0).genesis_spec().to_dict()
    rollup = RollupConfig(l2_genesis=genesis, genesis_l1=L1BlockId(5, b"\x05" * 32), l1_chain_id=31337,
                          portal=b"\x50" * 20, batch_inbox=b"\x51" * 20, output_oracle=b"\x52" * 20,
                          batcher=b"\x53" * 20, proposer=b"\x54" * 20)
    for cores, parallel in ((2, True), (1, False)):
        monkeypatch.setattr("os.cpu_count", lambda: cores)
        follower = RollupChain(rollup)
        try:
            assert isinstance(follower.executor, ParallelExecutor) is parallel
            assert follower.executor.engine.min_transactions > 1 if parallel else follower.executor is SEQUENTIAL
        finally:
            follower.close()
        monkeypatch.setattr(blocktest, "_EXECUTORS", {})
        executor = blocktest._executor(None)
        assert isinstance(executor, ParallelExecutor) is parallel
        if parallel:
            executor.close()
