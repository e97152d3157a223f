"""Followers and the sequencer across crashes, with batches posted as calldata; junk and intruders at the inbox.

Done-when bullets covered here: a follower started from nothing reaches the
sequencer's head with identical hashes and state roots (calldata batches);
a follower killed with kill -9 mid-derivation continues from its own data
dir and ends identical; a sequencer killed with kill -9 loses no batch and
posts none twice while the follower stays in step; malformed batches, junk
and a batch from an unauthorized sender are ignored with a log line and
nothing is lost.
"""

from __future__ import annotations

import re
import time

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.rollup.channel import MalformedChannel, decode_channel
from hyperion.rollup.devnet import BATCHER
from tests.rollup.e2e.conftest import (assert_same_chain, derived_receipt, safe_number, sync_status, wait_safe,
                                       wait_until, web3_of)

pytestmark = pytest.mark.e2e

DEVNET = dict(data_availability="calldata", challenge=False)


def _transfer(node: Web3, key: bytes, count: int) -> list:
    account = Account.from_key(key)
    nonce = node.eth.get_transaction_count(account.address, "pending")
    hashes = []
    for i in range(count):
        tx = {"type": 2, "chainId": 901, "nonce": nonce + i, "to": Account.create().address, "value": 1 + i,
              "gas": 21000, "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9}
        hashes.append(node.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
    return hashes


def _send_to_inbox(l1: Web3, key: bytes, data: bytes, inbox: str) -> dict:
    """A raw transaction to the inbox with a fixed gas limit (so a reverting one is mined too); retried on a
    nonce race with the batcher, which shares the key in one of the cases."""
    account = Account.from_key(key)
    for _ in range(5):
        base = l1.eth.get_block("latest")["baseFeePerGas"]
        tx = {"type": 2, "chainId": l1.eth.chain_id, "nonce": l1.eth.get_transaction_count(account.address, "pending"),
              "to": inbox, "value": 0, "data": data, "gas": 200_000, "maxFeePerGas": 3 * base + 2 * 10**9,
              "maxPriorityFeePerGas": 2 * 10**9}
        try:
            tx_hash = l1.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        except Exception:
            time.sleep(1)
            continue
        try:
            return l1.eth.wait_for_transaction_receipt(tx_hash, timeout=20)
        except Exception:
            continue
    raise AssertionError("could not get a transaction to the inbox mined")


def _batch_ranges(l1: Web3, devnet) -> list[tuple[int, int]]:
    """(first, last) L2 block of every successful calldata batch on the canonical L1."""
    inbox = devnet.deployment.batch_inbox.lower()
    batcher = Web3.to_checksum_address(devnet.address(BATCHER))
    ranges = []
    for number in range(devnet.config.genesis_l1.number + 1, l1.eth.block_number + 1):
        for tx in l1.eth.get_block(number, full_transactions=True)["transactions"]:
            if (tx["to"] or "").lower() != inbox or tx["from"] != batcher:
                continue
            if l1.eth.get_transaction_receipt(tx["hash"])["status"] != 1:
                continue
            try:
                channel = decode_channel(bytes(tx["input"]))
            except MalformedChannel:
                continue
            ranges.append((channel.first_number, channel.last_number))
    return ranges


def test_junk_malformed_and_unauthorized_batches_are_ignored_and_nothing_is_lost(devnet, l1, sequencer, follower):
    inbox = devnet.deployment.batch_inbox
    wait_safe(devnet.follower.url, 5)
    sent = _transfer(sequencer, devnet.key(9), 3)
    batcher_key = devnet.key(BATCHER)
    junk = [b"\x00\x01this is not brotli", b"\x00\x09" + bytes(40), b"\x07" + bytes(10)]
    for data in junk:
        assert _send_to_inbox(l1, batcher_key, data, inbox)["status"] == 1  # the inbox accepts; derivation refuses
    # batch-shaped data from someone else: the inbox reverts, derivation ignores it
    intruder = _send_to_inbox(l1, devnet.key(8), b"\x00\x01" + bytes(64), inbox)
    assert intruder["status"] == 0
    for tx_hash in sent:
        assert sequencer.eth.wait_for_transaction_receipt(tx_hash, timeout=60)["status"] == 1
    target = sequencer.eth.block_number
    wait_safe(devnet.follower.url, target)
    assert_same_chain(sequencer, follower, target)
    log = devnet.follower.log_text()
    assert len(re.findall(r"ignoring malformed batch", log)) >= len(junk)
    assert "the inbox refused it" in log and Web3.to_hex(intruder["transactionHash"])[2:] in log
    assert all(derived_receipt(follower, h)["status"] == 1 for h in sent)


def test_a_follower_from_nothing_reaches_the_head_and_survives_kill_9(devnet, sequencer):
    target = sequencer.eth.block_number
    wait_safe(devnet.sequencer.url, target)
    late = devnet.make_follower("late-follower", challenge=False)
    late.start()
    try:
        wait_until(lambda: safe_number(late.url) >= max(3, target // 4), 120, "the new follower to derive some blocks")
        late.kill()  # kill -9 mid-derivation
        late.start()
        opened = re.findall(r"rollup node opened role=follower chain_id=\d+ head=(\d+) safe=(\d+)", late.log_text())
        assert len(opened) == 2
        killed_at = int(opened[1][1])
        assert killed_at > 0, "the restarted follower began again from genesis"
        wait_safe(late.url, target, timeout=180)
        derived_after_restart = sync_status(late.url)["hyperion"]["derived_blocks"]
        assert derived_after_restart <= safe_number(late.url) - killed_at + 1
        assert_same_chain(sequencer, web3_of(late.url), target)
    finally:
        late.stop()


def test_a_sequencer_killed_with_kill_9_loses_no_batch_and_posts_none_twice(devnet, l1, sequencer, follower):
    sent = _transfer(sequencer, devnet.key(7), 5)
    # in blocks now, which the batcher may not have posted yet: what the kill must not lose (a transaction
    # still in the pool may be lost; a loaded machine can take more than one block time to build its block)
    for tx_hash in sent:
        sequencer.eth.wait_for_transaction_receipt(tx_hash, timeout=90)
    devnet.sequencer.kill()
    devnet.sequencer.start()
    sent += _transfer(sequencer, devnet.key(6), 3)
    for tx_hash in sent:
        sequencer.eth.wait_for_transaction_receipt(tx_hash, timeout=90)
    target = sequencer.eth.block_number
    wait_safe(devnet.follower.url, target, timeout=120)
    wait_safe(devnet.sequencer.url, target, timeout=60)
    assert_same_chain(sequencer, follower, target)
    ranges = sorted(_batch_ranges(l1, devnet))
    covered = [n for first, last in ranges for n in range(first, last + 1)]
    assert len(covered) == len(set(covered)), f"an L2 block was posted twice: {ranges}"
    assert set(range(1, target + 1)) <= set(covered), "an L2 block was never posted"
    for tx_hash in sent:
        assert derived_receipt(follower, tx_hash)["status"] == 1
