"""StakeResolver on a real anvil L1: the staked set's 2/3 attestation settles an output dispute's last step.

The oracle here runs with a submission interval of 1, so a challenge is at
its single-block step at once. Stakes: M1 40, M2 30, M3 20, the proposer 10
(ETH), total 100: 2/3 needs 66.67.
"""

from __future__ import annotations

import pytest
from web3.logs import DISCARD

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.clients import AWAITING_RESOLUTION, CHALLENGER_WON, PROPOSER_WON, OutputOracleClient
from hyperion.rollup.l1.deploy import deploy_rollup_contracts
from hyperion.rollup.l1.transact import ContractReverted
from hyperion.sequencer.attestation import StakeResolverClient, attestation_digest, deploy_stake_resolver
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.l1.conftest import ALICE, BOB, CHALLENGER, M1, M2, M3, OWNER, PROPOSER, STRANGER, make_config

ETHER = 10**18
SLASH = 3 * ETHER
STAKES = {M1: 40 * ETHER, M2: 30 * ETHER, M3: 20 * ETHER, PROPOSER: 10 * ETHER}


def right(block: int) -> bytes:
    return keccak256(b"right" + block.to_bytes(8, "big"))


def wrong(block: int) -> bytes:
    return keccak256(b"wrong" + block.to_bytes(8, "big"))


class Setup:
    def __init__(self, w3, anvil):
        self.w3, self.anvil = w3, anvil
        deployment = deploy_rollup_contracts(w3, OWNER, make_config(submission_interval=1,
                                                                    starting_output_root=right(0)))
        self.oracle = OutputOracleClient(w3, deployment.output_oracle, OWNER)
        config = StakingConfig(owner=OWNER.address, l2_chain_id=901, min_lock=5 * ETHER, max_lock=200 * ETHER,
                               exit_delay=3600, reward_per_block=0)
        self.staking = SequencerStakingClient(w3, deploy_sequencer_staking(w3, OWNER, config), OWNER)
        self.resolver = StakeResolverClient(
            w3, deploy_stake_resolver(w3, OWNER, OWNER.address, self.oracle.address, self.staking.address, SLASH),
            OWNER)
        self.oracle.set_resolver(self.resolver.address)
        self.staking.govern("setSlasher", self.resolver.address, True)
        self.staking.govern("setSlasher", ALICE.address, True)  # another dispute game, to slash voters in tests
        for account, amount in STAKES.items():
            self.staking.as_account(account).lock(amount)
        anvil.increase_time(1)  # the stakes are in blocks strictly older than any output proposed from here on

    def dispute(self, proposer_lies: bool, challenger=CHALLENGER) -> int:
        """A proposal (right or wrong root) and a challenge of it, at its single-block step at once."""
        proposer = self.oracle.with_sender(PROPOSER)
        block = proposer.next_block_number()
        proposer.propose_l2_output(wrong(block) if proposer_lies else right(block), block)
        index = proposer.next_output_index() - 1
        dispute_id = self.oracle.with_sender(challenger).challenge(index, right(block) if proposer_lies
                                                                   else wrong(block))
        assert self.oracle.get_dispute(dispute_id).status == AWAITING_RESOLUTION
        return dispute_id

    def by(self, account) -> StakeResolverClient:
        return self.resolver.as_account(account)

    def stake(self, account) -> int:
        return self.staking.view("stakeOf", account.address)


@pytest.fixture()
def setup(w3, anvil):
    return Setup(w3, anvil)


def reverts(reason: str, action, *args):
    with pytest.raises(ContractReverted) as caught:
        action(*args)
    assert reason in caught.value.reason, caught.value.reason


