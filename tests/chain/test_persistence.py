"""Restart continuity (same database, new Chain) and crash safety of a node on MetisDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hyperion.chain.chain import Chain
from hyperion.chain.node import Node
from hyperion.state.memorydb import MemoryStateDatabase

from .chain_helpers import make_config, transfer

REPO = Path(__file__).resolve().parents[2]


def _metisdb_available() -> bool:
    try:
        from hyperion.state.metisdb import MetisDB
    except ImportError:
        return False
    return MetisDB is not None


needs_metisdb = pytest.mark.skipif(not _metisdb_available(), reason="MetisDB is not available")


def _exercise(chain: Chain):
    dev = chain.dev_accounts()
    hashes = [chain.send_raw_transaction(transfer(dev[0][1], n, dev[1][0], 10**18).encode()) for n in range(3)]
    chain.mine(2)
    return hashes


def _check_continues(before_head, hashes, chain: Chain):
    assert chain.head().hash == before_head.hash
    for tx_hash in hashes:
        receipt = chain.receipt(tx_hash)
        assert receipt is not None and receipt.status == 1
    dev = chain.dev_accounts()
    with chain.state_at("latest") as state:
        assert state.get_nonce(dev[0][0]) == 3
        assert state.get_balance(dev[1][0]) == 10_003 * 10**18
    tx_hash = chain.send_raw_transaction(transfer(dev[0][1], 3, dev[1][0]).encode())
    block = chain.head()
    assert block.number == before_head.number + 1 and block.header.parent_hash == before_head.hash
    assert chain.receipt(tx_hash).block_hash == block.hash
    assert chain.block_by_hash(before_head.hash).number == before_head.number


def test_restart_on_same_memory_database_continues():
    db = MemoryStateDatabase()
    first = Chain(make_config(), db)
    hashes = _exercise(first)
    head = first.head()
    second = Chain(make_config(), db)  # a new facade over the same database, as after a restart
    assert second.pool.status() == {"pending": 0, "queued": 0}  # the pool is not persisted
    _check_continues(head, hashes, second)


@needs_metisdb
def test_restart_on_metisdb_continues(tmp_path):
    node = Node(make_config(), tmp_path)
    hashes = _exercise(node.chain)
    head = node.chain.head()
    node.close()
    node = Node(make_config(), tmp_path)
    try:
        _check_continues(head, hashes, node.chain)
    finally:
        node.close()


MINER_SCRIPT = textwrap.dedent("""
    import sys
    from hyperion.chain.genesis import ChainConfig
    from hyperion.chain.node import Node
    from hyperion.primitives.transactions import FeeMarketTransaction
    node = Node(ChainConfig(genesis_timestamp=1_700_000_000), sys.argv[1])
    chain = node.chain
    (sender, key), (to, _) = chain.dev_accounts()[:2]
    with chain.state_at("latest") as state:
        nonce = state.get_nonce(sender)
    while True:
        tx = FeeMarketTransaction(chain.chain_id, nonce, 10**9, 10**11, 21000, to, 1, b"").signed(key)
        chain.send_raw_transaction(tx.encode())
        nonce += 1
        head = chain.head()
        print(head.number, head.hash.hex(), flush=True)
""")


@needs_metisdb
def test_kill_9_keeps_every_reported_block(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", MINER_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    reported = {}
    deadline = time.time() + 120  # from the child's start (imports: tens of seconds on a starved machine)
    try:
        while len(reported) < 25 and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            number, block_hash = line.split()
            reported[int(number)] = block_hash
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert len(reported) >= 25, proc.stderr.read()[-2000:]
    node = Node(make_config(), tmp_path)
    try:
        chain = node.chain
        assert chain.head().number >= max(reported)
        for number, block_hash in reported.items():
            assert chain.block_by_number(number).hash.hex() == block_hash
        head = chain.head()
        (block,) = chain.mine()
        assert block.header.parent_hash == head.hash
    finally:
        node.close()


def test_in_memory_node_and_interval_config():
    with Node(make_config(automine=False, block_time=0.05)) as node:
        assert node.data_dir is None and not node.chain.automine
        deadline = time.time() + 60  # a wait for two 50 ms ticks: long only on a starved machine
        while node.chain.head().number < 2 and time.time() < deadline:
            time.sleep(0.02)
        assert node.chain.head().number >= 2
