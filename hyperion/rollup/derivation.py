"""Derivation: the L2 chain from L1 data alone, as a pipeline of stages (after op-node).

    L1 traversal -> L1 retrieval (calldata, blobs) -> channel decoding
        -> batch queue (ordering, L1 origin and sequencing-window rules)
        -> payload attributes (deposits + batch transactions) -> block import

- **L1 traversal** walks L1 one block at a time from the last block it
  finished (persisted), checking that each block's parent is the block
  before: when it is not, L1 reorganised and derivation resets.
- **L1 retrieval** takes the transactions to the batch inbox that succeeded
  and emitted ``BatchSubmitted`` (the inbox reverts for anyone but the
  authorized batcher); their calldata or, for type-3 transactions, their
  blobs (fetched from the beacon API and checked against the transaction's
  versioned hashes) are the batch data. Others are ignored with a log line.
  When the rollup config names a ``batcher_authority`` (a staked sequencer
  set), derivation also asks that L1 contract, at the batch's own L1 block,
  whether the sender may post (``isAuthorizedBatcher``), and ignores the
  batch otherwise: what the inbox accepted is not enough, since the inbox's
  owner can re-point it. The L1-attributes deposit of each block records
  its builder: the coinbase its batch entry names (a member of a set posts
  another member's blocks when that one is down), else the batch's sender.
- **Channel decoding** (``hyperion.rollup.channel``) refuses anything that is
  not a well-formed channel, with a log line.
- **Batch queue**: entries must extend the safe head in order (an older one
  is skipped if it is what the safe chain already holds; one that skips
  ahead is dropped, like the OP Stack's Holocene rules). Each block's L1
  origin is its parent's or the next L1 block, older than the L1 block the
  batch came in, at most ``seq_window_size`` L1 blocks older than it, not
  newer than the L2 block, and not more than ``max_sequencer_drift`` behind
  it (except an empty block when the next origin is not yet possible).
  When the window of the safe head's origin has passed with no valid batch,
  derivation fills the next slots itself: empty blocks that carry the
  epoch's deposits, until the safe head's origin is within half a window of
  L1. That is how deposits the sequencer left out are force-included.
- **Attributes**: every block starts with the L1-attributes deposit; the
  first block of an epoch adds the origin's user deposits.
- **Block import** (``RollupChain.import_block``) executes the rebuilt block
  and refuses it unless the batch's claimed header holds; a refused block
  drops the rest of its channel. A block that is already there (the
  sequencer's own, or an unsafe one) and matches is only marked safe; one
  that does not match is rolled back and replaced: L1 always wins.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Callable, Optional

from hyperion.rollup.blobs import MalformedBlobs, decode_blobs
from hyperion.rollup.channel import ORIGIN_CHECK_BYTES, BlockBatch, Channel, MalformedChannel, decode_channel
from hyperion.rollup.config import L1BlockId, RollupConfig
from hyperion.rollup.deposits import TRANSACTION_DEPOSITED, L1Info, l1_info_deposit, user_deposits
from hyperion.rollup.engine import InvalidBlock, L2Ref, PayloadAttributes, RollupChain
from hyperion.rollup.l1client import (BeaconBlobSource, L1Block, L1Client, L1RpcError, L1Unavailable, data, hexd,
                                      qty)
from hyperion.rollup.l1tx import call_data, decode_result
from hyperion.primitives.keccak import keccak256

log = logging.getLogger("hyperion.rollup.derivation")

BATCH_SUBMITTED = keccak256(b"BatchSubmitted(address,uint256,bytes32[])")
CURSOR_KEY = "l1_cursor"
PREFETCH = 16
MAX_FILLED_PER_L1_BLOCK = 100_000


class L1Reorg(Exception):
    """An L1 block derivation relied on is no longer canonical: reset."""


# --------------------------------------------------------------------------------------------
# L1 traversal
# --------------------------------------------------------------------------------------------


class L1Traversal:
    """The L1 blocks derivation reads, in order, with the canonical headers it has seen."""

    def __init__(self, client: L1Client, cursor: L1BlockId):
        self.client = client
        self.cursor = cursor
        self.head: Optional[int] = None
        self.finalized: Optional[int] = None
        self._headers: dict[int, L1Block] = {}
        self._ahead: dict[int, L1Block] = {}  # full blocks prefetched past the cursor

    async def refresh(self) -> None:
        results = await self.client.batch([("eth_blockNumber", []), ("eth_getBlockByNumber", ["finalized", False])])
        head, finalized = results
        if isinstance(head, L1RpcError):
            raise head
        self.head = qty(head)
        self.finalized = None if isinstance(finalized, L1RpcError) or finalized is None else qty(finalized["number"])

    def remember(self, block: L1Block) -> None:
        self._headers[block.number] = block

    def forget_below(self, number: int) -> None:
        for n in [n for n in self._headers if n < number]:
            del self._headers[n]

    def reset(self, cursor: L1BlockId) -> None:
        self.cursor = cursor
        self._headers.clear()
        self._ahead.clear()

    async def header(self, number: int) -> L1Block:
        """The canonical L1 header ``number`` (cached; fetched when unknown)."""
        block = self._headers.get(number)
        if block is None:
            block = await self.client.block(number)
            if block is None:
                raise L1Reorg(f"L1 block {number} is gone")
            self._headers[number] = block
        return block

    async def next_block(self) -> Optional[L1Block]:
        """The full L1 block after the cursor, or None when derivation has reached the L1 head."""
        number = self.cursor.number + 1
        if self.head is None or number > self.head:
            return None
        block = self._ahead.pop(number, None)
        if block is None:
            last = min(self.head, number + PREFETCH - 1)
            fetched = await self.client.blocks(list(range(number, last + 1)), full=True)
            for item in fetched[1:]:
                if item is not None:
                    self._ahead[item.number] = item
            block = fetched[0]
            if block is None:
                return None
        if block.parent_hash != self.cursor.hash:
            self._ahead.clear()
            raise L1Reorg(f"L1 block {number}'s parent is not the L1 block {self.cursor.number} derivation read")
        return block

    def advance(self, block: L1Block) -> None:
        self.cursor = L1BlockId(block.number, block.hash)
        self._headers[block.number] = block


# --------------------------------------------------------------------------------------------
# L1 retrieval
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchData:
    tx_hash: bytes
    sender: bytes
    data: bytes


class L1Retrieval:
    """Batch data of one L1 block: accepted inbox transactions' calldata or blobs."""

    def __init__(self, client: L1Client, blobs: Optional[BeaconBlobSource], inbox: bytes):
        self.client = client
        self.blob_source = blobs
        self.inbox = inbox

    async def batches(self, block: L1Block) -> list[BatchData]:
        candidates = [tx for tx in block.transactions if tx.get("to") and data(tx["to"]) == self.inbox]
        if not candidates:
            return []
        receipts = await self.client.receipts([data(tx["hash"]) for tx in candidates])
        found = []
        for tx, receipt in zip(candidates, receipts):
            tx_hash, sender = data(tx["hash"]), data(tx["from"])
            if receipt is None:
                raise L1Reorg(f"the receipt of inbox transaction 0x{tx_hash.hex()} is gone")
            accepted = qty(receipt.get("status")) == 1 and any(
                entry.get("topics") and data(entry["topics"][0]) == BATCH_SUBMITTED
                and data(entry["address"]) == self.inbox for entry in receipt.get("logs", []))
            if not accepted:
                log.warning("ignoring inbox transaction 0x%s from 0x%s in L1 block %d: the inbox refused it "
                            "(unauthorized sender or empty batch)", tx_hash.hex(), sender.hex(), block.number)
                continue
            hashes = [data(h) for h in tx.get("blobVersionedHashes") or []]
            if hashes:
                if self.blob_source is None:
                    log.error("inbox transaction 0x%s carries blobs but no blob source is configured", tx_hash.hex())
                    raise L1Unavailable("no blob source")
                try:
                    payload = decode_blobs(await self.blob_source.blobs(block, hashes))
                except MalformedBlobs as exc:
                    log.warning("ignoring blob batch 0x%s in L1 block %d: %s", tx_hash.hex(), block.number, exc)
                    continue
            else:
                payload = data(tx.get("input") or tx.get("data") or "0x")
            found.append(BatchData(tx_hash, sender, payload))
        return found


