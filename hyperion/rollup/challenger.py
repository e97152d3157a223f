"""The challenger (``--challenge``) and the resolver vote (``--resolver-key``): automatic dispute play.

The challenger compares every output root posted to the OutputOracle with
its own, computed from its *safe* chain (derived from L1 alone), and only
once it has derived that block: it never acts on unsafe data, so it never
challenges a correct root. A different root is challenged at once, with
the oracle's ``challengerBond`` and its own root. It then plays the
bisection to the end: on its turn it posts its own root at the midpoint
(equal means "agreed up to here"), it claims the proposer's timeout when
the proposer lets a deadline pass, it voids a dispute whose output another
dispute deleted, and it withdraws what it won.

A node given a resolver key (a member of the oracle's ThresholdResolver)
votes on every dispute that has reached its single block: the proposer is
right exactly when its root for that block equals the node's own.
"""

from __future__ import annotations

import logging
from typing import Optional

from hyperion.rollup.engine import RollupChain
from hyperion.rollup.l1client import L1RpcError
from hyperion.rollup.l1tx import L1Signer, call_data
from hyperion.rollup.outputs import (
    AWAITING_RESOLUTION,
    CHALLENGER_TURN,
    OPEN_STATUSES,
    PROPOSER_TURN,
    OracleView,
    output_at,
)

log = logging.getLogger("hyperion.rollup.challenger")


class Challenger:
    def __init__(self, chain: RollupChain, oracle: OracleView, signer: Optional[L1Signer],
                 resolver_signer: Optional[L1Signer] = None):
        self.chain = chain
        self.oracle = oracle
        self.signer = signer
        self.resolver_signer = resolver_signer
        self._checked = 0           # outputs below this index were compared
        self._closed: set[int] = set()
        self._voted: set[int] = set()
        self.challenges: list[tuple[int, int]] = []  # (output index, dispute id)

    async def _l1_time(self) -> int:
        block = await self.oracle.client.block("latest")
        return block.timestamp

    async def _send(self, signer: L1Signer, signature: str, *args, value: int = 0) -> dict:
        sent = await signer.send(self.oracle.address, call_data(signature, *args), value=value)
        return await signer.wait(sent.tx_hash)

    async def tick(self) -> None:
        if self.signer is not None:
            await self.check_outputs()
            await self.play()
        if self.resolver_signer is not None:
            await self.vote()

    async def check_outputs(self) -> None:
        count = await self.oracle.next_output_index()
        if count < self._checked:  # outputs were deleted by a dispute: look at their replacements
            self._checked = count
        while self._checked < count:
            output = await self.oracle.output(self._checked)
            if self.chain.safe_number < output.l2_block:
                return  # not derived yet: decide only on what L1 says
            own = output_at(self.chain, output.l2_block)
            if own == output.root:
                log.info("output %d (L2 block %d) agrees with the derived chain", output.index, output.l2_block)
            else:
                window = await self.oracle.uint("finalizationPeriodSeconds")
                if await self._l1_time() >= output.timestamp + window:
                    log.error("output %d (L2 block %d) is wrong but its challenge window has passed", output.index,
                              output.l2_block)
                else:
                    await self._challenge(output, own)
            self._checked += 1

    async def _challenge(self, output, own: bytes) -> None:
        bond = await self.oracle.uint("challengerBond")
        log.warning("output %d claims 0x%s for L2 block %d, the derived chain says 0x%s: challenging",
                    output.index, output.root.hex(), output.l2_block, own.hex())
        try:
            receipt = await self._send(self.signer, "challenge(uint256,bytes32)", output.index, own, value=bond)
        except L1RpcError as exc:
            log.error("cannot challenge output %d: %s", output.index, exc)
            return
        dispute_id = await self.oracle.uint("disputeCount")
        self.challenges.append((output.index, dispute_id))
        log.info("challenged output %d: dispute %d (L1 tx %s)", output.index, dispute_id, receipt["transactionHash"])

    async def play(self) -> None:
        me = self.signer.address
        count = await self.oracle.uint("disputeCount")
        for dispute_id in range(1, count + 1):
            if dispute_id in self._closed:
                continue
            dispute = await self.oracle.dispute(dispute_id)
            if dispute.status not in OPEN_STATUSES:
                self._closed.add(dispute_id)
                continue
            if dispute.challenger != me:
                continue
            if dispute.proposer == bytes(20):  # another dispute deleted its output: take the bond back
                log.info("dispute %d: its output was deleted by another dispute, voiding it", dispute_id)
                await self._send(self.signer, "voidDispute(uint256)", dispute_id)
                continue
            if dispute.status == CHALLENGER_TURN:
                mid = dispute.midpoint
                if self.chain.safe_number < mid:
                    continue
                own = output_at(self.chain, mid)
                await self._send(self.signer, "answerMidpoint(uint256,bytes32)", dispute_id, own)
                log.info("dispute %d: L2 block %d %s (range %d..%d)", dispute_id, mid,
                         "agreed" if own == dispute.mid_root else f"disputed, own root 0x{own.hex()}",
                         dispute.lo, dispute.hi)
            elif dispute.status == PROPOSER_TURN and await self._l1_time() > dispute.deadline:
                log.warning("dispute %d: the proposer missed its deadline, claiming the timeout", dispute_id)
                await self._send(self.signer, "timeout(uint256)", dispute_id)
        if await self.oracle.uint("credit", me) > 0:
            await self._send(self.signer, "withdrawCredit()")
            log.info("withdrew dispute winnings")

    async def vote(self) -> None:
        resolver = await self.oracle.resolver()
        count = await self.oracle.uint("disputeCount")
        for dispute_id in range(1, count + 1):
            if dispute_id in self._voted:
                continue
            dispute = await self.oracle.dispute(dispute_id)
            if dispute.status != AWAITING_RESOLUTION:
                if dispute.status not in OPEN_STATUSES:
                    self._voted.add(dispute_id)
                continue
            block = dispute.hi
            if self.chain.safe_number < block:
                continue
            proposer_wins = output_at(self.chain, block) == dispute.proposer_root
            try:
                sent = await self.resolver_signer.send(resolver, call_data("vote(uint256,bool)", dispute_id,
                                                                           proposer_wins))
                await self.resolver_signer.wait(sent.tx_hash)
            except L1RpcError as exc:
                log.warning("resolver vote on dispute %d refused: %s", dispute_id, exc)
            self._voted.add(dispute_id)
            log.info("resolver: dispute %d at L2 block %d: the %s is right", dispute_id, block,
                     "proposer" if proposer_wins else "challenger")