def test_two_thirds_of_the_stake_settle_and_the_losing_proposer_is_slashed(setup):
    dispute_id = setup.dispute(proposer_lies=True)
    assert setup.resolver.view("snapshotTime", dispute_id) == setup.oracle.get_l2_output(0).timestamp
    setup.by(M3).vote(dispute_id, False)
    setup.by(M1).vote(dispute_id, False)
    assert setup.resolver.tally(dispute_id, False) == (60 * ETHER, 100 * ETHER)  # 60% < 2/3: still open
    assert setup.oracle.get_dispute(dispute_id).status == AWAITING_RESOLUTION
    setup.by(PROPOSER).vote(dispute_id, True)  # a staked party may attest too; 10% for itself changes nothing
    assert setup.resolver.tally(dispute_id, True) == (10 * ETHER, 100 * ETHER)
    receipt = setup.by(M2).vote(dispute_id, False)  # 90%: settled
    assert setup.oracle.get_dispute(dispute_id).status == CHALLENGER_WON
    resolved = setup.resolver.contract.events.Resolved().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (resolved["stakeFor"], resolved["snapshotStake"], resolved["slashed"]) == (90 * ETHER, 100 * ETHER, SLASH)
    assert resolved["loser"] == PROPOSER.address
    assert setup.stake(PROPOSER) == 10 * ETHER - SLASH  # exactly the configured amount
    assert setup.staking.view("credit", CHALLENGER.address) == SLASH  # to the winner
    assert setup.oracle.credit(CHALLENGER.address) == \
        setup.oracle.parameter("challengerBond") + setup.oracle.parameter("proposerBond")  # the oracle's bonds too
    reverts("dispute is not awaiting resolution", setup.by(M3).vote, dispute_id, True)


def test_signed_attestations_settle_for_the_proposer_and_slash_a_staked_challenger(setup, w3):
    setup.staking.as_account(BOB).lock(5 * ETHER)
    setup.anvil.increase_time(1)  # BOB's stake is in the snapshot of the output proposed next
    dispute_id = setup.dispute(proposer_lies=False, challenger=BOB)  # BOB challenges a right root
    step = setup.resolver.final_step(dispute_id)
    assert attestation_digest(w3.eth.chain_id, setup.resolver.address, step, True) == \
        bytes(setup.resolver.view("attestationDigest", dispute_id, True))
    signed = [setup.resolver.sign(account.key, step, True) for account in (M1, M3)]  # 60 of 105: short of 70
    relay = setup.by(STRANGER)  # anyone may submit them
    relay.attest_with_signatures(dispute_id, True, signed)
    assert setup.oracle.get_dispute(dispute_id).status == AWAITING_RESOLUTION
    assert setup.resolver.tally(dispute_id, True) == (60 * ETHER, 105 * ETHER)
    # M2 joins; the earlier signatures come along again (a relay has only the set it collected): skipped, not refused
    relay.attest_with_signatures(dispute_id, True, signed + [setup.resolver.sign(M2.key, step, True)])
    assert setup.oracle.get_dispute(dispute_id).status == PROPOSER_WON
    assert setup.stake(BOB) == 5 * ETHER - SLASH  # the staked challenger lost and is slashed ...
    assert not setup.staking.view("isActive", BOB.address)  # ... below the minimum, so out of the set
    assert setup.staking.view("credit", PROPOSER.address) == SLASH


def test_a_double_vote_an_unstaked_voter_bad_signatures_and_a_wrong_dispute_id_are_refused(setup, w3):
    dispute_id = setup.dispute(proposer_lies=True)
    setup.by(M3).vote(dispute_id, False)
    reverts("already attested on this dispute", setup.by(M3).vote, dispute_id, False)
    reverts("already attested on this dispute", setup.by(M3).vote, dispute_id, True)  # nor change sides
    reverts("no active stake before the output was proposed", setup.by(STRANGER).vote, dispute_id, False)
    reverts("dispute is not awaiting resolution", setup.by(M1).vote, 999, False)
    reverts("dispute is not awaiting resolution", setup.by(M1).vote, 0, False)
    step = setup.resolver.final_step(dispute_id)
    m1, m2 = (setup.resolver.sign(a.key, step, False) for a in (M1, M2))
    relay = setup.by(STRANGER)
    reverts("no active stake before the output was proposed", relay.attest_with_signatures, dispute_id, False,
            [m1, setup.resolver.sign(STRANGER.key, step, False)])
    # a signature of the other verdict recovers to some other address: not a staked one
    reverts("no active stake", relay.attest_with_signatures, dispute_id, True, [m1])
    ordered = sorted([m1, m2], key=lambda item: int(item[0], 16))
    reverts("unique and in ascending order", relay._send,
            relay.contract.functions.attestWithSignatures(dispute_id, False, [ordered[1][1], ordered[0][1]]))
    reverts("unique and in ascending order", relay._send,
            relay.contract.functions.attestWithSignatures(dispute_id, False, [m1[1], m1[1]]))
    signature = m1[1]
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = signature[:32] + (order - int.from_bytes(signature[32:64], "big")).to_bytes(32, "big") + \
        bytes([55 - signature[64]])
    reverts("signature s is not in the lower half", relay._send,
            relay.contract.functions.attestWithSignatures(dispute_id, False, [high_s]))
    reverts("signature must be 65 bytes", relay._send,
            relay.contract.functions.attestWithSignatures(dispute_id, False, [signature[:64]]))
    assert setup.oracle.get_dispute(dispute_id).status == AWAITING_RESOLUTION
    reverts("caller is not the owner", setup.by(M1).govern, "setSlashAmount", 0)


