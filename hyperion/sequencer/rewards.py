"""Sequencer rewards and the fee share, per epoch: who built which L2 block, and where every fee went.

Every L2 block names its builder in its coinbase (each sequencer sets it to
its staking address), and pays each transaction's fee in two parts: the
priority part (``gas_used × (effective_gas_price − base_fee)``) to the
coinbase, the base-fee part (``gas_used × base_fee``) to the chain's base-fee
recipient, the Holders Mining vault. ``account_epoch`` adds both up over a
block range from a node's chain.

The ``Rewarder`` (the account governance names SequencerStaking's rewarder)
pays block rewards on L1 once an epoch is *safe* on its node (derived from
L1, so no unsafe block is ever paid for): SequencerStaking credits
``rewardPerBlock`` per block to each staked builder, ranges in order and each
once (``rewardedThrough``), so a restarted or duplicated rewarder cannot pay
a block twice. Blocks whose builder has no stake earn nothing.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from web3 import Web3

from hyperion.rollup.l1.transact import ContractReverted
from hyperion.sequencer.schedule import epoch_first_block, epoch_of
from hyperion.sequencer.staking import SequencerStakingClient

log = logging.getLogger("hyperion.sequencer.rewards")

DEPOSIT_TX_TYPE = 0x7E  # deposits pay for their gas on L1: no L2 fee
Rpc = Callable[..., Any]


@dataclass
class EpochAccount:
    """Blocks and fees of L2 blocks ``first..last``."""

    first: int
    last: int
    blocks_by_builder: Counter = field(default_factory=Counter)          # coinbase -> blocks built
    priority_fees_by_builder: Counter = field(default_factory=Counter)   # coinbase -> wei of priority fees
    base_fees: int = 0                  # wei to the base-fee recipient
    transactions: int = 0               # fee-paying transactions

    @property
    def priority_fees(self) -> int:
        return sum(self.priority_fees_by_builder.values())


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def account_epoch(rpc: Rpc, first: int, last: int) -> EpochAccount:
    """Add up builders and fees of blocks ``first..last`` as the node ``rpc`` holds them."""
    if first < 1 or last < first:
        raise ValueError(f"bad block range {first}..{last} (block 0, the genesis, has no builder)")
    account = EpochAccount(first, last)
    for number in range(first, last + 1):
        block = rpc("eth_getBlockByNumber", hex(number), False)
        if block is None:
            raise ValueError(f"the node has no L2 block {number}")
        builder = Web3.to_checksum_address(block["miner"])
        base_fee = _int(block["baseFeePerGas"])
        account.blocks_by_builder[builder] += 1
        for receipt in rpc("eth_getBlockReceipts", hex(number)):
            if _int(receipt.get("type", 0)) == DEPOSIT_TX_TYPE:
                continue
            gas_used, price = _int(receipt["gasUsed"]), _int(receipt["effectiveGasPrice"])
            if price < base_fee:
                raise ValueError(f"block {number}: a transaction priced {price} below the base fee {base_fee}")
            account.transactions += 1
            account.base_fees += gas_used * base_fee
            account.priority_fees_by_builder[builder] += gas_used * (price - base_fee)
    return account


def safe_head(rpc: Rpc) -> int:
    return _int(rpc("optimism_syncStatus")["safe_l2"]["number"])


class Rewarder:
    """Pays each safe epoch's block rewards on L1, in order, from the node's chain (``staking`` signs as rewarder)."""

    def __init__(self, staking: SequencerStakingClient, rpc: Rpc, epoch_length: int) -> None:
        if staking.sender is None:
            raise ValueError("the rewarder needs the key governance named SequencerStaking's rewarder")
        if epoch_length <= 0:
            raise ValueError("the epoch length must be positive")
        self.staking = staking
        self.rpc = rpc
        self.epoch_length = epoch_length
        self.paid: list[EpochAccount] = []

    def next_range(self) -> tuple[int, int]:
        """The blocks to pay next: from the first unpaid one to the end of its epoch."""
        first = self.staking.view("rewardedThrough") + 1
        last = epoch_first_block(epoch_of(first, self.epoch_length) + 1, self.epoch_length) - 1
        return first, last

    def pay_next(self) -> Optional[EpochAccount]:
        """Pay the next epoch if it is safe on the node; None when it is not yet."""
        first, last = self.next_range()
        if safe_head(self.rpc) < last:
            return None
        account = account_epoch(self.rpc, first, last)
        staked = {builder: blocks for builder, blocks in account.blocks_by_builder.items()
                  if self.staking.view("stakeOf", builder) > 0}
        for builder in account.blocks_by_builder.keys() - staked.keys():
            log.warning("blocks %d..%d: %d built by %s, which has no stake: no reward", first, last,
                        account.blocks_by_builder[builder], builder)
        self.staking.pay_block_rewards(first, last, staked)
        log.info("paid blocks %d..%d: %s; fees: %d wei base to the vault, %d wei priority to the builders",
                 first, last, ", ".join(f"{b} {n} blocks" for b, n in sorted(staked.items())) or "no staked builder",
                 account.base_fees, account.priority_fees)
        self.paid.append(account)
        return account

    def run(self, interval: float, stop: Callable[[], bool]) -> None:
        while not stop():
            try:
                while not stop() and self.pay_next() is not None:
                    pass
            except (ContractReverted, OSError, RuntimeError, ValueError) as exc:  # an L1 or node hiccup: next round
                log.warning("rewarder: %s", exc)
            time.sleep(interval)
