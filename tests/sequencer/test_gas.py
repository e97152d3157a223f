"""Gas of the SequencerStaking operations on anvil, bounded (gas is deterministic; run with -s to see it)."""

from __future__ import annotations

from eth_account import Account

from hyperion.primitives.keccak import keccak256
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.l1.anvil import ANVIL_KEYS

OWNER, S1, S2, REWARDER, DISPUTES, REPORTER = (Account.from_key(k) for k in ANVIL_KEYS[:6])
ETHER = 10**18
# upper bounds, ~25% above what was measured (anvil 1.7.1, prague) so that a regression shows. Each operation is
# measured at a new L1 timestamp, where the stake checkpoints (StakeResolver's snapshot) cost two new storage
# slots; an operation sharing a timestamp with an earlier change rewrites them instead and costs ~44k less.
BOUNDS = {"lock (join)": 290_000, "lock (add)": 127_000, "payBlockRewards": 140_000, "claim": 40_000,
          "proveEquivocation": 250_000, "slash": 134_000, "requestUnlock": 142_000, "withdraw": 42_000}


def test_gas_of_each_operation(w3, anvil):
    config = StakingConfig(OWNER.address, 59902, ETHER, 100 * ETHER, 60, 10**15)
    staking = SequencerStakingClient(w3, deploy_sequencer_staking(w3, OWNER, config), OWNER)

    def measure(action, *args) -> int:
        anvil.increase_time(1)  # a later L1 timestamp: every stake checkpoint is a new entry (the dearer case)
        return action(*args)["gasUsed"]

    gas = {"lock (join)": measure(staking.as_account(S1).lock, 50 * ETHER),
           "lock (add)": measure(staking.as_account(S1).lock, ETHER)}
    staking.as_account(S2).lock(50 * ETHER)
    staking.govern("setRewarder", REWARDER.address)
    staking.fund_rewards(ETHER)
    gas["payBlockRewards"] = measure(staking.as_account(REWARDER).pay_block_rewards, 1, 100,
                                     {S1.address: 60, S2.address: 40})
    gas["claim"] = measure(staking.as_account(S1).claim)
    hash_a, hash_b = keccak256(b"a"), keccak256(b"b")
    gas["proveEquivocation"] = measure(staking.as_account(REPORTER).prove_equivocation, 5, hash_a,
                                       staking.sign_block(S1.key, 5, hash_a), hash_b,
                                       staking.sign_block(S1.key, 5, hash_b))
    staking.govern("setSlasher", DISPUTES.address, True)
    gas["slash"] = measure(staking.as_account(DISPUTES).slash, S2.address, ETHER, REPORTER.address, keccak256(b"d"))
    gas["requestUnlock"] = measure(staking.as_account(S2).request_unlock)
    anvil.increase_time(60)
    gas["withdraw"] = measure(staking.as_account(S2).withdraw)
    print("\nSequencerStaking gas: " + ", ".join(f"{name} {used / 1000:.1f}k" for name, used in gas.items()))
    assert {name: used for name, used in gas.items() if used > BOUNDS[name]} == {}