# --------------------------------------------------------------------------------------------
# Batch queue rules
# --------------------------------------------------------------------------------------------


def check_entry(config: RollupConfig, parent: L2Ref, entry: BlockBatch, inclusion: L1Block,
                origin: Optional[L1Block], next_origin: Optional[L1Block]) -> Optional[str]:
    """Why a batch entry for the block after ``parent`` is invalid, or None when it may be imported."""
    timestamp = config.timestamp_of(parent.number + 1)
    if entry.origin_number not in (parent.origin_number, parent.origin_number + 1):
        return f"L1 origin {entry.origin_number} is neither the parent's ({parent.origin_number}) nor the next"
    if origin is None or origin.number >= inclusion.number:
        return f"L1 origin {entry.origin_number} is not older than the L1 block {inclusion.number} carrying the batch"
    if inclusion.number > origin.number + config.seq_window_size:
        return (f"sequencing window expired: L1 origin {origin.number} + {config.seq_window_size} < "
                f"inclusion L1 block {inclusion.number}")
    if timestamp < origin.timestamp:
        return f"block time {timestamp} is before its L1 origin's time {origin.timestamp}"
    if timestamp > origin.timestamp + config.max_sequencer_drift:
        if entry.transactions:
            return f"block time {timestamp} is more than {config.max_sequencer_drift}s past its L1 origin"
        if next_origin is not None and next_origin.timestamp <= timestamp:
            return "an empty block past the drift limit must adopt the next L1 origin"
    return None


