"""A deposit the sequencer leaves out is force-included; an L1 reorg that drops a posted batch is survived.

Done-when bullets covered here: a deposit omitted by the sequencer (test
hook ``HYPERION_TEST_OMIT_DEPOSITS``) is force-included at the end of the
sequencing window and the follower agrees; an L1 reorg (``anvil_reorg``)
that drops a posted batch is survived by sequencer and follower, and the
batch is posted again; a reorg deeper than anvil's finality (two blocks)
takes back a deposit and batches both nodes derived finalized blocks from,
and both follow the new L1.
"""

from __future__ import annotations

import re
import time

import pytest
from eth_account import Account
from web3 import Web3
from web3.exceptions import TransactionNotFound

from hyperion.rollup.channel import MalformedChannel, decode_channel
from hyperion.rollup.devnet import BATCHER, rpc
from hyperion.rollup.l1.clients import PortalClient
from hyperion.rollup.l1.transact import Sender
from tests.rollup.e2e.conftest import assert_same_chain, safe_number, sync_status, wait_safe, wait_until, web3_of

pytestmark = pytest.mark.e2e

# a short sequencing window, so that the omitted deposit is force-included within the test
DEVNET = dict(data_availability="calldata", challenge=False, seq_window_size=12,
              sequencer_env={"HYPERION_TEST_OMIT_DEPOSITS": "1"})
ETHER = 10**18


@pytest.fixture(scope="module")
def feed_follower(devnet):
    """A third node that also imports the sequencer's unsafe blocks over its WebSocket feed."""
    node = devnet.make_follower("feed-follower", challenge=False, follow_unsafe=True)
    node.start()
    try:
        yield node
    finally:
        node.stop()


def test_an_omitted_deposit_is_force_included_after_the_window(devnet, l1, sequencer, follower, feed_follower):
    wait_safe(devnet.follower.url, 3)
    fresh = Account.create().address
    portal = PortalClient(l1, devnet.deployment.portal, Sender(l1, Account.from_key(devnet.key(7))))
    deposit_block = portal.deposit_transaction(fresh, value=ETHER, gas_limit=100_000, mint=ETHER)["blockNumber"]
    omitted = wait_until(lambda: sync_status(devnet.sequencer.url)["hyperion"]["sequencer"]["omitted_deposits"], 60,
                         "the sequencer to leave the deposit out (test hook)")
    window = devnet.config.seq_window_size
    for node in (follower, sequencer):
        wait_until(lambda: node.eth.get_balance(fresh) == ETHER, 150, "the deposit to be force-included")
    # it came in through derivation, after the window of its L1 block closed
    log = devnet.follower.log_text()
    forced = re.findall(r"sequencing window of L1 block \d+ expired at L1 block (\d+): deriving "
                        r"L2 block (\d+) without a batch \(1 deposits\)", log)
    assert forced, "the deposit did not come in through a block derivation filled in itself"
    expired_at, forced_block = (int(x) for x in forced[0])
    tx = follower.eth.get_transaction(omitted[0])
    assert tx["type"] == 0x7E and tx["to"] == fresh and tx["blockNumber"] == forced_block
    assert expired_at > deposit_block + window - 1
    assert "refusing invalid L2 block" in log  # the censoring sequencer's batches were refused meanwhile
    # the sequencer rejoined the derived chain and goes on sequencing
    head = sequencer.eth.block_number
    wait_until(lambda: safe_number(devnet.follower.url) >= head + 5, 150, "the chain to move on after the forced block")
    target = safe_number(devnet.follower.url)
    wait_safe(devnet.sequencer.url, target)
    assert_same_chain(sequencer, follower, target)


def test_a_follower_on_the_unsafe_feed_tracks_the_sequencer_and_l1_wins(devnet, sequencer, follower, feed_follower):
    fed = web3_of(feed_follower.url)
    status = sync_status(feed_follower.url)
    assert status["hyperion"]["unsafe_imported"] > 0
    # it imported the censoring sequencer's blocks, and derivation replaced them with the forced ones
    assert "differs from what L1 derives" in feed_follower.log_text()
    target = safe_number(devnet.follower.url)
    wait_safe(feed_follower.url, target)
    assert_same_chain(follower, fed, target)
    head = sequencer.eth.block_number
    wait_until(lambda: fed.eth.block_number >= head, 30, "the feed follower's latest to reach the sequencer's")


def _latest_batch(l1: Web3, devnet) -> tuple[int, int, int]:
    """(L1 block, first L2 block, last L2 block) of the newest calldata batch on L1."""
    inbox = devnet.deployment.batch_inbox.lower()
    batcher = Web3.to_checksum_address(devnet.address(BATCHER))
    head = l1.eth.block_number
    for number in range(head, max(head - 10, 0), -1):
        for tx in l1.eth.get_block(number, full_transactions=True)["transactions"]:
            if (tx["to"] or "").lower() == inbox and tx["from"] == batcher:
                try:
                    channel = decode_channel(bytes(tx["input"]))
                except MalformedChannel:
                    continue
                return number, channel.first_number, channel.last_number
    return None


def _reorg_from(devnet, l1: Web3, number: int) -> int:
    """Replace L1 blocks ``number``.. (anvil_reorg); returns the depth. anvil counts the depth from its head when
    the call arrives: if it mined a block after the head was read, the reorg missed ``number``: do it again."""
    dropped = l1.eth.get_block(number)["hash"]
    for _ in range(3):
        depth = l1.eth.block_number - number + 1
        rpc(devnet.l1_url, "anvil_reorg", depth, [])
        if l1.eth.get_block(number)["hash"] != dropped:
            return depth
    raise AssertionError(f"three reorgs missed L1 block {number}")


