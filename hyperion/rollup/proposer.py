"""The proposer: posts an output root to the OutputOracle every ``submissionInterval`` L2 blocks,
and defends its outputs in disputes.

It proposes the oracle's ``nextBlockNumber()`` once that block is *safe*
(derived from L1: the batch that carries it is on L1), with the oracle's
``proposerBond``. In a dispute over one of its outputs it answers each
bisection step with its own output root at the midpoint, automatically.
It claims back returned bonds (``withdrawCredit``).

Test hook: ``HYPERION_TEST_WRONG_OUTPUT_FROM=N`` makes every output root it
computes for L2 blocks >= N wrong, until it loses a dispute (then it is
honest again and re-proposes the deleted outputs correctly).
"""

from __future__ import annotations

import logging
from typing import Optional

from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1tx import L1Signer, SentTransaction, call_data
from hyperion.rollup.outputs import CHALLENGER_WON, PROPOSER_TURN, OracleView, output_at, wrong_output_hook

log = logging.getLogger("hyperion.rollup.proposer")


class Proposer:
    def __init__(self, chain: RollupChain, oracle: OracleView, signer: L1Signer, traversal):
        self.chain = chain
        self.oracle = oracle
        self.signer = signer
        self.traversal = traversal
        self.wrong_from = wrong_output_hook()
        self._pending: Optional[SentTransaction] = None
        self._seen_disputes = 0
        self._lost: set[int] = set()
        self.proposed = 0

    def root(self, number: int) -> bytes:
        return output_at(self.chain, number, self.wrong_from)

    async def _settled(self) -> bool:
        """True when no proposal of ours is still waiting to be mined."""
        if self._pending is not None:
            receipt = await self.signer.client.call("eth_getTransactionReceipt", "0x" + self._pending.tx_hash.hex())
            if receipt is None:
                return False
            if int(receipt["status"], 16) != 1:
                log.warning("output proposal 0x%s reverted", self._pending.tx_hash.hex())
            self._pending = None
        client = self.signer.client
        return await client.nonce(self.signer.address, "pending") == await client.nonce(self.signer.address, "latest")

    async def settle(self) -> None:
        """Settle outputs whose challenge window passed (returns the bonds; withdrawals need settled outputs)."""
        settled = await self.oracle.uint("settledCount")
        count = await self.oracle.next_output_index()
        if settled >= count:
            return
        output = await self.oracle.output(settled)
        window = await self.oracle.uint("finalizationPeriodSeconds")
        latest = await self.signer.client.block("latest")
        if output.timestamp + window <= latest.timestamp:
            sent = await self.signer.send(self.oracle.address, call_data("settle(uint256)", count - 1))
            await self.signer.wait(sent.tx_hash)
            log.info("settled outputs up to index %d", count - 1)

    async def tick(self) -> None:
        await self.defend()
        await self.settle()
        if not await self._settled():
            return
        number = await self.oracle.next_block_number()
        if self.chain.safe_number < number:
            return
        root = self.root(number)
        bond = await self.oracle.uint("proposerBond")
        cursor = self.traversal.cursor
        data = call_data("proposeL2Output(bytes32,uint256,bytes32,uint256)", root, number, cursor.hash, cursor.number)
        self._pending = await self.signer.send(self.oracle.address, data, value=bond)
        self.proposed += 1
        log.info("proposed output root 0x%s for L2 block %d%s (L1 tx 0x%s)", root.hex(), number,
                 " [test hook: wrong]" if self.wrong_from is not None and number >= self.wrong_from else "",
                 self._pending.tx_hash.hex())

    async def defend(self) -> None:
        count = await self.oracle.uint("disputeCount")
        me = self.signer.address
        for dispute_id in range(1, count + 1):
            if dispute_id in self._lost:
                continue
            dispute = await self.oracle.dispute(dispute_id)
            if dispute.status == CHALLENGER_WON and dispute.proposer in (me, bytes(20)):
                self._lost.add(dispute_id)
                if self.wrong_from is not None:
                    log.warning("lost dispute %d: test hook %s is off from now on", dispute_id, "wrong outputs")
                    self.wrong_from = None
                continue
            if dispute.status != PROPOSER_TURN or dispute.proposer != me:
                continue
            mid = dispute.midpoint
            if self.chain.head().number < mid:
                continue
            root = self.root(mid)
            sent = await self.signer.send(self.oracle.address,
                                          call_data("proposeMidpoint(uint256,bytes32)", dispute_id, root))
            await self.signer.wait(sent.tx_hash)
            log.info("dispute %d: claimed output root 0x%s at L2 block %d (range %d..%d)", dispute_id, root.hex(),
                     mid, dispute.lo, dispute.hi)
        if await self.oracle.uint("credit", me) > 0:
            await self.signer.wait((await self.signer.send(self.oracle.address, call_data("withdrawCredit()"))).tx_hash)
