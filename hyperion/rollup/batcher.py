"""The batcher: posts the sequencer's blocks to the L1 batch inbox, as blobs or as calldata.

The batcher takes the blocks after the last one already posted, packs as
many as fit one L1 transaction into a channel (``hyperion.rollup.channel``)
and posts it: as blobs by default, or as calldata when that is cheaper
at the current L1 fees (``--data-availability auto``); ``blobs`` and
``calldata`` force one. It posts when a channel is full, when the oldest
unposted block has waited ``max_delay`` seconds, or when that block's L1
origin is half a sequencing window old (derivation would fill the slots
itself after a full window).

No batch is lost or posted twice, across crashes and L1 reorgs:

- before a transaction is sent, its raw bytes and the blocks it carries
  are written to the node's database (a write-ahead record), so a
  restarted batcher sends the very same transaction again (same nonce,
  same hash: at most one of them can be included) instead of a new one;
- a record is dropped once derivation has made its last block safe and
  the L1 block that carries it is finalized; if its transaction disappears
  from L1 (a reorg) while its blocks are still the sequencer's, the same
  transaction is sent again; if derivation refused it, or the sequencer's
  chain moved on without its blocks, the record and every later one are
  dropped and the blocks are posted anew.

In a sequencer set (``own`` = this sequencer's address, the coinbase of
the blocks it builds) each batcher posts the runs of blocks its node built;
a block built by another sequencer is left to that one's batcher, until its
L1 origin is half a sequencing window old (its builder is down or slow):
then this batcher posts it, with whatever follows, so that derivation does
not replace it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Optional

from hyperion.primitives import rlp
from hyperion.primitives.transactions import DEPOSIT_TX_TYPE
from hyperion.primitives.transactions import GAS_PER_BLOB, FeeMarketTransaction
from hyperion.rollup.blobs import blobs_needed, encode_blobs, max_blob_payload
from hyperion.rollup.channel import ORIGIN_CHECK_BYTES, BlockBatch, Channel, encode_channel
from hyperion.rollup.config import RollupConfig
from hyperion.rollup.derivation import DerivationPipeline
from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1client import L1RpcError, hexd, qty
from hyperion.rollup.l1tx import L1Signer

log = logging.getLogger("hyperion.rollup.batcher")

POSTS_KEY = "batcher_posts"
MAX_CALLDATA_BYTES = 120_000  # under geth's 128 KiB transaction size limit
DA_MODES = ("auto", "blobs", "calldata")
TX_BASE_GAS = 21000


@dataclass
class Post:
    """A batch transaction sent (or about to be sent) to L1."""

    nonce: int
    tx_hash: bytes
    first: int
    last: int
    last_hash: bytes
    raw: bytes
    blobs: int
    size: int
    sent_at: float = 0.0
    included_in: Optional[int] = None

    def to_rlp(self) -> list:
        return [self.nonce, self.tx_hash, self.first, self.last, self.last_hash, self.raw, self.blobs, self.size]

    @classmethod
    def from_rlp(cls, item) -> "Post":
        nonce, tx_hash, first, last, last_hash, raw, blobs, size = item
        return cls(int.from_bytes(nonce, "big"), tx_hash, int.from_bytes(first, "big"), int.from_bytes(last, "big"),
                   last_hash, raw, int.from_bytes(blobs, "big"), int.from_bytes(size, "big"))


def block_batch(chain: RollupChain, block) -> BlockBatch:
    header = block.header
    return BlockBatch(chain.ref_of(block).origin_number,
                      tuple(tx for tx in block.transactions if tx.type != DEPOSIT_TX_TYPE),
                      header.state_root, header.receipts_root, header.gas_used, header.logs_bloom,
                      header.requests_hash, None if header.coinbase == chain.config.coinbase else header.coinbase)


def calldata_gas(data: bytes) -> int:
    """Intrinsic L1 gas of calldata, with the EIP-7623 floor (what a calldata batch pays per byte)."""
    zeros = data.count(0)
    nonzero = len(data) - zeros
    standard = 4 * zeros + 16 * nonzero
    floor = 10 * (zeros + 4 * nonzero)
    return TX_BASE_GAS + max(standard, floor)


def calldata_is_cheaper(data: bytes, base_fee: int, tip: int, blob_base_fee: int) -> bool:
    """Would ``data`` cost less as calldata (EIP-7623 floor) than as blobs, at these L1 fees?

    Blobs win unless the blob base fee is high against the execution gas
    price: a blob transaction pays 21,000 gas plus 131,072 blob gas per blob,
    calldata ~40 gas per non-zero byte.
    """
    calldata_cost = calldata_gas(data) * (base_fee + tip)
    blob_cost = TX_BASE_GAS * (base_fee + tip) + blobs_needed(len(data)) * GAS_PER_BLOB * blob_base_fee
    return calldata_cost < blob_cost


class Batcher:
    def __init__(self, config: RollupConfig, chain: RollupChain, derivation: DerivationPipeline, signer: L1Signer,
                 *, mode: str = "auto", max_delay: float = 4.0, clock=time.time, own: Optional[bytes] = None):
        if mode not in DA_MODES:
            raise ValueError(f"data availability mode must be one of {DA_MODES}")
        self.config = config
        self.chain = chain
        self.derivation = derivation
        self.signer = signer
        self.mode = mode
        self.max_delay = max_delay
        self.clock = clock
        self.own = own
        self.posts: list[Post] = self._load()
        self._resets_seen = derivation.resets
        self.stats = {"posts": 0, "calldata_posts": 0, "blob_posts": 0, "blocks": 0, "txs": 0, "bytes": 0,
                      "raw_bytes": 0, "reposts": 0}

    # -- the write-ahead records ------------------------------------------------------------------
    def _load(self) -> list[Post]:
        raw = self.chain.meta_get(POSTS_KEY)
        if not raw:
            return []
        return [Post.from_rlp(item) for item in rlp.decode(raw)]

    def _save(self) -> None:
        self.chain.meta_put(POSTS_KEY, rlp.encode([p.to_rlp() for p in self.posts]) if self.posts else None)

    def _drop_from(self, index: int, reason: str) -> None:
        dropped = self.posts[index:]
        if dropped:
            log.warning("%s: blocks %d..%d will be posted again", reason, dropped[0].first, dropped[-1].last)
            del self.posts[index:]
            self._save()

    # -- tracking what was posted --------------------------------------------------------------------
    async def check_posts(self) -> None:
        chain = self.chain
        finalized = self.derivation.traversal.finalized
        while self.posts and self._settled(self.posts[0], finalized):
            self.posts.pop(0)
            self._save()
        cursor = self.derivation.traversal.cursor.number
        # an included post is only looked at again after an L1 reorg made derivation reset
        recheck = self.derivation.resets != self._resets_seen
        self._resets_seen = self.derivation.resets
        if recheck and self.posts and self.posts[0].first > chain.safe_number + 1 and self._own(chain.safe_number + 1):
            # the reorg took back batches of this batcher already dropped as settled (L1 had called their blocks
            # finalized): their blocks go first, at the lowest nonce; re-sending the later posts' transactions
            # would only leave them waiting behind the nonces the reorg freed
            self._drop_from(0, f"an L1 reorg took back the batches of L2 blocks {chain.safe_number + 1}.."
                               f"{self.posts[0].first - 1}")
            return
        for index, post in enumerate(self.posts):
            if not self._still_ours(post):
                self._drop_from(index, f"the sequencer's chain no longer holds the blocks of batch 0x{post.tx_hash.hex()}")
                return
            derived_past = post.included_in is not None and cursor >= post.included_in
            if post.included_in is not None and not recheck and not (derived_past and chain.safe_number < post.last):
                continue
            receipt = await self.signer.client.call("eth_getTransactionReceipt", hexd(post.tx_hash))
            if receipt is not None:
                post.included_in = qty(receipt["blockNumber"])
                if qty(receipt.get("status")) != 1:
                    log.error("batch transaction 0x%s reverted on L1 (is %s the authorized batcher?)",
                              post.tx_hash.hex(), hexd(self.signer.address))
                    self._drop_from(index, "batch reverted")
                    return
                if cursor >= post.included_in and chain.safe_number < post.last:
                    # derivation read the L1 block that carries it and did not take its blocks
                    self._drop_from(index, f"derivation did not accept batch 0x{post.tx_hash.hex()}")
                    return
                continue
            post.included_in = None
            known = await self.signer.client.call("eth_getTransactionByHash", hexd(post.tx_hash))
            if known is None:
                log.warning("batch transaction 0x%s (blocks %d..%d) is not on L1 (reorged out, or never sent): "
                            "sending it again", post.tx_hash.hex(), post.first, post.last)
                await self._broadcast(post)
                self.stats["reposts"] += 1
                if post not in self.posts:  # it could not be sent again: the later posts went with it
                    return

    def _settled(self, post: Post, finalized_l1: Optional[int]) -> bool:
        """Derived, and carried by a finalized L1 block: no reorg can take it back any more."""
        return (post.included_in is not None and finalized_l1 is not None and post.included_in <= finalized_l1
                and self.chain.safe_number >= post.last and self._still_ours(post))

    def _own(self, number: int) -> bool:
        """Is L2 block ``number`` this batcher's to post (in a sequencer set: built by its node)?"""
        return self.own is None or self.chain.block_by_number(number).header.coinbase == self.own

    def _still_ours(self, post: Post) -> bool:
        block = self.chain.block_by_number(post.last)
        return block is not None and block.hash == post.last_hash

    async def _broadcast(self, post: Post) -> None:
        try:
            await self.signer.client.send_raw_transaction(post.raw)
        except L1RpcError as exc:
            text = exc.message.lower()
            if "already" in text or "known" in text:
                return
            # the nonce went to another transaction of this key, or the fee cap fell below the base fee:
            # these blocks need a new batch
            self._drop_from(self.posts.index(post), f"batch 0x{post.tx_hash.hex()} cannot be sent again ({exc.message})")
            return
        post.sent_at = self.clock()

    # -- posting --------------------------------------------------------------------------------------
    def next_to_post(self) -> int:
        return max(self.chain.safe_number, self.posts[-1].last if self.posts else 0) + 1

    def _due(self, first: int, head: int, size: int, limit: int) -> bool:
        if size >= limit:
            return True
        waited = self.clock() - self.config.timestamp_of(first)
        return waited >= self.max_delay or self._half_window_old(first)

    def _half_window_old(self, number: int) -> bool:
        traversal = self.derivation.traversal
        origin = self.chain.ref(number).origin_number
        return traversal.head is not None and traversal.head - origin >= self.config.seq_window_size // 2

    def _last_to_post(self, first: int, head: int) -> Optional[int]:
        """The last block of the next batch (None: not this batcher's to post now; see the module docstring)."""
        if self.own is None:
            return head
        chain = self.chain
        if chain.block_by_number(first).header.coinbase != self.own:
            return head if self._half_window_old(first) else None
        last = first
        while last < head and chain.block_by_number(last + 1).header.coinbase == self.own:
            last += 1
        return last

    def _channel(self, first: int, last: int) -> tuple[Channel, bytes]:
        chain = self.chain
        blocks = [chain.block_by_number(n) for n in range(first, last + 1)]
        entries = tuple(block_batch(chain, b) for b in blocks)
        origin_hash = chain.ref_of(blocks[-1]).origin.hash
        channel = Channel(first, blocks[0].header.parent_hash, origin_hash[:ORIGIN_CHECK_BYTES], entries)
        return channel, encode_channel(channel)

    def _limit(self) -> int:
        return MAX_CALLDATA_BYTES if self.mode == "calldata" else max_blob_payload()

    async def tick(self) -> Optional[Post]:
        """Post the next batch if one is due; returns the post."""
        await self.check_posts()
        chain = self.chain
        first = self.next_to_post()
        head = chain.head().number
        if first > head:
            return None
        limit = self._limit()
        last = self._last_to_post(first, head)
        if last is None:
            return None
        channel, data = self._channel(first, last)
        while len(data) > limit and last > first:
            last = first + max(0, int((last - first + 1) * limit / len(data) * 0.9) - 1)
            channel, data = self._channel(first, last)
        if len(data) > limit:
            log.error("L2 block %d alone does not fit one batch transaction (%d bytes)", first, len(data))
            return None
        if not self._due(first, head, len(data), limit * 0.8):
            return None
        return await self._post(channel, data, chain.block_by_number(last).hash)

    async def _choose_calldata(self, data: bytes) -> bool:
        if self.mode != "auto":
            return self.mode == "calldata"
        if len(data) > MAX_CALLDATA_BYTES:
            return False
        return calldata_is_cheaper(data, *await self.signer.client.fees())

    async def _post(self, channel: Channel, data: bytes, last_hash: bytes) -> Optional[Post]:
        signer = self.signer
        inbox = self.config.batch_inbox
        use_calldata = await self._choose_calldata(data)
        # after the posts still tracked: a reorged-out one is re-sent at its own nonce before this one is mined
        nonce = max(await signer.client.nonce(signer.address, "pending"),
                    max((p.nonce + 1 for p in self.posts), default=0))
        fees = await signer._fees()
        if use_calldata:
            gas = int(max(calldata_gas(data) + 30_000, await signer.estimate(inbox, data)))
            max_fee, tip, _ = fees
            tx = FeeMarketTransaction(signer.chain_id, nonce, tip, max_fee, gas, inbox, 0, data).signed(signer.key)
            tx_hash, raw, blob_count = tx.hash, tx.encode(), 0
        else:
            blobs = encode_blobs(data)
            tx_hash, raw = signer.blob_transaction(inbox, blobs, nonce, fees)
            blob_count = len(blobs)
        last_block = self.chain.block_by_number(channel.last_number)
        if last_block is None or last_block.hash != last_hash:
            # the sequencer rolled these blocks back while L1 was asked for fees and the nonce (an L1 reorg)
            log.info("not posting L2 blocks %d..%d: they changed while the batch was prepared",
                     channel.first_number, channel.last_number)
            return None
        post = Post(nonce, tx_hash, channel.first_number, channel.last_number, last_hash, raw, blob_count, len(data))
        self.posts.append(post)
        self._save()  # write-ahead: a crash from here on re-sends this very transaction
        try:
            await signer.client.send_raw_transaction(raw)
        except L1RpcError as exc:
            if blob_count and "proof" in exc.message.lower():
                tx_hash, raw = signer.blob_transaction(inbox, encode_blobs(data), nonce, fees, cell_form=True)
                post.tx_hash, post.raw = tx_hash, raw
                self._save()
                await signer.client.send_raw_transaction(raw)
            else:
                self.posts.remove(post)
                self._save()
                raise
        post.sent_at = self.clock()
        txs = sum(len(b.transactions) for b in channel.blocks)
        raw_size = len(rlp.encode(channel.to_rlp()))
        stats = self.stats
        stats["posts"] += 1
        stats["blob_posts" if blob_count else "calldata_posts"] += 1
        stats["blocks"] += len(channel.blocks)
        stats["txs"] += txs
        stats["bytes"] += len(data)
        stats["raw_bytes"] += raw_size
        log.info("posted L2 blocks %d..%d (%d txs) as %s: %d bytes (%.1fx compressed), L1 tx 0x%s nonce %d",
                 channel.first_number, channel.last_number, txs,
                 f"{blob_count} blob(s)" if blob_count else "calldata", len(data), raw_size / max(len(data), 1),
                 tx_hash.hex(), nonce)
        return post
