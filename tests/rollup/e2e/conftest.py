"""A whole rollup per test module: anvil L1, the L1 contracts, a sequencer and a follower as real processes.

A module sets ``DEVNET = {...}`` (``DevnetOptions`` fields) to shape its
devnet; the fixture starts it once for the module and stops every process
in teardown. Helpers talk to the nodes with web3.py.
"""

from __future__ import annotations

import time
from typing import Callable

import pytest
from web3 import Web3
from web3.exceptions import TransactionNotFound

from hyperion.rollup.devnet import Devnet, DevnetOptions, anvil_binary, rpc

# short periods so that finalization and disputes fit a test; a sequencing window (30 L1 blocks, 60 s) that a
# sequencer starting on a loaded machine still meets (the forced-inclusion module shortens it)
BASE_OPTIONS = dict(l1_port=0, sequencer_port=0, follower_port=0, l1_block_time=2, l2_block_time=1,
                    seq_window_size=30, sequencer_conf_depth=1, submission_interval=10, finalization_period=600,
                    move_timeout=120, max_batch_delay=2.0)


@pytest.fixture(scope="module")
def devnet(request, tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    options = dict(BASE_OPTIONS, **getattr(request.module, "DEVNET", {}))
    net = Devnet(DevnetOptions(workdir=tmp_path_factory.mktemp("devnet"), **options))
    net.node_start_timeout = 180.0  # a wait for an event; a starved machine took 45 s to start a node
    net.start()
    try:
        yield net
    finally:
        net.stop()


@pytest.fixture(scope="module")
def l1(devnet):
    return web3_of(devnet.l1_url)


@pytest.fixture(scope="module")
def sequencer(devnet):
    return web3_of(devnet.sequencer.url)


@pytest.fixture(scope="module")
def follower(devnet):
    return web3_of(devnet.follower.url)


def web3_of(url: str) -> Web3:
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 30}))


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def sync_status(url: str) -> dict:
    return rpc(url, "optimism_syncStatus")


def safe_number(url: str) -> int:
    return sync_status(url)["safe_l2"]["number"]


def wait_safe(url: str, number: int, timeout: float = 90) -> None:
    wait_until(lambda: safe_number(url) >= number, timeout, f"L2 block {number} to be safe at {url}")


def derived_receipt(node: Web3, tx_hash, timeout: float = 120):
    """The receipt of ``tx_hash`` from a block ``node`` holds as safe (derived from L1).

    A sequencer's receipt comes from an unsafe block, which derivation may
    still replace: when a batch misses the sequencing window of its blocks,
    derivation fills those slots itself and the sequencer's transactions
    move to later blocks. A test that needs the block a transaction ends up
    in asks for the safe one.
    """
    url = node.provider.endpoint_uri

    def safe_receipt():
        try:
            receipt = node.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        return receipt if receipt["blockNumber"] <= safe_number(url) else None

    return wait_until(safe_receipt, timeout, f"transaction {Web3.to_hex(tx_hash)} in a safe block of {url}")


def assert_same_chain(a: Web3, b: Web3, upto: int) -> None:
    """Every block 0..upto has the same hash and state root on both nodes."""
    for number in range(upto + 1):
        block_a, block_b = a.eth.get_block(number), b.eth.get_block(number)
        assert block_a["hash"] == block_b["hash"], f"block {number} differs"
        assert block_a["stateRoot"] == block_b["stateRoot"], f"state root of block {number} differs"