def attributes(config: RollupConfig, parent: L2Ref, origin: L1Block, deposits: list, transactions: tuple = (),
               claim: Optional[BlockBatch] = None, batcher: Optional[bytes] = None) -> PayloadAttributes:
    """The payload attributes of the block after ``parent`` with L1 origin ``origin``.

    ``deposits`` are the origin's user deposits; they go in only when the
    block starts the epoch. ``batcher`` (the L1-attributes deposit's batcher
    field) is the block's builder: the coinbase its batch entry names, else
    the sender of the batch it comes in (the sequencer building it: its own
    batcher); ``config.batcher`` for blocks derivation fills itself.
    """
    new_epoch = origin.number != parent.origin_number
    sequence = 0 if new_epoch else parent.origin.sequence_number + 1
    info = L1Info(origin.number, origin.timestamp, origin.base_fee, origin.hash, sequence,
                  bytes(12) + (batcher or config.batcher), origin.blob_base_fee)
    return PayloadAttributes(
        number=parent.number + 1, timestamp=config.timestamp_of(parent.number + 1), prev_randao=origin.mix_hash,
        beacon_root=origin.parent_beacon_block_root or bytes(32),
        deposits=(l1_info_deposit(info), *(deposits if new_epoch else ())), transactions=tuple(transactions),
        claim=claim, coinbase=claim.coinbase if claim is not None else None)


# --------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------