def test_an_l1_reorg_dropping_a_posted_batch_is_survived_and_the_batch_posted_again(devnet, l1, sequencer, follower):
    head = sequencer.eth.block_number
    wait_safe(devnet.follower.url, head, timeout=120)
    found = wait_until(lambda: (lambda b: b if b and b[2] > head else None)(_latest_batch(l1, devnet)), 60,
                       "a fresh batch on L1")
    l1_block, first, last = found
    # both nodes have derived the batch and read its L1 block, so both must notice that block go away
    for url in (devnet.follower.url, devnet.sequencer.url):
        wait_safe(url, last, timeout=60)
        wait_until(lambda: sync_status(url)["hyperion"]["current_l1"] >= l1_block, 60,
                   f"{url} to read L1 block {l1_block}")
    logged_before = len(devnet.sequencer.log_text())
    depth = _reorg_from(devnet, l1, l1_block)
    # both nodes notice, the batcher sends the batch again, and the blocks become safe again; the batcher sends
    # the very transaction again or, when it had already dropped the batch as settled (its L1 block was
    # "finalized": a reorg of depth >= 3 on anvil), posts the blocks anew
    reposted = ("sending it again", "will be posted again")
    wait_until(lambda: any(line in devnet.sequencer.log_text()[logged_before:] for line in reposted), 60,
               "the batcher to re-post the batch")
    for node in (devnet.follower, devnet.sequencer):
        try:
            wait_until(lambda: "L1 reorg" in node.log_text() or "no longer canonical" in node.log_text(), 120,
                       f"the {node.name} to notice the reorg")
        except AssertionError as exc:  # say where the node stood (its L1 cursor, a driver that stopped)
            status = sync_status(node.url)["hyperion"]
            tail = "\n".join([line for line in node.log_text().splitlines() if "level=INFO" not in line][-30:])
            raise AssertionError(f"{exc}: reorg of depth {depth} from L1 block {l1_block}, L1 head now "
                                 f"{l1.eth.block_number}; the node's L1 cursor {status.get('current_l1')}, its L1 head "
                                 f"{status.get('head_l1')}; its last warnings:\n{tail}") from None
    target = sequencer.eth.block_number
    wait_safe(devnet.follower.url, target, timeout=150)
    wait_safe(devnet.sequencer.url, target, timeout=60)
    assert_same_chain(sequencer, follower, target)
    time.sleep(0.5)
    assert safe_number(devnet.follower.url) >= last


def test_a_reorg_past_l1_finality_takes_back_a_deposit_and_derived_batches_and_both_nodes_follow_l1(
        devnet, l1, sequencer, follower, feed_follower):
    """anvil calls finalized what is two blocks deep: a deeper reorg takes back blocks both nodes derived
    finalized L2 blocks from. L1 wins: the deposit it took back is gone from L2, the one it kept stays, and the
    sequencer and its followers derive the same chain from the new L1 (before the fix they reset forever)."""
    portal = PortalClient(l1, devnet.deployment.portal, Sender(l1, Account.from_key(devnet.key(8))))
    kept, taken_back = Account.create().address, Account.create().address
    kept_block = portal.deposit_transaction(kept, value=ETHER, gas_limit=100_000, mint=ETHER)["blockNumber"]
    wait_until(lambda: l1.eth.block_number > kept_block, 30, "the next L1 block")
    receipt = portal.deposit_transaction(taken_back, value=ETHER, gas_limit=100_000, mint=ETHER)
    reorg_from = receipt["blockNumber"]
    # both nodes hold the second deposit in a finalized L2 block (derived from an L1 block anvil calls finalized)
    for node in (follower, sequencer):
        wait_until(lambda: node.eth.get_balance(taken_back, "finalized") == ETHER, 150,
                   f"the deposit to be finalized at {node.provider.endpoint_uri}")
    assert l1.eth.get_block("finalized")["number"] >= reorg_from
    unsafe_before = sequencer.eth.block_number
    depth = _reorg_from(devnet, l1, reorg_from)
    assert depth >= 3
    with pytest.raises(TransactionNotFound):  # the reorg dropped the deposit's L1 transaction
        l1.eth.get_transaction_receipt(receipt["transactionHash"])
    # both nodes move on from the new L1 and agree
    wait_safe(devnet.sequencer.url, unsafe_before + 5, timeout=150)
    target = safe_number(devnet.sequencer.url)
    wait_safe(devnet.follower.url, target, timeout=150)
    assert_same_chain(sequencer, follower, target)
    fed = web3_of(feed_follower.url)  # it had imported the sequencer's unsafe blocks on the old L1 too
    wait_safe(feed_follower.url, target, timeout=150)
    assert_same_chain(sequencer, fed, target)
    for node in (sequencer, follower, fed):
        assert node.eth.get_balance(taken_back, target) == 0  # L1 no longer has that deposit
        assert node.eth.get_balance(kept, target) == ETHER    # and still has this one
    # the safe chain stands on canonical L1 blocks
    origin = sync_status(devnet.follower.url)["safe_l2"]["l1origin"]
    assert l1.eth.get_block(origin["number"])["hash"].hex().removeprefix("0x") == origin["hash"].removeprefix("0x")
    assert "L1 reorg below finality" in devnet.follower.log_text()
