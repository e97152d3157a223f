"""The sequencer: builds an L2 block every ``block_time`` seconds.

Each block's timestamp is fixed by its number. Its L1 origin is its
parent's, or the next L1 block once that block is ``sequencer_conf_depth``
blocks deep and not newer than the L2 block; the first block of an epoch
carries that L1 block's deposits. Past ``max_sequencer_drift`` the sequencer
builds empty blocks until it can adopt a newer origin (derivation would
refuse anything else). A sequencer that fell behind the clock (after a
restart) builds the missing blocks back to back.

If its L1 origin is reorged away, the sequencer rolls its unsafe blocks
back and offers their transactions to the pool again.

Test hook: ``HYPERION_TEST_OMIT_DEPOSITS=1`` makes it a censoring
sequencer: it leaves out the user deposits of the first L1 block with
deposits that it adopts, every time it builds that epoch's first block
(derivation refuses those blocks, then force-includes the deposits when the
sequencing window has passed).

Who may build is not the sequencer's own choice when several nodes share a
chain: every block goes through a ``Leadership`` gate (a staked rotation
schedule, an etcd lease; implemented in ``hyperion.sequencer``). The
default, ``AlwaysLeader``, is the single sequencer of the rollup issue.

In a staked sequencer set every block is signed: the ``signer`` hook
(``hyperion.sequencer.signing``) returns the signature, which the node
stores with the block and serves (``hyperion_getSignedBlock``). Two signed
blocks at one height get the signer slashed, so the sequencer never signs a
height it signed before (slashing protection, persisted before the
signature exists): a block it rebuilds after a rollback (L1 reorg,
derivation replaced its unsafe blocks) stays unsigned and reaches followers
through L1 only. Test hook:
``HYPERION_TEST_EQUIVOCATE_AT=N`` makes it an equivocating sequencer: it
keeps block N as its head for ``EQUIVOCATION_DELAY`` seconds (followers
fetch it), then replaces it by a twin (same transactions, other extra
data), signs the twin too and builds on it: whoever follows it sees two
signed blocks for height N.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Callable, Optional, Protocol

from hyperion.chain.blocks import Block
from hyperion.chain.errors import TxPoolError
from hyperion.rollup.config import RollupConfig
from hyperion.rollup.derivation import DerivationPipeline, L1Reorg, attributes
from hyperion.rollup.engine import InvalidBlock, RollupChain
from hyperion.rollup.l1client import L1Block

log = logging.getLogger("hyperion.rollup.sequencer")

OMIT_DEPOSITS_ENV = "HYPERION_TEST_OMIT_DEPOSITS"
EQUIVOCATE_ENV = "HYPERION_TEST_EQUIVOCATE_AT"
EQUIVOCATION_EXTRA_DATA = b"hyperion: equivocation test"
EQUIVOCATION_DELAY = 3.0
SIGNED_THROUGH_KEY = "signed_through"  # the highest L2 height this node signed a block at


class Leadership(Protocol):
    """The gate in front of every block this node builds."""

    async def may_build(self, number: int, timestamp: int) -> bool:
        """May this node build L2 block ``number`` (with ``timestamp``) now?"""

    async def built(self, block) -> bool:
        """Called after building, before the block is published; False = not accepted (the block is rolled back)."""


class AlwaysLeader:
    """One sequencer: it always leads."""

    async def may_build(self, number: int, timestamp: int) -> bool:
        return True

    async def built(self, block) -> bool:
        return True


class Sequencer:
    def __init__(self, config: RollupConfig, chain: RollupChain, derivation: DerivationPipeline,
                 clock=time.time, leadership: Optional[Leadership] = None, coinbase: Optional[bytes] = None,
                 signer: Optional[Callable[[Block], bytes]] = None, batcher: Optional[bytes] = None):
        self.config = config
        self.chain = chain
        self.derivation = derivation
        self.clock = clock
        self.coinbase = coinbase  # fee recipient of the blocks it builds (None: the genesis coinbase)
        self.leadership: Leadership = leadership if leadership is not None else AlwaysLeader()
        self.leading = True  # what the gate said last: a node that may not build polls instead of sleeping
        self.signer = signer  # signs every block this node builds (staked sequencer set); None: unsigned
        self.batcher = batcher or config.batcher  # the L1 address that will post this node's batches
        equivocate_at = os.environ.get(EQUIVOCATE_ENV)
        self.equivocate_at: Optional[int] = int(equivocate_at) if equivocate_at else None
        self._original_built_at: Optional[float] = None  # when the hook's block N was built
        self.omit_deposits = os.environ.get(OMIT_DEPOSITS_ENV) == "1"
        self.censored_origin: Optional[int] = None  # the L1 block whose deposits the test hook leaves out
        self.omitted: list = []  # hashes of deposits the test hook left out
        self.built_blocks = 0
        self.built_txs = 0
        derivation.offer_again = self._offer_again  # blocks derivation replaces: their transactions come back

    def next_block_time(self) -> float:
        return self.config.timestamp_of(self.chain.head().number + 1)

    async def _choose_origin(self, parent, timestamp: int) -> L1Block:
        traversal = self.derivation.traversal
        current = await traversal.header(parent.origin_number)
        if current.hash != parent.origin.hash:
            raise L1Reorg(f"the sequencer's L1 origin {parent.origin_number} was reorged away")
        head = traversal.head
        nxt = parent.origin_number + 1
        if head is not None and nxt <= head - self.config.sequencer_conf_depth:
            candidate = await traversal.header(nxt)
            if candidate.timestamp <= timestamp:
                return candidate
        return current

    async def build_next(self) -> Optional[object]:
        """Build the next block if its time has come; returns it (None when it is not time yet)."""
        chain = self.chain
        timestamp = self.next_block_time()
        if timestamp > self.clock():
            return None
        if self._original_built_at is not None and chain.head().number == self.equivocate_at:
            if self.clock() < self._original_built_at + EQUIVOCATION_DELAY:
                return None  # the test hook shows block N for a while before replacing it
            self._equivocate(self.equivocate_at)
        parent = chain.head_ref()
        self.leading = await self.leadership.may_build(parent.number + 1, timestamp)
        if not self.leading or chain.head().number != parent.number:  # the gate said no, or a peer's block arrived
            return None
        try:
            origin = await self._choose_origin(parent, timestamp)
        except L1Reorg as exc:
            self._roll_back_reorged(parent, str(exc))
            return None
        deposits = await self.derivation.deposits_of(origin)
        if self.omit_deposits and deposits and origin.number != parent.origin_number:
            if self.censored_origin is None:
                self.censored_origin = origin.number
            if origin.number == self.censored_origin:
                log.warning("test hook %s: leaving out %d deposits of L1 block %d", OMIT_DEPOSITS_ENV,
                            len(deposits), origin.number)
                self.omitted = [d.hash for d in deposits]
                deposits = []
        if chain.head().hash != parent.hash:  # a peer's block arrived while L1 was read: decide again
            return None
        attrs = attributes(self.config, parent, origin, deposits, batcher=self.batcher)
        if self.coinbase is not None:
            attrs = dataclasses.replace(attrs, coinbase=self.coinbase)
        in_drift = timestamp <= origin.timestamp + self.config.max_sequencer_drift
        try:
            block = chain.build_block(attrs, from_pool=in_drift)
        except InvalidBlock as exc:  # only a deposit can make this fail: the Portal's limits forbid it
            log.error("cannot build L2 block %d: %s", attrs.number, exc)
            return None
        if not await self.leadership.built(block):
            self.leading = False
            log.warning("L2 block %d was not accepted by the leadership gate: rolling it back", block.number)
            self._offer_again(chain.rollback_to(block.number - 1))
            return None
        self._sign(block)
        if block.number == self.equivocate_at:
            self._original_built_at = self.clock()
        self.built_blocks += 1
        self.built_txs += len(block.transactions) - len(attrs.deposits)
        if len(block.transactions) > len(attrs.deposits) or len(attrs.deposits) > 1:
            log.info("sequenced L2 block %d txs=%d deposits=%d origin=%d", block.number,
                     len(block.transactions) - len(attrs.deposits), len(attrs.deposits) - 1, origin.number)
        return block

    def _sign(self, block: Block, protect: bool = True) -> None:
        if self.signer is None:
            return
        chain = self.chain
        raw = chain.meta_get(SIGNED_THROUGH_KEY)
        signed_through = -1 if raw is None else int.from_bytes(raw, "big")
        if protect and block.number <= signed_through:
            log.warning("not signing L2 block %d: this node signed a block at height %d already (a second "
                        "signature at one height is slashable); it reaches followers through L1", block.number,
                        signed_through)
            return
        if block.number > signed_through:
            chain.meta_put(SIGNED_THROUGH_KEY, block.number.to_bytes(8, "big"))
        chain.store_signature(block.hash, self.signer(block))

    def _equivocate(self, number: int) -> None:
        """The test hook: replace block ``number`` by a signed twin and build on the twin."""
        self.equivocate_at = self._original_built_at = None
        chain = self.chain
        original = chain.block_by_number(number)
        twin = Block(dataclasses.replace(original.header, extra_data=EQUIVOCATION_EXTRA_DATA), original.transactions,
                     original.withdrawals)
        log.warning("test hook %s: replacing L2 block %d (0x%s) by a twin 0x%s and signing both", EQUIVOCATE_ENV,
                    number, original.hash.hex(), twin.hash.hex())
        with chain.lock:
            chain.rollback_to(number - 1)  # block N is the head: its transactions are all in the twin
            chain.import_block(twin)
        self._sign(twin, protect=False)

    def _roll_back_reorged(self, parent, reason: str) -> None:
        chain = self.chain
        number = parent.number
        while number > chain.safe_number and chain.ref(number).origin_number >= parent.origin_number:
            number -= 1
        log.warning("%s: rolling unsafe L2 blocks back from %d to %d", reason, parent.number, number)
        self._offer_again(chain.rollback_to(number))

    def _offer_again(self, transactions: list) -> None:
        for tx in transactions:
            try:
                self.chain.submit_transaction(tx)
            except TxPoolError:
                pass
