"""HoldersMining: base-fee routing by balance increase, epochs, pro-rata rewards, unstake delay, bonds."""

from __future__ import annotations

import pytest

from hyperion.predeploys import plan as G
from tests.lazai.evm_harness import ETHER, Reverted

STREAM_BASE_FEE, STREAM_COMPUTE, STREAM_VERIFICATION, STREAM_DIRECT = 0, 1, 2, 4


def credit_base_fee(evm, amount):
    """What the chain rule does: the vault's balance grows, no code runs."""
    evm.state.set_balance(G.FEE_VAULT_ADDRESS, evm.balance(G.FEE_VAULT_ADDRESS) + amount)


def test_base_fee_arriving_as_balance_is_booked_and_shared_pro_rata(evm, vault):
    alice, bob = evm.accounts[1], evm.accounts[2]
    vault.transact("stake", sender=alice, value=1 * ETHER)
    vault.transact("stake", sender=bob, value=3 * ETHER)
    credit_base_fee(evm, 4_000_000)
    assert vault.call("untrackedBalance") == 4_000_000
    epoch_before = vault.call("currentEpoch")
    evm.warp(G.EPOCH_LENGTH)
    vault.transact("checkpoint")
    names = [e["event"] for e in vault.decoded_logs()]
    assert names == ["RevenueReceived", "EpochDistributed"]
    assert vault.call("revenueByStream", STREAM_BASE_FEE) == 4_000_000
    assert vault.call("currentEpoch") == epoch_before + 1
    assert vault.call("pendingRewards", alice.hex) == 1_000_000
    assert vault.call("pendingRewards", bob.hex) == 3_000_000
    before = evm.balance(bob.address)
    evm.base_fee = 0
    assert vault.transact("claim", sender=bob) == 3_000_000
    assert evm.balance(bob.address) - before == 3_000_000
    with pytest.raises(Reverted, match="nothing to claim"):
        vault.transact("claim", sender=bob)


def test_revenue_waits_for_the_epoch_end(evm, vault):
    alice = evm.accounts[1]
    vault.transact("stake", sender=alice, value=ETHER)
    evm.warp(G.EPOCH_LENGTH)
    vault.transact("checkpoint")  # closes the empty first epoch window
    vault.transact("depositRevenue", STREAM_COMPUTE, sender=evm.accounts[3], value=500)
    vault.transact("checkpoint")
    assert vault.call("undistributed") == 500
    assert vault.call("pendingRewards", alice.hex) == 0
    with pytest.raises(Reverted, match="nothing to claim"):
        vault.transact("claim", sender=alice)
    evm.warp(G.EPOCH_LENGTH)
    vault.transact("checkpoint")
    assert vault.call("pendingRewards", alice.hex) == 500
    assert vault.call("revenueByStream", STREAM_COMPUTE) == 500


def test_all_streams_and_no_rounding_drift(evm, vault):
    stakers = evm.accounts[1:4]
    stakes = [7, 11, 13]
    for account, amount in zip(stakers, stakes):
        vault.transact("stake", sender=account, value=amount)
    evm.base_fee = 0
    distributed = 0
    claimed = 0
    for round_index in range(6):
        credit_base_fee(evm, 1_000_003 + round_index)
        vault.transact("depositRevenue", STREAM_VERIFICATION, sender=evm.accounts[4], value=999_999)
        vault.transact("depositRevenue", STREAM_COMPUTE, sender=evm.accounts[4], value=12_345)
        distributed += 1_000_003 + round_index + 999_999 + 12_345
        evm.warp(G.EPOCH_LENGTH)
        vault.transact("checkpoint")
        for account in stakers[: 1 + round_index % 3]:
            if vault.call("pendingRewards", account.hex):
                claimed += vault.transact("claim", sender=account)
        assert claimed <= distributed
    for account in stakers:
        if vault.call("pendingRewards", account.hex):
            claimed += vault.transact("claim", sender=account)
    assert vault.call("totalDistributed") == distributed
    assert distributed - claimed < len(stakers)
    assert vault.call("totalClaimed") == claimed
    # the vault still holds every stake plus the undistributed dust
    assert evm.balance(G.FEE_VAULT_ADDRESS) == sum(stakes) + distributed - claimed