def test_stake_that_changes_after_the_output_was_proposed_does_not_sway_the_verdict(setup):
    dispute_id = setup.dispute(proposer_lies=True)
    # after the proposal: a newcomer locks more than everyone else together, M1 doubles its stake
    setup.staking.as_account(STRANGER).lock(200 * ETHER)
    setup.staking.as_account(M1).lock(40 * ETHER)
    assert setup.resolver.weight_of(dispute_id, STRANGER.address) == 0
    reverts("no active stake before the output was proposed", setup.by(STRANGER).vote, dispute_id, True)
    assert setup.resolver.weight_of(dispute_id, M1.address) == 40 * ETHER  # the snapshot's, not 80
    setup.by(M1).vote(dispute_id, False)
    assert setup.resolver.tally(dispute_id, False) == (40 * ETHER, 100 * ETHER)  # the total is the snapshot's too
    receipt = setup.by(M2).vote(dispute_id, False)  # 40 + 30 = 70 >= 66.67 of the snapshot's 100
    assert setup.oracle.get_dispute(dispute_id).status == CHALLENGER_WON
    resolved = setup.resolver.contract.events.Resolved().process_receipt(receipt, errors=DISCARD)[0]["args"]
    assert (resolved["stakeFor"], resolved["snapshotStake"]) == (70 * ETHER, 100 * ETHER)


def test_ejected_and_slashed_attestors_stop_counting(setup):
    dispute_id = setup.dispute(proposer_lies=True)
    setup.by(M2).vote(dispute_id, False)
    slasher = setup.staking.as_account(ALICE)
    slasher.slash(M2.address, 26 * ETHER, ALICE.address, keccak256(b"other game"))  # 4 left: below the minimum
    assert not setup.staking.view("isActive", M2.address)
    assert setup.resolver.tally(dispute_id, False) == (0, 100 * ETHER)
    slasher.slash(M1.address, 15 * ETHER, ALICE.address, keccak256(b"other game"))  # 25 left, still active
    assert setup.resolver.weight_of(dispute_id, M1.address) == 25 * ETHER
    setup.by(M1).vote(dispute_id, False)
    setup.by(M3).vote(dispute_id, False)
    # 25 + 20 (+ M2's 30 had it stayed) = 45 of 100: not settled
    assert setup.resolver.tally(dispute_id, False) == (45 * ETHER, 100 * ETHER)
    assert setup.oracle.get_dispute(dispute_id).status == AWAITING_RESOLUTION
    setup.staking.as_account(M3).request_unlock()  # exiting counts for nothing either
    assert setup.resolver.tally(dispute_id, False) == (25 * ETHER, 100 * ETHER)


def test_the_verdict_stands_when_the_slash_cannot_be_made(setup):
    setup.staking.govern("setSlasher", setup.resolver.address, False)  # governance forgot (or revoked) the role
    dispute_id = setup.dispute(proposer_lies=True)
    setup.by(M1).vote(dispute_id, False)
    receipt = setup.by(M2).vote(dispute_id, False)
    assert setup.oracle.get_dispute(dispute_id).status == CHALLENGER_WON
    failed = setup.resolver.contract.events.SlashFailed().process_receipt(receipt, errors=DISCARD)
    assert [(e["args"]["loser"], e["args"]["amount"]) for e in failed] == [(PROPOSER.address, SLASH)]
    assert setup.resolver.contract.events.Resolved().process_receipt(receipt, errors=DISCARD)[0]["args"]["slashed"] == 0
    assert setup.stake(PROPOSER) == 10 * ETHER
