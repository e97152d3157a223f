"""The equivocation watcher: two blocks signed by one sequencer for one L2 height are proven on L1.

It sits behind the unsafe feed's signature check (``SignatureVerifier``'s
``observe``): every signed block a node accepts is remembered by (height,
signer). When the same signer's signature arrives for a different block at
a height already seen, the watcher sends both to
``SequencerStaking.proveEquivocation`` with the node's reporter key: the
contract checks the two signatures itself, slashes the signer's stake
(``equivocationSlashBps``), ejects it from the set, and credits the
reporter its share. A proof the contract refuses (already proven by
someone else, the signer has no stake left) is logged, not retried.

Only what this node saw counts: it remembers the last ``history`` heights
in memory, so a conflict spread over a restart, or shown only to other
nodes, is not caught here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from hyperion.chain.blocks import Block
from hyperion.rollup.l1client import L1Client, L1RpcError, L1Unavailable
from hyperion.rollup.l1tx import L1Signer, call_data

log = logging.getLogger("hyperion.sequencer.equivocation")

PROVE_EQUIVOCATION = "proveEquivocation(uint256,bytes32,bytes,bytes32,bytes)"
DEFAULT_HISTORY = 4096


class EquivocationWatcher:
    def __init__(self, l1_rpc_url: str, staking: bytes, reporter_key: bytes, l1_chain_id: int,
                 history: int = DEFAULT_HISTORY):
        self.l1_rpc_url = l1_rpc_url
        self.staking = staking
        self.reporter_key = reporter_key
        self.l1_chain_id = l1_chain_id
        self.history = history
        self.seen: dict[tuple[int, bytes], tuple[bytes, bytes]] = {}  # (height, signer) -> (block hash, signature)
        self.reported: set[tuple[int, bytes]] = set()
        self.proofs: list[bytes] = []  # L1 transactions of accepted proofs
        self._tasks: set[asyncio.Task] = set()
        self._client: Optional[L1Client] = None
        self._signer: Optional[L1Signer] = None

    async def observe(self, block: Block, signature: bytes, signer: bytes) -> None:
        """A block whose signature by ``signer`` was checked (``SignatureVerifier``'s observe hook)."""
        key = (block.number, signer)
        first = self.seen.get(key)
        if first is None:
            self.seen[key] = (block.hash, bytes(signature))
            if len(self.seen) > self.history:
                newest = max(number for number, _ in self.seen)
                self.seen = {k: v for k, v in self.seen.items() if k[0] > newest - self.history // 2}
            return
        if first[0] == block.hash or key in self.reported:
            return
        self.reported.add(key)
        log.warning("equivocation: sequencer 0x%s signed two blocks at L2 height %d (0x%s and 0x%s): proving it on L1",
                    signer.hex(), block.number, first[0].hex(), block.hash.hex())
        task = asyncio.get_running_loop().create_task(
            self.prove(block.number, first[0], first[1], block.hash, bytes(signature)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def prove(self, number: int, hash_a: bytes, signature_a: bytes, hash_b: bytes,
                    signature_b: bytes) -> Optional[dict]:
        """Send the evidence to SequencerStaking; the receipt when it was accepted, else None (logged)."""
        if self._signer is None:
            self._client = L1Client(self.l1_rpc_url)
            self._signer = L1Signer(self._client, self.reporter_key, self.l1_chain_id)
        data = call_data(PROVE_EQUIVOCATION, number, hash_a, signature_a, hash_b, signature_b)
        try:
            sent = await self._signer.send(self.staking, data)
            receipt = await self._signer.wait(sent.tx_hash)
        except (L1RpcError, L1Unavailable, OSError, asyncio.TimeoutError) as exc:
            log.warning("the equivocation proof for L2 height %d was not accepted: %s", number, exc)
            return None
        if int(receipt.get("status", "0x0"), 16) != 1:
            log.warning("the equivocation proof for L2 height %d reverted (L1 tx 0x%s)", number, sent.tx_hash.hex())
            return None
        self.proofs.append(sent.tx_hash)
        log.warning("equivocation at L2 height %d proven on L1 (tx 0x%s): the signer's stake is slashed",
                    number, sent.tx_hash.hex())
        return receipt

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.close()
