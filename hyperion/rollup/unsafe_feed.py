"""A follower's low-latency view: the sequencer's unsafe blocks over its WebSocket feed.

With ``--follow-unsafe`` a follower subscribes to the sequencer's
``newHeads`` (WebSocket, same port as its JSON-RPC) and, for every new
head, fetches the blocks it lacks with ``debug_getRawBlock`` and runs each
through block import on top of its own head: executed and checked like any
block, but *unsafe* (not derived from L1). When a block does not extend the
follower's head (the sequencer replaced its unsafe blocks), the follower
drops its own unsafe blocks and fetches again from its safe head.

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
import json
import logging
from typing import Awaitable, Callable, Optional

import aiohttp

from hyperion.chain.blocks import Block, BlockDecodeError, decode_block
from hyperion.rollup.engine import InvalidBlock, RollupChain
from hyperion.rollup.l1client import L1Client, L1RpcError, L1Unavailable

log = logging.getLogger("hyperion.rollup.unsafe")

MAX_BLOCKS_PER_HEAD = 256

# (block, its signature) -> None when the block may be imported, else why not
Verifier = Callable[[Block, bytes], Awaitable[Optional[str]]]


def websocket_url(http_url: str) -> str:
    if http_url.startswith("https://"):
        return "wss://" + http_url[len("https://"):]
    if http_url.startswith("http://"):
        return "ws://" + http_url[len("http://"):]
    return http_url


class UnsafeFeed:
    def __init__(self, chain: RollupChain, sequencer_url: str, verify: Optional[Verifier] = None):
        self.chain = chain
        self.rpc = L1Client(sequencer_url)  # a JSON-RPC client, whatever the chain it talks to
        self.ws_url = websocket_url(sequencer_url)
        self.verify = verify
        self.imported = 0
        self.refused = 0  # blocks whose signature the verify hook refused
        self._last_refused: Optional[bytes] = None  # logged once, however often it is fetched again

    async def close(self) -> None:
        await self.rpc.close()
        close = getattr(self.verify, "close", None)  # a verify hook that holds connections of its own
        if close is not None:
            await close()

    async def run(self) -> None:
        """Follow the sequencer's heads until cancelled (the caller retries after an error)."""
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(self.ws_url, heartbeat=30) as ws:
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe",
                                              "params": ["newHeads"]}))
                await self.catch_up()
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    payload = json.loads(message.data)
                    head = (payload.get("params") or {}).get("result") or {}
                    if "number" in head:
                        await self.catch_up(int(head["number"], 16))
        raise L1Unavailable("the sequencer's WebSocket feed closed")

    async def catch_up(self, target: Optional[int] = None) -> None:
        chain = self.chain
        if target is None:
            target = int(await self.rpc.call("eth_blockNumber"), 16)
        for _ in range(MAX_BLOCKS_PER_HEAD):
            number = chain.head().number + 1
            if number > target:
                return
            signature = None
            if self.verify is None:
                raw = await self.rpc.call("debug_getRawBlock", hex(number))
            else:
                signed = await self.rpc.call("hyperion_getSignedBlock", hex(number))
                raw = signed.get("block") if isinstance(signed, dict) else None
                signature = signed.get("signature") if isinstance(signed, dict) else None
                if raw is not None and signature is None:
                    log.debug("the sequencer's block %d is not signed yet", number)
                    return
            if raw is None:
                return
            try:
                block = decode_block(bytes.fromhex(raw[2:]))
                if signature is not None:
                    signature = bytes.fromhex(signature[2:])
            except (BlockDecodeError, ValueError, TypeError) as exc:
                log.warning("the sequencer sent a malformed block %d: %s", number, exc)
                return
            if block.number != number:
                log.warning("the sequencer sent block %d when asked for block %d", block.number, number)
                return
            if self.verify is not None:
                reason = await self.verify(block, signature)
                if reason is not None:
                    self.refused += 1
                    if block.hash != self._last_refused:
                        self._last_refused = block.hash
                        log.warning("refusing the sequencer's unsafe block %d (0x%s): %s", number,
                                    block.hash.hex(), reason)
                    return
            if block.header.parent_hash != chain.head().hash and self.verify is not None:
                await self._check_parent(number - 1)
            with chain.lock:
                if block.header.parent_hash != chain.head().hash:
                    if chain.head().number > chain.safe_number:
                        log.info("the sequencer's unsafe block %d does not extend ours: dropping our unsafe "
                                 "blocks above %d", number, chain.safe_number)
                        chain.rollback_to(chain.safe_number)
                        continue
                    return  # it does not extend our safe chain: derivation will settle it
                try:
                    chain.import_block(block)
                except InvalidBlock as exc:
                    log.warning("refusing the sequencer's unsafe block %d: %s", number, exc)
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


async def follow(feed: UnsafeFeed, stopped) -> None:
    """Run the feed, reconnecting after failures, until ``stopped()``."""
    while not stopped():
        try:
            await feed.run()
        except asyncio.CancelledError:
            raise
        except (aiohttp.ClientError, L1Unavailable, L1RpcError, OSError, asyncio.TimeoutError) as exc:
            log.debug("unsafe feed: %s; reconnecting", exc)
        except Exception:
            log.exception("unsafe feed failed; reconnecting")
        await asyncio.sleep(1.0)
