"""A rollup node: the L2 chain plus the roles that drive it from L1, on one driver thread.

Roles:

- **sequencer**: builds blocks, posts them with the batcher (key
  ``batcher_key``), posts output roots with the proposer (``proposer_key``),
  and derives its own safe chain from L1 like any follower;
- **follower**: derives the chain from L1 alone, serves reads, forwards
  ``eth_sendRawTransaction`` to ``sequencer_url``; with ``follow_unsafe`` it
  also imports the sequencer's unsafe blocks (L1 still wins); with
  ``challenger_key`` it challenges wrong output roots, with ``resolver_key``
  it votes as a resolver.

The driver thread runs an asyncio loop with one task per role; the JSON-RPC
server runs in the caller's thread over the same ``RollupChain`` (whose
lock serializes them). A role that fails (L1 unreachable, a bug) logs and
retries after a pause; the node keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Optional

from hyperion.chain.node import open_state_database
from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.rollup.batcher import Batcher
from hyperion.rollup.challenger import Challenger
from hyperion.rollup.config import RollupConfig
from hyperion.rollup.derivation import DerivationPipeline, L1Reorg
from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1client import BeaconBlobSource, L1Client, L1RpcError, L1Unavailable
from hyperion.rollup.l1tx import L1Signer
from hyperion.rollup.outputs import OracleView
from hyperion.rollup.peers import TransactionSharing
from hyperion.rollup.proposer import Proposer
from hyperion.rollup.sequencer import Leadership, Sequencer
from hyperion.rollup.unsafe_feed import UnsafeFeed, follow
from hyperion.vm.precompiles.point_evaluation import trusted_setup

log = logging.getLogger("hyperion.rollup.node")

ROLES = ("sequencer", "follower")
RETRY_SECONDS = 1.0


@dataclass
class RollupOptions:
    role: str
    l1_rpc_url: str
    l1_beacon_url: Optional[str] = None
    blob_block_id: str = "number"
    sequencer_url: Optional[str] = None
    batcher_key: Optional[bytes] = None
    proposer_key: Optional[bytes] = None
    challenger_key: Optional[bytes] = None
    resolver_key: Optional[bytes] = None
    data_availability: str = "auto"
    max_batch_delay: float = 4.0
    follow_unsafe: bool = False
    poll_interval: float = 0.5
    leadership: Optional[Leadership] = None  # who may build now (None: this node always may)
    coinbase: Optional[bytes] = None  # fee recipient of the blocks this node builds (a staked set: its address)
    peers: tuple = ()  # other sequencers' RPC URLs: their unsafe blocks are imported over their WebSocket feeds
    fork_choice: Optional[Callable[[object, object], Awaitable[bool]]] = None  # keep_ours(ours, theirs) for feeds
    # a staked sequencer set (composed in hyperion.cli from hyperion.sequencer.signing):
    block_signer: Optional[Callable] = None    # sequencer: block -> its signature, stored and served with it
    block_verifier: Optional[Callable] = None  # follower: checks each unsafe block's signature before import
    # the batcher and proposer act only while this says yes (replicas of one HA sequencer: only the leader posts)
    may_post: Optional[Callable[[], bool]] = None
    # coroutine functions run on the driver loop beside the roles until the node stops (an HA group's lease
    # keep-alive and replication); one that fails is logged and started again
    companions: tuple[Callable[[], Awaitable[None]], ...] = ()


class RollupNode:
    """Owns the database, the ``RollupChain`` and the driver thread (``start``/``close``)."""

    def __init__(self, config: RollupConfig, options: RollupOptions, data_dir: Optional[str | Path] = None):
        if options.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.config = config
        self.options = options
        self.db = open_state_database(data_dir)
        try:
            forward = options.sequencer_url if options.role == "follower" else None
            self.chain = RollupChain(config, self.db, forward_url=forward)
        except BaseException:
            self.db.close()
            raise
        self.chain.rollup_status = self.status
        self.sharing: Optional[TransactionSharing] = None
        if options.role == "sequencer" and options.peers:  # a set: whoever builds next gets our transactions
            self.sharing = TransactionSharing(options.peers)
            self.chain.share_transaction = self.sharing.offer
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._ready = threading.Event()
        self._tasks: Optional[asyncio.Future] = None
        self.pipeline: Optional[DerivationPipeline] = None
        self.sequencer: Optional[Sequencer] = None
        self.batcher: Optional[Batcher] = None
        self.proposer: Optional[Proposer] = None
        self.challenger: Optional[Challenger] = None
        self.feeds: list[UnsafeFeed] = []

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, name="hyperion-rollup-driver", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the roles (cancelling whatever they wait for) and close the database."""
        self._stop.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._cancel)
            except RuntimeError:  # the loop already ended
                pass
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.sharing is not None:
            self.sharing.close()
        self.chain.close()

    def _cancel(self) -> None:
        if self._tasks is not None:
            self._tasks.cancel()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the rollup driver stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        options = self.options
        client = L1Client(options.l1_rpc_url)
        blobs = BeaconBlobSource(options.l1_beacon_url or options.l1_rpc_url, block_id=options.blob_block_id)
        try:
            # the KZG setup takes seconds to load: do it now, not in the middle of the first blob batch
            await asyncio.to_thread(trusted_setup)
            self.pipeline = pipeline = DerivationPipeline(self.config, self.chain, client, blobs)
            await self._until_ok(pipeline.start, "connecting to L1")
            if self._stop.is_set():
                return
            oracle = OracleView(client, self.config.output_oracle)
            l1_chain_id = self.config.l1_chain_id
            tasks: list[tuple[str, Callable[[], Awaitable], float]] = []
            if options.role == "sequencer":
                self.sequencer = Sequencer(self.config, self.chain, pipeline, leadership=options.leadership,
                                           coinbase=options.coinbase, signer=options.block_signer,
                                           batcher=private_key_to_address(options.batcher_key)
                                           if options.batcher_key else None)
                tasks.append(("sequencer", self._sequence, 0.0))
                if options.batcher_key:
                    self.batcher = Batcher(self.config, self.chain, pipeline, L1Signer(client, options.batcher_key,
                                                                                        l1_chain_id),
                                           mode=options.data_availability, max_delay=options.max_batch_delay,
                                           own=options.coinbase)
                    tasks.append(("batcher", self._gated(self.batcher.tick), options.poll_interval))
                if options.proposer_key:
                    self.proposer = Proposer(self.chain, oracle, L1Signer(client, options.proposer_key, l1_chain_id),
                                             pipeline.traversal)
                    tasks.append(("proposer", self._gated(self.proposer.tick), options.poll_interval * 2))
            else:
                tasks.append(("derivation", self._derive, options.poll_interval))
                if options.follow_unsafe and options.sequencer_url:
                    self.feeds.append(UnsafeFeed(self.chain, options.sequencer_url, verify=options.block_verifier))
            self.feeds += [UnsafeFeed(self.chain, url, keep_ours=options.fork_choice, verify=options.block_verifier)
                           for url in options.peers]
            if options.challenger_key or options.resolver_key:
                self.challenger = Challenger(
                    self.chain, oracle,
                    L1Signer(client, options.challenger_key, l1_chain_id) if options.challenger_key else None,
                    L1Signer(client, options.resolver_key, l1_chain_id) if options.resolver_key else None)
                tasks.append(("challenger", self.challenger.tick, options.poll_interval * 2))
            self._ready.set()
            coroutines = [self._loop_task(name, step, pause) for name, step, pause in tasks]
            coroutines += [follow(feed, self._stop.is_set) for feed in self.feeds]
            coroutines.extend(self._keep_running(companion) for companion in options.companions)
            self._tasks = asyncio.gather(*coroutines)
            try:
                await self._tasks
            except asyncio.CancelledError:
                pass
        finally:
            await client.close()
            await blobs.close()
            for feed in self.feeds:
                await feed.close()

    async def _keep_running(self, companion: Callable[[], Awaitable[None]]) -> None:
        while not self._stop.is_set():
            try:
                await companion()
            except Exception:
                log.exception("%s failed; starting it again", getattr(companion, "__qualname__", companion))
            await asyncio.sleep(RETRY_SECONDS)

    def _gated(self, step: Callable[[], Awaitable]) -> Callable[[], Awaitable]:
        may_post = self.options.may_post
        if may_post is None:
            return step

        async def gated():
            if may_post():
                await step()

        return gated

    async def _until_ok(self, step: Callable[[], Awaitable], what: str) -> None:
        while not self._stop.is_set():
            try:
                await step()
                return
            except (L1Unavailable, L1RpcError, OSError) as exc:
                log.warning("%s failed (%s); retrying", what, exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _loop_task(self, name: str, step: Callable[[], Awaitable], pause: float) -> None:
        while not self._stop.is_set():
            try:
                try:
                    await step()
                except L1Reorg as exc:
                    log.warning("%s: %s", name, exc)
                    # a reset that fails (L1 unreachable) is retried: the next step meets the same reorg
                    await self.pipeline.reset()
                    # a reorg that no reset can mend (the rollup's own L1 genesis block gone) repeats at every
                    # step: at most one a poll, not a busy loop filling the log
                    await asyncio.sleep(max(pause, self.options.poll_interval))
            except (L1Unavailable, L1RpcError) as exc:
                log.warning("%s: L1 request failed: %s", name, exc)
                await asyncio.sleep(RETRY_SECONDS)
            except Exception:
                log.exception("%s failed; retrying", name)
                await asyncio.sleep(RETRY_SECONDS)
            await asyncio.sleep(pause)

    async def _derive(self) -> None:
        """One round of derivation: every L1 block available now (pausing every few for other tasks)."""
        pipeline = self.pipeline
        await pipeline.traversal.refresh()
        for _ in range(64):
            if self._stop.is_set() or not await pipeline.step():
                return
            await asyncio.sleep(0)

    async def _sequence(self) -> None:
        """Derive what L1 holds, then build every block whose time has come; sleep until the next one.

        With peers (a sequencer set), nothing is built while a peer's feed knows a longer chain: this node
        imports it first (after a restart its own head is stale)."""
        await self._derive()
        if any(feed.ahead_of(self.chain.head().number) for feed in self.feeds):
            await asyncio.sleep(self.options.poll_interval)
            return
        for _ in range(64):
            if self._stop.is_set() or await self.sequencer.build_next() is None:
                break
            await asyncio.sleep(0)
        wait = self.sequencer.next_block_time() - time.time() if self.sequencer.leading else self.options.poll_interval
        await asyncio.sleep(min(max(wait, 0.0), self.options.poll_interval))

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    # -- status (optimism_syncStatus) ---------------------------------------------------------------
    def status(self) -> dict:
        chain = self.chain
        pipeline = self.pipeline
        status = {"role": self.options.role, "unsafe": chain.head().number, "safe": chain.safe_number,
                  "finalized": chain.finalized_number}
        if pipeline is not None:
            traversal = pipeline.traversal
            status.update(current_l1=traversal.cursor.number, current_l1_hash=traversal.cursor.hash,
                          head_l1=traversal.head, finalized_l1=traversal.finalized,
                          derived_blocks=pipeline.derived_blocks, derived_txs=pipeline.derived_txs)
        if self.batcher is not None:
            status["batcher"] = dict(self.batcher.stats, in_flight=len(self.batcher.posts))
        if self.sequencer is not None:
            status["sequencer"] = {"blocks": self.sequencer.built_blocks, "txs": self.sequencer.built_txs,
                                   "omitted_deposits": ["0x" + h.hex() for h in self.sequencer.omitted]}
            describe = getattr(self.sequencer.leadership, "status", None)
            if describe is not None:  # e.g. the staked schedule as this node computed it
                status["leadership"] = describe()
        if self.feeds:
            status["unsafe_imported"] = sum(feed.imported for feed in self.feeds)
            status["unsafe_refused"] = sum(feed.refused for feed in self.feeds)
        if self.challenger is not None:
            status["challenges"] = [{"output_index": i, "dispute": d} for i, d in self.challenger.challenges]
        return status
