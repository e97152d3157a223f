"""Derivation's reset after an L1 reorg, in process, against an L1 whose blocks a test replaces.

The end-to-end reorg tests (``tests/rollup/e2e``) drive the same code
against anvil; here the orderings are forced: a reorg that takes back L1
blocks L1 had called finalized, an L1 that fails while the node resets,
and a batcher whose settled batches a reorg took back.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from hyperion.rollup import node as rollup_node
from hyperion.rollup.batcher import Batcher, Post
from hyperion.rollup.config import L1BlockId
from hyperion.rollup.derivation import DerivationPipeline, L1Reorg, attributes
from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1client import L1Block, L1Unavailable
from hyperion.rollup.node import RollupNode, RollupOptions
from tests.rollup.test_engine import _config


class _ForkableL1:
    """An L1 of numbered blocks 5 (the rollup's genesis L1 block) .. head; ``fork(n)`` replaces n.. by new blocks."""

    def __init__(self, head: int):
        self.by_number: dict[int, L1Block] = {}
        self.finalized = None
        self._extend(5, head, b"\x00")

    def _extend(self, first: int, last: int, salt: bytes) -> None:
        for number in range(first, last + 1):
            parent = self.by_number[number - 1].hash if number > 5 else b"\x04" * 32
            block_hash = b"\x05" * 32 if number == 5 else bytes([number]) * 31 + salt
            self.by_number[number] = L1Block(number, block_hash, parent, 0x100, 7, bytes(32), None, 0)

    def fork(self, first: int, salt: bytes) -> None:
        self._extend(first, max(self.by_number), salt)

    def id(self, number: int) -> L1BlockId:
        return L1BlockId(number, self.by_number[number].hash)

    async def block(self, number, full=False):
        return self.by_number.get(number)

    async def blocks(self, numbers, full=False):
        return [self.by_number.get(n) for n in numbers]

    async def batch(self, calls):
        head = max(self.by_number)
        finalized = None if self.finalized is None else {"number": hex(self.finalized)}
        return [hex(head), finalized]


def _derived_chain(l1: _ForkableL1, sources: dict[int, int]) -> RollupChain:
    """L2 blocks 1..len(sources), each marked safe as derived from L1 block ``sources[n]``."""
    config = _config()
    chain = RollupChain(config)
    for number in sorted(sources):
        chain.build_block(attributes(config, chain.head_ref(), l1.by_number[6], []), from_pool=False)
        chain.mark_safe(number, l1.id(sources[number]))
    return chain


def test_a_reorg_that_takes_back_finalized_l1_blocks_resets_below_the_finalized_l2_block():
    # anvil calls finalized what is two blocks deep, so an anvil_reorg of depth 3 takes back "finalized" blocks
    l1 = _ForkableL1(head=10)
    chain = _derived_chain(l1, {1: 6, 2: 7, 3: 8, 4: 9})
    chain.mark_finalized(3)
    pipeline = DerivationPipeline(chain.rollup, chain, l1, None)
    pipeline.traversal.reset(l1.id(10))

    l1.fork(8, b"\x01")  # L1 blocks 8.. replaced: L2 blocks 3 and 4 were derived from blocks that are gone
    asyncio.run(pipeline.reset())
    # the newest L2 block derived from canonical L1 is 2: safe and finalized fall back to it, the cursor to L1 7
    assert (chain.safe_number, chain.finalized_number) == (2, 2)
    assert pipeline.traversal.cursor == l1.id(7) and pipeline.resets == 1
    # and derivation goes on along the new L1 chain (a reset that stopped at the finalized block would leave the
    # cursor on the old L1 block 8: every next block would raise L1Reorg again, forever)
    block = asyncio.run(pipeline.traversal.next_block())
    assert block == l1.by_number[8]


def test_a_reorg_above_the_finalized_l2_block_keeps_it_finalized():
    l1 = _ForkableL1(head=10)
    chain = _derived_chain(l1, {1: 6, 2: 7, 3: 8, 4: 9})
    chain.mark_finalized(2)
    pipeline = DerivationPipeline(chain.rollup, chain, l1, None)
    l1.fork(9, b"\x01")
    asyncio.run(pipeline.reset())
    assert (chain.safe_number, chain.finalized_number) == (3, 2)
    assert pipeline.traversal.cursor == l1.id(8)


def test_the_driver_survives_an_l1_failure_while_it_resets_after_a_reorg(monkeypatch):
    """A reset that fails (L1 unreachable) is retried at the next reorg it meets; the role keeps running."""
    monkeypatch.setattr(rollup_node, "RETRY_SECONDS", 0.0)
    node = RollupNode(_config(), RollupOptions(role="follower", l1_rpc_url="http://127.0.0.1:9"))
    resets = []

    class _Pipeline:
        async def reset(self):
            resets.append(len(resets))
            if len(resets) == 1:
                raise L1Unavailable("connection refused")

    steps = []

    async def step():
        steps.append(len(steps))
        if len(steps) <= 2:
            raise L1Reorg("L1 block 9's parent is not the L1 block 8 derivation read")
        node._stop.set()

    node.pipeline = _Pipeline()
    try:
        asyncio.run(node._loop_task("derivation", step, 0.0))
    finally:
        node.chain.close()
    assert len(resets) == 2 and len(steps) == 3


class _BatcherL1:
    """The L1 as the batcher's checks see it after the reorg: none of its transactions is there any more."""

    def __init__(self):
        self.sent: list[bytes] = []

    async def call(self, method, *params):
        assert method in ("eth_getTransactionReceipt", "eth_getTransactionByHash")
        return None

    async def send_raw_transaction(self, raw):
        self.sent.append(raw)
        return b"\x00" * 32


def _batcher_after_a_reorg(safe_after: int):
    """A batcher tracking one post (L2 blocks 4..6, nonce 1; the post of blocks 1..3, nonce 0, was dropped as
    settled), after a reorg took both transactions back and derivation's reset put the safe head at ``safe_after``."""
    l1 = _ForkableL1(head=12)
    chain = _derived_chain(l1, {n: 6 + n // 4 for n in range(1, 7)})
    derivation = SimpleNamespace(resets=0, traversal=SimpleNamespace(finalized=9, cursor=l1.id(9), head=12))
    client = _BatcherL1()
    batcher = Batcher(chain.rollup, chain, derivation, SimpleNamespace(client=client, address=b"\x53" * 20))
    batcher.posts = [Post(1, b"\x02" * 32, 4, 6, chain.block_by_number(6).hash, b"raw of blocks 4..6", 0, 18,
                          included_in=8)]
    derivation.resets += 1  # the reorg
    chain.demote_safe(safe_after)
    asyncio.run(batcher.check_posts())
    return batcher, client


def test_after_a_reorg_took_back_settled_batches_the_batcher_posts_their_blocks_first():
    batcher, client = _batcher_after_a_reorg(safe_after=0)
    # blocks 1..3 are no longer on L1 and no tracked post covers them: re-sending nonce 1 alone would wait forever
    # behind the freed nonce 0, and the next batch would start after block 6
    assert client.sent == [] and batcher.posts == []
    assert batcher.next_to_post() == 1


def test_after_a_reorg_a_batch_that_follows_the_safe_head_is_sent_again_as_it_was():
    batcher, client = _batcher_after_a_reorg(safe_after=3)
    assert client.sent == [b"raw of blocks 4..6"] and len(batcher.posts) == 1
    assert batcher.next_to_post() == 7


def test_the_batcher_does_not_post_blocks_the_sequencer_rolled_back_while_it_asked_l1_for_the_nonce():
    # seen on a devnet after a reorg: the batch of blocks 1..3 was built, then the sequencer rolled block 3 back
    # (its L1 origin was reorged away) while the batcher awaited L1; the post named a block that was gone
    l1 = _ForkableL1(head=12)
    chain = _derived_chain(l1, {1: 7, 2: 7, 3: 7})
    chain.demote_safe(0)
    sent = []

    async def nonce(address, tag):
        chain.rollback_to(2)
        return 0

    async def fees():
        return 10**9, 10**9, 1

    async def estimate(to, data):
        return 100_000

    async def send_raw_transaction(raw):
        sent.append(raw)

    client = SimpleNamespace(nonce=nonce, send_raw_transaction=send_raw_transaction, call=_BatcherL1().call)
    signer = SimpleNamespace(client=client, address=b"\x53" * 20, chain_id=31337, key=b"\x01" * 32, _fees=fees,
                             estimate=estimate)
    derivation = SimpleNamespace(resets=0, traversal=SimpleNamespace(finalized=None, cursor=l1.id(9), head=12))
    batcher = Batcher(chain.rollup, chain, derivation, signer, mode="calldata", max_delay=0.0)
    assert asyncio.run(batcher.tick()) is None
    assert sent == [] and batcher.posts == [] and batcher.next_to_post() == 1
    post = asyncio.run(batcher.tick())  # the next tick posts what the chain holds now
    assert (post.first, post.last, post.last_hash) == (1, 2, chain.block_by_number(2).hash) and len(sent) == 1


def test_a_reorg_that_repeats_at_every_step_is_reset_at_most_once_a_poll(monkeypatch):
    """The sequencer's role loop has no pause: a reorg no reset can mend (the rollup's L1 genesis block gone) made
    it reset as fast as the CPU allowed (57,262 times in 150 s), each with two log lines."""
    node = RollupNode(_config(), RollupOptions(role="sequencer", l1_rpc_url="http://127.0.0.1:9", poll_interval=0.5))
    pauses = []
    real_sleep = asyncio.sleep

    async def sleep(seconds):
        pauses.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(rollup_node.asyncio, "sleep", sleep)
    resets = []

    class _Pipeline:
        async def reset(self):
            resets.append(len(resets))

    async def step():
        if len(resets) == 3:
            node._stop.set()
            return
        raise L1Reorg("L1 block 9's parent is not the L1 block 8 derivation read")

    node.pipeline = _Pipeline()
    try:
        asyncio.run(node._loop_task("sequencer", step, 0.0))
    finally:
        node.chain.close()
    assert len(resets) == 3
    assert pauses.count(0.5) == 3  # one poll interval after each reset (the loop's own pause is 0)