def test_unstake_stops_rewards_and_waits_for_the_delay(evm, vault):
    alice, bob = evm.accounts[1], evm.accounts[2]
    vault.transact("stake", sender=alice, value=ETHER)
    vault.transact("stake", sender=bob, value=ETHER)
    vault.transact("requestUnstake", ETHER, sender=alice)
    with pytest.raises(Reverted, match="amount exceeds stake"):
        vault.transact("requestUnstake", 1, sender=alice)
    credit_base_fee(evm, 1_000)
    evm.warp(G.EPOCH_LENGTH)
    vault.transact("checkpoint")
    assert vault.call("pendingRewards", alice.hex) == 0
    assert vault.call("pendingRewards", bob.hex) == 1_000
    with pytest.raises(Reverted, match="unstake delay not over"):
        vault.transact("withdraw", sender=alice)
    evm.warp(G.UNSTAKE_DELAY)
    evm.base_fee = 0
    before = evm.balance(alice.address)
    vault.transact("withdraw", sender=alice)
    assert evm.balance(alice.address) - before == ETHER
    with pytest.raises(Reverted, match="nothing to withdraw"):
        vault.transact("withdraw", sender=alice)


def test_bonded_stake_cannot_be_unstaked_and_slashing_is_only_for_the_registry(evm, vault):
    alice = evm.accounts[1]
    vault.transact("stake", sender=alice, value=3 * ETHER)
    with pytest.raises(Reverted, match="exceeds unbonded stake"):
        vault.transact("bond", 4 * ETHER, sender=alice)
    vault.transact("bond", 2 * ETHER, sender=alice)
    with pytest.raises(Reverted, match="stake is bonded"):
        vault.transact("requestUnstake", 2 * ETHER, sender=alice)
    vault.transact("requestUnstake", ETHER, sender=alice)
    vault.transact("unbond", ETHER, sender=alice)  # never a verifier: released at once
    with pytest.raises(Reverted, match="only the verifier registry may slash"):
        vault.transact("slashBond", alice.hex, alice.hex, sender=alice)


def test_plain_transfers_are_the_direct_stream(evm, vault):
    evm.send(evm.accounts[2], G.FEE_VAULT_ADDRESS, value=777, gas=100_000)
    assert vault.call("revenueByStream", STREAM_DIRECT) == 777
    assert vault.call("undistributed") == 777
    with pytest.raises(Reverted, match="unknown stream"):
        vault.transact("depositRevenue", STREAM_BASE_FEE, sender=evm.accounts[2], value=1)


def test_reentrant_vault_claim_is_refused(evm, vault):
    attacker = evm.deploy("ReentrantClaimer", "0x" + vault.address.hex(), 2, sender=evm.accounts[5])
    attacker.transact("stakeInVault", sender=evm.accounts[5], value=ETHER)
    vault.transact("stake", sender=evm.accounts[1], value=ETHER)
    credit_base_fee(evm, 10_000)
    evm.warp(G.EPOCH_LENGTH)
    vault.transact("checkpoint")
    assert attacker.transact("claimVault", sender=evm.accounts[5]) == 5_000
    assert attacker.call("attempts") == 1
    assert attacker.call("reentered") is False
    assert attacker.call("received") == 5_000
    assert vault.call("pendingRewards", evm.accounts[1].hex) == 5_000


def test_chain_rule_routing_in_harness_reaches_stakers(evm, vault):
    """With the base fee routed to the vault (as the node does), ordinary traffic pays stakers."""
    evm.base_fee_route = G.FEE_VAULT_ADDRESS
    vault.transact("stake", sender=evm.accounts[1], value=ETHER)
    for _ in range(3):
        evm.send(evm.accounts[2], evm.accounts[3].address, value=1)
    evm.warp(G.EPOCH_LENGTH)
    vault.transact("checkpoint", sender=evm.accounts[3])
    booked = vault.call("revenueByStream", STREAM_BASE_FEE)
    assert booked >= 3 * 21_000 * evm.base_fee
    assert vault.call("totalDistributed") == booked
    assert vault.call("pendingRewards", evm.accounts[1].hex) == booked  # the only staker gets it all
