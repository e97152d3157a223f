"""SequencerStaking on a real anvil L1: lock limits, exit delay, block rewards, equivocation and dispute slashing,
governance. After every scenario the contract's balance is exactly stakes + reward pool + credits."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.transact import ContractReverted
from hyperion.sequencer.schedule import Stake
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.l1.anvil import ANVIL_KEYS

OWNER, S1, S2, S3, REWARDER, DISPUTES, REPORTER, STRANGER = (Account.from_key(k) for k in ANVIL_KEYS[:8])
ETHER = 10**18
MIN_LOCK, MAX_LOCK = 20 * ETHER, 100 * ETHER
EXIT_DELAY = 21 * 86400
REWARD = 10**15
L2_CHAIN_ID = 59902


@pytest.fixture()
def staking(w3):
    config = StakingConfig(owner=OWNER.address, l2_chain_id=L2_CHAIN_ID, min_lock=MIN_LOCK, max_lock=MAX_LOCK,
                           exit_delay=EXIT_DELAY, reward_per_block=REWARD, equivocation_slash_bps=5_000,
                           reporter_share_bps=1_000)
    client = SequencerStakingClient(w3, deploy_sequencer_staking(w3, OWNER, config), OWNER)
    yield client
    # the books balance: every wei the contract holds is a stake, the pool or someone's credit
    accounts = {a.address for a in (OWNER, S1, S2, S3, REWARDER, DISPUTES, REPORTER, STRANGER)}
    accounts |= {Web3.to_checksum_address(s.address) for s in client.active_set()}
    held = (sum(client.view("stakeOf", a) for a in accounts) + client.view("rewardPool")
            + sum(client.view("credit", a) for a in accounts))
    assert w3.eth.get_balance(client.address) == held


def paid(w3, receipt) -> int:
    return receipt["gasUsed"] * receipt["effectiveGasPrice"]


def reverts(reason: str, action, *args):
    with pytest.raises(ContractReverted) as caught:
        action(*args)
    assert reason in caught.value.reason, caught.value.reason


def test_lock_within_the_limits_and_the_set_as_of_an_l1_block(staking, w3):
    s1 = staking.as_account(S1)
    reverts("stake below the minimum lock", s1.lock, MIN_LOCK - 1)
    reverts("stake above the maximum lock", s1.lock, MAX_LOCK + 1)
    reverts("nothing to lock", s1.lock, 0)
    before = w3.eth.block_number
    s1.lock(MIN_LOCK)
    s1.lock(30 * ETHER)  # adding to a stake
    reverts("stake above the maximum lock", s1.lock, MAX_LOCK - 50 * ETHER + 1)
    staking.as_account(S2).lock(MAX_LOCK)
    assert staking.active_set() == [Stake(bytes.fromhex(S1.address[2:]), 50 * ETHER),
                                    Stake(bytes.fromhex(S2.address[2:]), MAX_LOCK)]
    assert staking.view("totalActiveStake") == 150 * ETHER
    assert staking.active_set(before) == []  # the schedule reads the set at its seed block: history counts


def test_unlock_leaves_the_set_at_once_and_pays_only_after_the_exit_delay(staking, w3, anvil):
    s1, s2 = staking.as_account(S1), staking.as_account(S2)
    s1.lock(40 * ETHER)
    s2.lock(25 * ETHER)
    reverts("no exit requested", s1.withdraw)
    reverts("not an active sequencer", staking.as_account(S3).request_unlock)
    s1.request_unlock()
    assert [s.address for s in staking.active_set()] == [bytes.fromhex(S2.address[2:])]
    assert staking.view("totalActiveStake") == 25 * ETHER
    assert staking.view("stakeOf", S1.address) == 40 * ETHER  # still locked, still slashable
    reverts("not an active sequencer", s1.request_unlock)
    reverts("an exit is pending", s1.lock, MIN_LOCK)
    reverts("exit delay not over", s1.withdraw)
    anvil.increase_time(EXIT_DELAY - 60)
    reverts("exit delay not over", s1.withdraw)
    anvil.increase_time(60)
    balance = w3.eth.get_balance(S1.address)
    receipt = s1.withdraw()
    assert w3.eth.get_balance(S1.address) == balance + 40 * ETHER - paid(w3, receipt)
    assert staking.view("stakeOf", S1.address) == 0
    reverts("no exit requested", s1.withdraw)
    s1.lock(MIN_LOCK)  # and may join again
    assert staking.view("isActive", S1.address)


def test_block_rewards_come_from_the_pool_and_add_up_exactly(staking, w3):
    staking.as_account(S1).lock(MIN_LOCK)
    staking.as_account(S2).lock(MIN_LOCK)
    staking.govern("setRewarder", REWARDER.address)
    rewarder = staking.as_account(REWARDER)
    reverts("reward pool too small", rewarder.pay_block_rewards, 1, 1, {S1.address: 1})
    staking.as_account(STRANGER).fund_rewards(ETHER)
    reverts("caller is not the rewarder", staking.as_account(S1).pay_block_rewards, 1, 10, {S1.address: 10})
    # an epoch of 100 blocks (1..100): 60 by S1, 38 by S2, 2 by nobody staked
    reverts("more blocks counted than the range holds", rewarder.pay_block_rewards, 1, 100,
            {S1.address: 61, S2.address: 40})
    reverts("only staked sequencers earn", rewarder.pay_block_rewards, 1, 100, {S1.address: 60, S3.address: 1})
    reverts("block rewards are paid in order", rewarder.pay_block_rewards, 2, 100, {S1.address: 60})
    reverts("the block range is empty", rewarder.pay_block_rewards, 1, 0, {})
    rewarder.pay_block_rewards(1, 100, {S1.address: 60, S2.address: 38})
    assert staking.view("rewardedThrough") == 100
    assert staking.view("credit", S1.address) == 60 * REWARD
    assert staking.view("credit", S2.address) == 38 * REWARD
    assert staking.view("rewardPool") == ETHER - 98 * REWARD
    # the same range again, or one that skips or overlaps, is refused: each block is paid once
    reverts("block rewards are paid in order", rewarder.pay_block_rewards, 1, 100, {S1.address: 60})
    reverts("block rewards are paid in order", rewarder.pay_block_rewards, 100, 120, {S1.address: 1})
    reverts("block rewards are paid in order", rewarder.pay_block_rewards, 102, 120, {S1.address: 1})
    def pay_raw(sequencers, blocks):
        return rewarder._send(rewarder.contract.functions.payBlockRewards(101, 120, sequencers, blocks))

    reverts("unique and in ascending order", pay_raw, [S1.address, S1.address], [1, 1])
    reverts("one block count per sequencer", pay_raw, [S1.address], [1, 1])
    reverts("reward pool too small", rewarder.pay_block_rewards, 101, 10**9, {S1.address: ETHER // REWARD})
    balance = w3.eth.get_balance(S1.address)
    receipt = staking.as_account(S1).claim()
    assert w3.eth.get_balance(S1.address) == balance + 60 * REWARD - paid(w3, receipt)
    reverts("nothing to claim", staking.as_account(S1).claim)


def test_stake_checkpoints_give_the_stake_before_a_moment(staking, w3, anvil):
    """activeStakeAt(t) / totalActiveStakeAt(t): the stake at the end of the last L1 block older than t."""
    s1, s2 = staking.as_account(S1), staking.as_account(S2)
    staking.govern("setSlasher", DISPUTES.address, True)
    moments = []  # (timestamp of the block after a change, S1's active stake, total) as of the end of that change

    def mark():
        anvil.increase_time(5)
        moments.append((w3.eth.get_block("latest")["timestamp"], staking.view("stakeOf", S1.address)
                        if staking.view("isActive", S1.address) else 0, staking.view("totalActiveStake")))

    mark()
    s1.lock(MIN_LOCK)
    s2.lock(30 * ETHER)
    mark()
    s1.lock(10 * ETHER)
    mark()
    staking.as_account(DISPUTES).slash(S1.address, 5 * ETHER, REPORTER.address, keccak256(b"d"))
    mark()
    staking.as_account(DISPUTES).slash(S1.address, 10 * ETHER, REPORTER.address, keccak256(b"d"))  # below min: out
    mark()
    s2.request_unlock()
    mark()
    assert [m[1:] for m in moments] == [(0, 0), (20 * ETHER, 50 * ETHER), (30 * ETHER, 60 * ETHER),
                                        (25 * ETHER, 55 * ETHER), (0, 30 * ETHER), (0, 0)]
    for timestamp, s1_stake, total in moments:
        assert staking.view("activeStakeAt", S1.address, timestamp) == s1_stake
        assert staking.view("totalActiveStakeAt", timestamp) == total
    # a change made in the block of the moment itself does not count: only older blocks do
    head = w3.eth.get_block("latest")["timestamp"]
    reverts("the time is in the future", staking.view, "activeStakeAt", S1.address, head + 10**6)
    assert staking.view("activeStakeAt", STRANGER.address, head) == 0


def _two_blocks(staking, key, number=7):
    hash_a, hash_b = keccak256(b"block a"), keccak256(b"block b")
    return (number, hash_a, staking.sign_block(key, number, hash_a), hash_b,
            staking.sign_block(key, number, hash_b))


def test_an_equivocation_is_proven_by_anyone_and_slashes_and_ejects_the_signer(staking, w3):
    staking.as_account(S1).lock(80 * ETHER)
    staking.as_account(S2).lock(MIN_LOCK)
    # the digest signed off-chain is the one the contract checks
    assert staking.block_digest(7, keccak256(b"block a")) == bytes(
        staking.contract.functions.blockDigest(7, keccak256(b"block a")).call())
    evidence = _two_blocks(staking, S1.key)
    reporter = staking.as_account(REPORTER)
    receipt = reporter.prove_equivocation(*evidence)
    assert staking.view("stakeOf", S1.address) == 40 * ETHER           # 50% slashed
    assert staking.view("credit", REPORTER.address) == 4 * ETHER        # 10% of the penalty
    assert staking.view("rewardPool") == 36 * ETHER                     # the rest funds rewards
    assert not staking.view("isActive", S1.address)                     # ejected, on its exit delay
    assert staking.view("unlockAt", S1.address) == w3.eth.get_block(receipt["blockNumber"])["timestamp"] + EXIT_DELAY
    assert staking.view("totalActiveStake") == MIN_LOCK
    reverts("equivocation already proven", reporter.prove_equivocation, *evidence)
    # while exiting, another height's equivocation still slashes
    reporter.prove_equivocation(*_two_blocks(staking, S1.key, number=8))
    assert staking.view("stakeOf", S1.address) == 20 * ETHER


def test_equivocation_evidence_that_proves_nothing_is_refused(staking):
    staking.as_account(S1).lock(MIN_LOCK)
    reporter = staking.as_account(REPORTER)
    number, hash_a, sig_a, hash_b, sig_b = _two_blocks(staking, S1.key)
    reverts("the two blocks are the same", reporter.prove_equivocation, number, hash_a, sig_a, hash_a, sig_a)
    other = staking.sign_block(S2.key, number, hash_b)
    reverts("signed by different keys", reporter.prove_equivocation, number, hash_a, sig_a, hash_b, other)
    # a signature over another height does not count for this one
    reverts("signed by different keys", reporter.prove_equivocation, number + 1, hash_a, sig_a, hash_b, sig_b)
    unstaked = _two_blocks(staking, S3.key)
    reverts("the signer has no stake", reporter.prove_equivocation, *unstaked)
    # the malleable twin (s -> n - s, v flipped) of a valid signature is refused
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(sig_b[32:64], "big")
    twin = sig_b[:32] + (n - s).to_bytes(32, "big") + bytes([55 - sig_b[64]])
    reverts("lower half", reporter.prove_equivocation, number, hash_a, sig_a, hash_b, twin)
    reverts("65 bytes", reporter.prove_equivocation, number, hash_a, sig_a, hash_b, sig_b[:64])
    assert staking.view("stakeOf", S1.address) == MIN_LOCK


def test_the_dispute_game_hook_slashes_to_a_beneficiary(staking):
    staking.as_account(S1).lock(50 * ETHER)
    disputes = staking.as_account(DISPUTES)
    reason = keccak256(b"dispute 1")
    reverts("caller is not a slasher", disputes.slash, S1.address, ETHER, REPORTER.address, reason)
    staking.govern("setSlasher", DISPUTES.address, True)
    disputes.slash(S1.address, 10 * ETHER, REPORTER.address, reason)
    assert staking.view("stakeOf", S1.address) == 40 * ETHER and staking.view("isActive", S1.address)
    assert staking.view("credit", REPORTER.address) == 10 * ETHER
    # left below the minimum: out of the set
    disputes.slash(S1.address, 25 * ETHER, REPORTER.address, reason)
    assert not staking.view("isActive", S1.address) and staking.view("totalActiveStake") == 0
    # asking for more than is left takes what is left
    disputes.slash(S1.address, 100 * ETHER, REPORTER.address, reason)
    assert staking.view("stakeOf", S1.address) == 0
    assert staking.view("credit", REPORTER.address) == 50 * ETHER
    staking.govern("setSlasher", DISPUTES.address, False)
    reverts("caller is not a slasher", disputes.slash, S1.address, 1, REPORTER.address, reason)


def test_every_parameter_is_under_governance(staking, anvil):
    stranger = staking.as_account(STRANGER)
    for name, args in (("setLockLimits", (1, 2)), ("setExitDelay", (1,)), ("setRewardPerBlock", (1,)),
                       ("setRewarder", (STRANGER.address,)), ("setSlasher", (STRANGER.address, True)),
                       ("setEquivocationPenalty", (1, 1)), ("transferOwnership", (STRANGER.address,))):
        reverts("caller is not the owner", stranger.govern, name, *args)
    reverts("minimum lock above the maximum", staking.govern, "setLockLimits", 10, 9)
    reverts("minimum lock is zero", staking.govern, "setLockLimits", 0, 9)
    reverts("exit delay above one year", staking.govern, "setExitDelay", 366 * 86400)
    reverts("slash share above 100%", staking.govern, "setEquivocationPenalty", 10_001, 0)
    reverts("reporter share above 100%", staking.govern, "setEquivocationPenalty", 0, 10_001)
    staking.govern("setLockLimits", 30 * ETHER, 60 * ETHER)
    staking.govern("setExitDelay", 3600)
    staking.govern("setRewardPerBlock", 7)
    assert (staking.view("minLock"), staking.view("maxLock"), staking.view("exitDelay"),
            staking.view("rewardPerBlock")) == (30 * ETHER, 60 * ETHER, 3600, 7)
    reverts("stake below the minimum lock", staking.as_account(S1).lock, 29 * ETHER)
    s1 = staking.as_account(S1)
    s1.lock(30 * ETHER)
    s1.request_unlock()
    anvil.increase_time(3600)
    s1.withdraw()
    # ownership moves in two steps
    staking.govern("transferOwnership", STRANGER.address)
    stranger.govern("acceptOwnership")
    assert staking.view("owner") == STRANGER.address
    stranger.govern("setRewardPerBlock", 9)


def test_the_set_is_bounded(staking, w3):
    staking.govern("setLockLimits", 1, ETHER)
    funder = staking.as_account(OWNER)
    for i in range(32):
        account = Account.from_key(keccak256(b"seq" + bytes([i])))
        w3.eth.send_transaction({"from": Web3.to_checksum_address(OWNER.address), "to": account.address,
                                 "value": ETHER // 10})
        staking.as_account(account).lock(1)
    assert staking.view("sequencerCount") == 32
    reverts("the sequencer set is full", funder.lock, 1)
    assert len(staking.active_set()) == 32
