"""Holders Mining helpers: stake METIS, claim the revenue share, unstake, delegate votes, bond as a verifier.

Fee rates are staker-governed parameters: see ``hyperion.sdk.governance``.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from hyperion.sdk.client import HyperionClient, TxResult

STREAMS = {"transaction-fees": 0, "compute": 1, "verification": 2, "slashing": 3, "direct": 4}


@dataclass(frozen=True)
class StakerPosition:
    staker: str
    staked: int
    bonded: int
    votes: int
    pending_rewards: int
    pending_unstake: int
    unlock_at: int


@dataclass(frozen=True)
class VaultState:
    total_staked: int
    undistributed: int
    untracked_base_fees: int
    current_epoch: int
    next_epoch_at: int
    compute_fee_bps: int
    verification_fee_bps: int
    revenue_by_stream: dict
    total_distributed: int
    total_claimed: int


class StakingClient:
    def __init__(self, client: HyperionClient) -> None:
        self.client = client
        self.contract = client.contract("HoldersMining")

    def stake(self, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.stake(), value=amount)

    def request_unstake(self, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.requestUnstake(amount))

    def withdraw(self) -> TxResult:
        return self.client.transact(self.contract.functions.withdraw())

    def checkpoint(self) -> TxResult:
        return self.client.transact(self.contract.functions.checkpoint())

    def claim(self) -> int:
        return self.client.transact(self.contract.functions.claim()).event("RewardClaimed")["amount"]

    def position(self, staker: str | None = None) -> StakerPosition:
        who = Web3.to_checksum_address(staker or self.client.address)
        f = self.contract.functions
        return StakerPosition(who, f.stakeOf(who).call(), f.bondOf(who).call(), f.getVotes(who).call(),
                              f.pendingRewards(who).call(), f.pendingUnstake(who).call(), f.unlockAt(who).call())

    def state(self) -> VaultState:
        f = self.contract.functions
        return VaultState(
            f.totalStaked().call(), f.undistributed().call(), f.untrackedBalance().call(), f.currentEpoch().call(),
            f.nextEpochAt().call(), f.computeFeeBps().call(), f.verificationFeeBps().call(),
            {name: f.revenueByStream(code).call() for name, code in STREAMS.items()},
            f.totalDistributed().call(), f.totalClaimed().call(),
        )

    def delegate(self, delegatee: str) -> TxResult:
        """Let ``delegatee`` vote with this account's stake in the ProtocolGovernor."""
        return self.client.transact(self.contract.functions.delegate(Web3.to_checksum_address(delegatee)))

    def bond(self, amount: int) -> TxResult:
        """Lock ``amount`` of this account's stake as its verifier bond (it keeps earning and voting)."""
        return self.client.transact(self.contract.functions.bond(amount))

    def unbond(self, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.unbond(amount))

    def wait_for_epoch(self, dev_time_travel: bool = True, poll=None) -> None:
        """Make the next checkpoint distribute: on a dev node jump the clock, else sleep until the epoch ends."""
        import time

        remaining = self.contract.functions.nextEpochAt().call() - self.client.latest_timestamp()
        if remaining <= 0:
            return
        if dev_time_travel:
            self.client.increase_time(remaining + 1)
            return
        deadline = time.monotonic() + remaining + 1
        while time.monotonic() < deadline:
            if poll:
                poll(max(0, int(deadline - time.monotonic())))
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
