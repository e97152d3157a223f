"""A follower's low-latency view: the sequencer's unsafe blocks over its WebSocket feed.

With ``--follow-unsafe`` a follower subscribes to the sequencer's
``newHeads`` (WebSocket, same port as its JSON-RPC) and, for every new
head, fetches the blocks it lacks with ``debug_getRawBlock`` and runs each
through block import on top of its own head: executed and checked like any
block, but *unsafe* (not derived from L1). When a block does not extend the
node's head (the sequencer replaced its unsafe blocks), the node finds the
last unsafe block it shares with the peer and drops its own blocks above it
when the peer's chain is longer; when it is not, the optional
``keep_ours(ours, theirs)`` fork choice (between the first two blocks that
differ) may keep them (without one, the peer's are taken).

A node of a sequencer set runs one feed per peer (``--peer URL``): every
sequencer imports the others' blocks, so whoever builds next builds on the
latest one; ``keep_ours`` is then the set's fork choice. ``ahead_of(n)``
says whether a peer has announced a head above ``n`` that the feed has not
imported yet (or the feed has not yet reached its peer once): a sequencer
does not build on a head its peers have left behind (after a restart).

In a staked sequencer set the node is given a ``verify`` hook
(``hyperion.sequencer.signing``): blocks then come with the sequencer's
signature (``hyperion_getSignedBlock``), and a block whose signature the
hook refuses (a key that is not the responsible sequencer's, a forgery) is
not imported, with a log line; an accepted block's signature is stored with
it. A block not yet signed is fetched again at the next head.

Derivation is untouched by this: when it reaches an unsafe block it keeps
it if L1 says the same, and replaces it otherwise. L1 always wins; the feed
only makes ``latest`` on the follower track the sequencer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Optional

from web3 import AsyncWeb3, WebSocketProvider
from web3.exceptions import Web3Exception
from websockets.exceptions import WebSocketException

from hyperion.chain.blocks import Block, BlockDecodeError, decode_block
from hyperion.chain.errors import TxPoolError
from hyperion.rollup.engine import InvalidBlock, RollupChain
from hyperion.rollup.l1client import L1Client, L1RpcError, L1Unavailable

log = logging.getLogger("hyperion.rollup.unsafe")

MAX_BLOCKS_PER_HEAD = 256
FIRST_CONTACT_SECONDS = 10.0
UNSIGNED_RETRIES = 5  # a block fetched between its building and its signing is asked for again shortly
UNSIGNED_RETRY_SECONDS = 0.1  # how long a sequencer waits for a peer's first answer before building without it

# (block, its signature) -> None when the block may be imported, else why not
Verifier = Callable[[Block, bytes], Awaitable[Optional[str]]]


def websocket_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://"):]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://"):]
    return http_url


class UnsafeFeed:
    def __init__(self, chain: RollupChain, sequencer_url: str,
                 keep_ours: Optional[Callable[[object, object], Awaitable[bool]]] = None,
                 verify: Optional[Verifier] = None):
        self.chain = chain
        self.url = sequencer_url
        self.keep_ours = keep_ours  # fork choice between our unsafe block and the peer's at one height
        self.rpc = L1Client(sequencer_url)  # a JSON-RPC client, whatever the chain it talks to
        self.ws_url = websocket_url(sequencer_url)
        self.verify = verify
        self.imported = 0
        self.refused = 0  # blocks whose signature the verify hook refused
        self._last_refused: Optional[bytes] = None  # logged once, however often it is fetched again
        self.peer_head: Optional[int] = None  # the peer's last announced head (None: unknown, or not to be trusted)
        self.contacted = False  # the feed has reached its peer, or failed to, at least once
        self._created = time.monotonic()

    async def close(self) -> None:
        await self.rpc.close()
        close = getattr(self.verify, "close", None)  # a verify hook that holds connections of its own
        if close is not None:
            await close()

    def ahead_of(self, number: int) -> bool:
        if not self.contacted:
            return time.monotonic() - self._created < FIRST_CONTACT_SECONDS
        return self.peer_head is not None and self.peer_head > number

    async def run(self) -> None:
        """Follow the sequencer's heads (web3.py's WebSocketProvider subscription) until cancelled; the
        caller retries after an error."""
        try:
            async with AsyncWeb3(WebSocketProvider(self.ws_url, max_connection_retries=1)) as w3:
                await w3.eth.subscribe("newHeads")
                await self.catch_up()
                async for message in w3.socket.process_subscriptions():
                    number = (message.get("result") or {}).get("number")
                    if isinstance(number, int):
                        await self.catch_up(number)
        except (Web3Exception, WebSocketException) as exc:
            raise L1Unavailable(f"the sequencer's WebSocket feed failed: {exc}") from None
        raise L1Unavailable("the sequencer's WebSocket feed closed")

    async def catch_up(self, target: Optional[int] = None) -> None:
        chain = self.chain
        if target is None:
            target = int(await self.rpc.call("eth_blockNumber"), 16)
        self.peer_head = target
        self.contacted = True
        for _ in range(MAX_BLOCKS_PER_HEAD):
            number = chain.head().number + 1
            if number > target:
                return
            signature = None
            if self.verify is None:
                raw = await self.rpc.call("debug_getRawBlock", hex(number))
            else:
                for _attempt in range(UNSIGNED_RETRIES):  # the builder signs right after building
                    signed = await self.rpc.call("hyperion_getSignedBlock", hex(number))
                    raw = signed.get("block") if isinstance(signed, dict) else None
                    signature = signed.get("signature") if isinstance(signed, dict) else None
                    if raw is None or signature is not None:
                        break
                    await asyncio.sleep(UNSIGNED_RETRY_SECONDS)
                else:
                    log.debug("the sequencer's block %d is not signed", number)
                    self.peer_head = None  # a block we cannot take does not make the peer ahead of us
                    return
            if raw is None:
                return
            try:
                block = decode_block(bytes.fromhex(raw[2:]))
                if signature is not None:
                    signature = bytes.fromhex(signature[2:])
            except (BlockDecodeError, ValueError, TypeError) as exc:
                log.warning("the sequencer sent a malformed block %d: %s", number, exc)
                self.peer_head = None
                return
            if block.number != number:
                log.warning("the sequencer sent block %d when asked for block %d", block.number, number)
                return
            if self.verify is not None:
                reason = await self.verify(block, signature)
                if reason is not None:
                    self.refused += 1
                    self.peer_head = None  # a peer whose blocks are refused is not a chain to wait for
                    if block.hash != self._last_refused:
                        self._last_refused = block.hash
                        log.warning("refusing the sequencer's unsafe block %d (0x%s): %s", number,
                                    block.hash.hex(), reason)
                    return
            if block.header.parent_hash != chain.head().hash:
                if self.verify is not None:
                    await self._check_parent(number - 1)
                if not await self._switch_fork(number - 1, target):
                    self.peer_head = None  # kept ours, or the peer is on another safe chain: not ahead of us
                    return
                continue
            with chain.lock:
                if block.header.parent_hash != chain.head().hash:
                    continue
                try:
                    chain.import_block(block)
                except InvalidBlock as exc:
                    log.warning("refusing the sequencer's unsafe block %d: %s", number, exc)
                    self.peer_head = None
                    return
                if signature is not None:
                    chain.store_signature(block.hash, signature)
            self.imported += 1
            await asyncio.sleep(0)

    async def _check_parent(self, number: int) -> None:
        """The sequencer's chain left ours below ``number + 1``: show its signed block ``number`` to the
        verify hook too (ours there may be safe already, so it would not be fetched again), so that a
        second block signed at a height we hold one for is seen."""
        signed = await self.rpc.call("hyperion_getSignedBlock", hex(number))
        if not isinstance(signed, dict) or not signed.get("block") or not signed.get("signature"):
            return
        try:
            block = decode_block(bytes.fromhex(signed["block"][2:]))
            signature = bytes.fromhex(signed["signature"][2:])
        except (BlockDecodeError, ValueError, TypeError):
            return
        if block.number == number and (number > self.chain.head().number
                                       or block.hash != self.chain.block_by_number(number).hash):
            await self.verify(block, signature)

    async def _switch_fork(self, height: int, their_head: int) -> bool:
        """The peer's block ``height + 1`` does not extend our head: roll back to the last block we share
        with the peer, unless the fork choice keeps ours. True when the caller should fetch again."""
        chain = self.chain
        shared = min(height, chain.head().number)
        for _ in range(MAX_BLOCKS_PER_HEAD):
            if shared < chain.safe_number:
                return False  # the peer disagrees with our safe chain: derivation will settle it
            theirs = await self.rpc.call("eth_getBlockByNumber", hex(shared), False)
            ours = chain.block_by_number(shared)
            if theirs is None or ours is None:
                return False
            if bytes.fromhex(theirs["hash"][2:]) == ours.hash:
                break
            shared -= 1
        else:
            return False
        if shared >= chain.head().number:
            return True  # our head moved meanwhile: it is the shared block now
        if self.keep_ours is not None and their_head <= chain.head().number:
            raw = await self.rpc.call("debug_getRawBlock", hex(shared + 1))
            try:
                their_block = decode_block(bytes.fromhex(raw[2:])) if raw else None
            except (BlockDecodeError, ValueError):
                return False
            ours = chain.block_by_number(shared + 1)
            if their_block is None or ours is None or await self.keep_ours(ours, their_block):
                return False
        with chain.lock:
            if shared < chain.safe_number or chain.block_by_number(shared) is None:
                return False
            log.info("the unsafe block %d of %s does not extend ours: dropping our unsafe blocks above %d",
                     height + 1, self.url, shared)
            dropped = chain.rollback_to(shared)
        for tx in dropped:  # a sequencer's own transactions go back to its pool (the peer's block may hold them)
            try:
                chain.submit_transaction(tx)
            except TxPoolError:
                pass
        return True


async def follow(feed: UnsafeFeed, stopped) -> None:
    """Run the feed, reconnecting after failures, until ``stopped()``."""
    while not stopped():
        try:
            await feed.run()
        except asyncio.CancelledError:
            raise
        except (L1Unavailable, L1RpcError, OSError, asyncio.TimeoutError) as exc:
            log.debug("unsafe feed: %s; reconnecting", exc)
        except Exception:
            log.exception("unsafe feed failed; reconnecting")
        feed.peer_head, feed.contacted = None, True
        await asyncio.sleep(1.0)