class DerivationPipeline:
    """Drives derivation of one node's L2 chain (see the module docstring)."""

    def __init__(self, config: RollupConfig, chain: RollupChain, client: L1Client,
                 blobs: Optional[BeaconBlobSource]):
        self.config = config
        self.chain = chain
        self.client = client
        self.traversal = L1Traversal(client, self._stored_cursor())
        self.retrieval = L1Retrieval(client, blobs, config.batch_inbox)
        self._deposit_cache: dict[bytes, list] = {}
        self.derived_blocks = 0
        self.derived_txs = 0
        self.resets = 0  # L1 reorgs handled (the batcher re-checks its posts after one)
        # where the transactions of replaced unsafe blocks go (the sequencer sets its pool; a follower drops them)
        self.offer_again: Optional[Callable[[list], None]] = None
        self.started = False

    # -- cursor ------------------------------------------------------------------------------
    def _stored_cursor(self) -> L1BlockId:
        raw = self.chain.meta_get(CURSOR_KEY)
        if raw is None or len(raw) != 40:
            return self.chain.derived_from(self.chain.safe_number) or self.config.genesis_l1
        return L1BlockId(int.from_bytes(raw[:8], "big"), raw[8:])

    def _store_cursor(self, cursor: L1BlockId) -> None:
        self.chain.meta_put(CURSOR_KEY, cursor.number.to_bytes(8, "big") + cursor.hash)

    # -- reading L1 ---------------------------------------------------------------------------
    async def deposits_of(self, origin: L1Block) -> list:
        cached = self._deposit_cache.get(origin.hash)
        if cached is not None:
            return cached
        logs = await self.client.logs(self.config.portal, origin.number, origin.number, [TRANSACTION_DEPOSITED])
        try:
            found = user_deposits(logs, self.config.portal, origin.hash)
        except ValueError as exc:
            raise L1Reorg(str(exc)) from None
        if len(self._deposit_cache) > 256:
            self._deposit_cache.clear()
        self._deposit_cache[origin.hash] = found
        return found

    async def _origin_block(self, parent: L2Ref) -> L1Block:
        """The parent's L1 origin, checked still canonical."""
        block = await self.traversal.header(parent.origin_number)
        if block.hash != parent.origin.hash:
            raise L1Reorg(f"L1 origin {parent.origin_number} of L2 block {parent.number} was reorged away")
        return block

    async def _next_origin(self, number: int) -> Optional[L1Block]:
        if self.traversal.head is None or number > self.traversal.head:
            return None
        return await self.traversal.header(number)

    # -- stepping -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Check the stored cursor against L1 (a reorg may have happened while the node was down)."""
        await self.traversal.refresh()
        cursor = self.traversal.cursor
        canonical = await self.client.block(cursor.number)
        if canonical is None or canonical.hash != cursor.hash:
            log.warning("L1 block %d the node stopped at is no longer canonical: resetting", cursor.number)
            await self.reset()
        self.started = True

    async def step(self) -> bool:
        """Derive from the next L1 block; False when there is none yet."""
        block = await self.traversal.next_block()
        if block is None:
            return False
        for batch in await self.retrieval.batches(block):
            if not await self._sender_authorized(batch, block):
                continue
            try:
                channel = decode_channel(batch.data)
            except MalformedChannel as exc:
                log.warning("ignoring malformed batch in L1 tx 0x%s (block %d, from 0x%s): %s",
                            batch.tx_hash.hex(), block.number, batch.sender.hex(), exc)
                continue
            await self._apply_channel(channel, block, batch.tx_hash, batch.sender)
        await self._fill_expired_windows(block)
        self.traversal.advance(block)
        self._store_cursor(self.traversal.cursor)
        self._update_finalized()
        self.traversal.forget_below(self.chain.safe_ref().origin_number - 1)
        return True

    async def _sender_authorized(self, batch: BatchData, block: L1Block) -> bool:
        """Derivation's own check of the batch's sender (see the module docstring)."""
        authority = self.config.batcher_authority
        if authority is None:
            return True
        try:
            raw = await self.client.eth_call(authority, call_data("isAuthorizedBatcher(address)", batch.sender),
                                             {"blockHash": hexd(block.hash)})
        except L1RpcError as exc:
            if "revert" not in exc.message.lower():
                raise  # the endpoint failed: retry this L1 block later rather than decide
            raw = b""  # the contract refused to answer
        try:
            (authorized,) = decode_result(["bool"], raw)
        except Exception:  # no answer, or not the contract the config names (no code, another ABI)
            authorized = False  # nobody is authorized
        if not authorized:
            log.warning("ignoring batch 0x%s in L1 block %d: its sender 0x%s is not an authorized batcher "
                        "(batcher authority 0x%s)", batch.tx_hash.hex(), block.number, batch.sender.hex(),
                        authority.hex())
        return authorized

    async def _apply_channel(self, channel: Channel, inclusion: L1Block, tx_hash: bytes, sender: bytes) -> None:
        chain = self.chain
        safe = chain.safe_ref()
        first = channel.first_number
        if first > safe.number + 1:
            log.warning("dropping batch 0x%s: it starts at L2 block %d, past the safe head %d + 1",
                        tx_hash.hex(), first, safe.number)
            return
        if first <= safe.number:
            if channel.last_number <= safe.number:
                return  # all old: already derived
            if not self._matches_safe_chain(channel, safe):
                log.warning("dropping batch 0x%s: its blocks %d..%d conflict with the safe chain",
                            tx_hash.hex(), first, safe.number)
                return
        elif channel.parent_hash != safe.hash:
            log.warning("dropping batch 0x%s: its parent hash is not the safe head %d", tx_hash.hex(), safe.number)
            return
        last_origin = await self._next_origin(channel.blocks[-1].origin_number)
        if last_origin is None or last_origin.hash[:ORIGIN_CHECK_BYTES] != channel.origin_check:
            log.warning("dropping batch 0x%s: it was built on L1 blocks that are not canonical", tx_hash.hex())
            return
        derived_from = L1BlockId(inclusion.number, inclusion.hash)
        for entry in channel.blocks[safe.number + 1 - first:]:
            parent = chain.safe_ref()
            await self._origin_block(parent)
            origin = await self._next_origin(entry.origin_number)
            next_origin = await self._next_origin(entry.origin_number + 1)
            reason = check_entry(self.config, parent, entry, inclusion, origin, next_origin)
            if reason is not None:
                log.warning("dropping batch 0x%s from L2 block %d on: %s", tx_hash.hex(), parent.number + 1, reason)
                return
            deposits = await self.deposits_of(origin)
            # the L1-info batcher is the block's builder: its coinbase when the entry names one (a member of a
            # set may post another member's blocks when that one is down), else the batch's sender
            attrs = attributes(self.config, parent, origin, deposits, entry.transactions, entry,
                               batcher=entry.coinbase or sender)
            try:
                self.apply(attrs, derived_from)
            except InvalidBlock as exc:
                log.warning("refusing invalid L2 block %d from batch 0x%s: %s", attrs.number, tx_hash.hex(), exc)
                return

    def _matches_safe_chain(self, channel: Channel, safe: L2Ref) -> bool:
        """Does the channel's entry for the safe head claim exactly the safe head's header?"""
        entry = channel.blocks[safe.number - channel.first_number]
        header = self.chain.block_by_number(safe.number).header
        if channel.first_number >= 1:
            parent = self.chain.block_by_number(channel.first_number - 1)
            if parent is None or parent.hash != channel.parent_hash:
                return False
        return _claims(entry, header, self.chain.config.coinbase)

    async def _fill_expired_windows(self, inclusion: L1Block) -> None:
        """Fill the slots whose L1 origin's sequencing window closed with no valid batch.

        Once a window has expired, derivation goes on filling until the safe
        head's origin is within half a window of L1 again, so that a
        sequencer that comes back has half a window to get its next batch
        in (OP derivation stops at the window's edge, which leaves a
        sequencer one L1 block to do so).
        """
        derived_from = L1BlockId(inclusion.number, inclusion.hash)
        window = self.config.seq_window_size
        expired = False
        for _ in range(MAX_FILLED_PER_L1_BLOCK):
            parent = self.chain.safe_ref()
            if parent.origin_number + (window // 2 if expired else window) >= inclusion.number:
                return
            expired = True
            current = await self._origin_block(parent)
            candidate = await self._next_origin(parent.origin_number + 1)
            timestamp = self.config.timestamp_of(parent.number + 1)
            origin = candidate if candidate is not None and candidate.timestamp <= timestamp else current
            attrs = attributes(self.config, parent, origin, await self.deposits_of(origin))
            log.info("sequencing window of L1 block %d expired at L1 block %d: deriving L2 block %d without a batch%s",
                     parent.origin_number, inclusion.number, attrs.number,
                     f" ({len(attrs.deposits) - 1} deposits)" if len(attrs.deposits) > 1 else "")
            self.apply(attrs, derived_from)
            await asyncio.sleep(0)

    def apply(self, attrs: PayloadAttributes, derived_from: L1BlockId) -> None:
        """Make ``attrs`` the next safe block: keep a matching unsafe block, else replace what is there.

        The transactions of the unsafe blocks it replaces go to ``offer_again``
        (the sequencer's pool: they were accepted, and L1 does not hold them).
        """
        chain = self.chain
        dropped: list = []
        try:
            with chain.lock:
                existing = chain.block_by_number(attrs.number)
                if existing is not None:
                    if (_block_matches(existing, attrs, chain.config.coinbase)
                            and _config_fields_match(existing.header, chain.config)):
                        chain.mark_safe(attrs.number, derived_from)
                        self._count(existing)
                        return
                    log.warning("unsafe L2 block %d differs from what L1 derives: rolling back to %d",
                                attrs.number, attrs.number - 1)
                    dropped = chain.rollback_to(attrs.number - 1)
                if attrs.claim is not None:
                    block = chain.assemble_block(attrs)
                    chain.import_block(block)
                else:
                    block = chain.build_block(attrs, from_pool=False)
                chain.mark_safe(attrs.number, derived_from)
                self._count(block)
        finally:
            if dropped and self.offer_again is not None:
                self.offer_again(dropped)

    def _count(self, block) -> None:
        self.derived_blocks += 1
        self.derived_txs += len(block.transactions)

    def _update_finalized(self) -> None:
        finalized = self.traversal.finalized
        chain = self.chain
        if finalized is None:
            return
        number = chain.finalized_number
        while number < chain.safe_number:
            source = chain.derived_from(number + 1)
            if source is None or source.number > finalized:
                break
            number += 1
        chain.mark_finalized(number)

    async def reset(self) -> None:
        """After an L1 reorg: the safe head falls back to the newest block derived from canonical L1 data.

        Blocks above it stay, as unsafe blocks: when derivation reaches them
        again they are kept if L1 still says the same (the batch was re-posted)
        and replaced if it does not.

        L1 always wins, even over its own word on finality: when the reorg
        took back an L1 block that L1 had called finalized (anvil calls
        finalized what is two blocks deep; on Ethereum it would take a third
        of the stake slashed), the finalized L2 label falls back with the safe
        head, with an error in the log. Stopping at the finalized block
        instead would leave derivation on an L1 block that no longer exists,
        resetting forever.
        """
        chain = self.chain
        number = chain.safe_number
        checked: dict[int, bytes] = {}
        while number > 0:
            source = chain.derived_from(number)
            if source is not None:
                canonical = checked.get(source.number)
                if canonical is None:
                    block = await self.client.block(source.number)
                    canonical = checked[source.number] = block.hash if block is not None else b""
                if canonical == source.hash:
                    break
            number -= 1
        cursor = chain.derived_from(number) or self.config.genesis_l1
        self.resets += 1
        if number < chain.finalized_number:
            log.error("L1 reorg below finality: L1 took back blocks it had called finalized; the finalized L2 "
                      "block falls back from %d to %d", chain.finalized_number, number)
            chain.demote_finalized(number)
        if number < chain.safe_number:
            log.warning("L1 reorg: L2 blocks %d..%d are no longer safe; re-deriving from L1 block %d",
                        number + 1, chain.safe_number, cursor.number + 1)
            chain.demote_safe(number)
        else:
            log.warning("L1 reorg: re-reading L1 from block %d", cursor.number + 1)
        self.traversal.reset(cursor)
        self._deposit_cache.clear()
        self._store_cursor(cursor)
        await self.traversal.refresh()


def _block_matches(block, attrs: PayloadAttributes, default_coinbase: bytes) -> bool:
    """Is ``block`` the block ``attrs`` describe (same transactions, time and fee recipient, and the claimed header)?"""
    if block.header.timestamp != attrs.timestamp or block.header.prev_randao != attrs.prev_randao:
        return False
    if block.header.coinbase != (attrs.coinbase or default_coinbase):
        return False
    expected = attrs.all_transactions
    if len(block.transactions) != len(expected):
        return False
    if any(a.hash != b.hash for a, b in zip(block.transactions, expected)):
        return False
    claim = attrs.claim
    if claim is None:
        return True
    return _claims(claim, block.header, default_coinbase)


def _config_fields_match(header, chain_config) -> bool:
    """Does an unsafe block carry the header fields the chain config fixes (as every derived block does)?

    A block from the unsafe feed that differs only there (its extra data,
    say) is not what L1 says: kept as safe, it would give this node other
    block hashes than a node that derived the chain from L1 alone.
    """
    return header.extra_data == chain_config.extra_data and header.gas_limit == chain_config.gas_limit


def _claims(entry: BlockBatch, header, default_coinbase: bytes) -> bool:
    """Does the batch entry claim exactly ``header``'s fee recipient and execution results?"""
    if header.coinbase != (entry.coinbase or default_coinbase):
        return False
    return (entry.state_root, entry.receipts_root, entry.gas_used, entry.logs_bloom, entry.requests_hash) == (
        header.state_root, header.receipts_root, header.gas_used, header.logs_bloom, header.requests_hash)
