"""The OutputOracle's bisection game on anvil, played by a proposer and a challenger to a single block.

Output roots here are labels of a reference chain: ``true_root(n)`` is the
right root of L2 block n and a party that lies from block ``w`` on claims
``wrong_root(n)`` for every n >= w. (The withdrawal tests use real roots.)
"""

from __future__ import annotations

import pytest
from web3 import Web3

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.clients import (
    AWAITING_RESOLUTION, CHALLENGER_TURN, CHALLENGER_WON, PROPOSER_TURN, PROPOSER_WON, VOID, OutputOracleClient,
    ThresholdResolverClient)
from hyperion.rollup.l1.deploy import deploy_rollup_contracts
from hyperion.rollup.l1.transact import ContractReverted, call
from tests.rollup.l1.conftest import (
    ALICE, BOB, CHALLENGER, CHALLENGER_BOND, M1, M2, M3, MOVE_TIMEOUT, OWNER, PROPOSER, PROPOSER_BOND,
    STRANGER, WINDOW, make_config)


def true_root(block: int) -> bytes:
    return keccak256(b"right" + block.to_bytes(8, "big"))


def wrong_root(block: int) -> bytes:
    return keccak256(b"wrong" + block.to_bytes(8, "big"))


def claim(block: int, wrong_from: int | None) -> bytes:
    return true_root(block) if wrong_from is None or block < wrong_from else wrong_root(block)


class Game:
    def __init__(self, w3: Web3, anvil, **config) -> None:
        self.w3, self.anvil = w3, anvil
        self.deployment = deploy_rollup_contracts(w3, OWNER, make_config(starting_output_root=true_root(0), **config))
        self.proposer = OutputOracleClient(w3, self.deployment.output_oracle, PROPOSER)
        self.challenger = self.proposer.with_sender(CHALLENGER)
        self.anyone = self.proposer.with_sender(STRANGER)
        self.resolver = ThresholdResolverClient(w3, self.deployment.resolver)

    def post_outputs(self, count: int, wrong_from: int | None = None) -> None:
        for _ in range(count):
            block = self.proposer.next_block_number()
            self.proposer.propose_l2_output(claim(block, wrong_from), block)

    def play(self, dispute_id: int, proposer_wrong_from: int | None, challenger_wrong_from: int | None,
             challenger: OutputOracleClient | None = None) -> int:
        """Both parties move, each by its own view of the chain, until the single-block step; returns its block."""
        challenger = challenger or self.challenger
        for _ in range(64):
            dispute = self.proposer.get_dispute(dispute_id)
            if dispute.status == PROPOSER_TURN:
                self.proposer.propose_midpoint(dispute_id, claim(dispute.midpoint, proposer_wrong_from))
            elif dispute.status == CHALLENGER_TURN:
                challenger.answer_midpoint(dispute_id, claim(dispute.midpoint, challenger_wrong_from))
            else:
                assert dispute.status == AWAITING_RESOLUTION
                assert dispute.hi == dispute.lo + 1
                return dispute.hi
        raise AssertionError("the game did not end")


@pytest.fixture()
def game(w3, anvil):
    return Game(w3, anvil)


def test_honest_challenger_bisects_to_the_first_wrong_block_and_takes_the_bonds(game, w3):
    # outputs at 16, 32, 48, 64: the proposer's chain goes wrong at block 23 (inside output 1's range)
    game.post_outputs(4, wrong_from=23)
    assert game.proposer.get_l2_output(0).output_root == true_root(16)
    dispute_id = game.challenger.challenge(1, true_root(32))
    dispute = game.proposer.get_dispute(dispute_id)
    assert (dispute.lo, dispute.hi, dispute.agreed_root, dispute.proposer_root) == (16, 32, true_root(16),
                                                                                      wrong_root(32))
    assert game.play(dispute_id, proposer_wrong_from=23, challenger_wrong_from=None) == 23
    block, agreed, proposer_root, challenger_root = game.proposer.final_step(dispute_id)
    assert (block, agreed, proposer_root, challenger_root) == (23, true_root(22), wrong_root(23), true_root(23))

    # the resolver's threshold (2 of 3) decides: one vote is not enough
    game.resolver.with_sender(M1).vote(dispute_id, False)
    assert game.proposer.get_dispute(dispute_id).status == AWAITING_RESOLUTION
    assert game.resolver.votes(dispute_id, False) == 1
    game.resolver.with_sender(M3).vote(dispute_id, False)
    dispute = game.proposer.get_dispute(dispute_id)
    assert dispute.status == CHALLENGER_WON
    # the wrong output and everything after it are gone; output 0 stays
    assert game.proposer.next_output_index() == 1
    assert game.proposer.latest_block_number() == 16
    with pytest.raises(ContractReverted, match="no output at this index"):
        game.proposer.get_l2_output(1)
    # the challenger takes its bond back plus the bonds of the three deleted outputs
    assert game.proposer.credit(CHALLENGER.address) == CHALLENGER_BOND + 3 * PROPOSER_BOND
    before = w3.eth.get_balance(CHALLENGER.address)
    receipt = game.challenger.withdraw_credit()
    gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(CHALLENGER.address) - before + gas_cost == CHALLENGER_BOND + 3 * PROPOSER_BOND
    with pytest.raises(ContractReverted, match="no credit"):
        game.challenger.withdraw_credit()
    # proposing continues from the last surviving output, with right roots
    assert game.proposer.next_block_number() == 32
    game.post_outputs(1)
    assert game.proposer.get_l2_output(1).output_root == true_root(32)


def test_lying_challenger_loses_to_a_right_output_by_signatures(game):
    game.post_outputs(2)
    dispute_id = game.challenger.challenge(1, wrong_root(32))
    # the challenger pretends the chain went wrong at block 29
    assert game.play(dispute_id, proposer_wrong_from=None, challenger_wrong_from=29) == 29
    # the members sign the verdict off chain; anyone submits two signatures
    signatures = [game.resolver.sign_verdict(key, dispute_id, True) for key in (M2.key, M3.key)]
    game.resolver.with_sender(STRANGER).resolve_with_signatures(dispute_id, True, signatures)
    assert game.proposer.get_dispute(dispute_id).status == PROPOSER_WON
    assert game.proposer.next_output_index() == 2
    assert game.proposer.credit(PROPOSER.address) == CHALLENGER_BOND


def test_signature_rules(game):
    game.post_outputs(1, wrong_from=1)
    dispute_id = game.challenger.challenge(0, true_root(16))
    game.play(dispute_id, proposer_wrong_from=1, challenger_wrong_from=None)
    anyone = game.resolver.with_sender(STRANGER)
    sig1 = game.resolver.sign_verdict(M1.key, dispute_id, False)
    sig2 = game.resolver.sign_verdict(M2.key, dispute_id, False)
    outsider = game.resolver.sign_verdict(ALICE.key, dispute_id, False)
    other_verdict = game.resolver.sign_verdict(M3.key, dispute_id, True)
    with pytest.raises(ContractReverted, match="not enough member signatures"):
        anyone.resolve_with_signatures(dispute_id, False, [sig1])
    with pytest.raises(ContractReverted, match="signer is not a member"):
        anyone.resolve_with_signatures(dispute_id, False, [sig1, outsider])
    with pytest.raises(ContractReverted, match="unique and in ascending order"):
        anyone.resolve_with_signatures(dispute_id, False, [sig1, sig1])
    ordered = sorted([sig1, sig2], key=lambda item: int(item[0], 16))
    with pytest.raises(ContractReverted, match="unique and in ascending order"):
        call(anyone.contract.functions.resolveWithSignatures(dispute_id, False, [s for _, s in reversed(ordered)]))
    # a signature over the other verdict recovers to some other address
    with pytest.raises(ContractReverted, match="signer is not a member|ascending"):
        anyone.resolve_with_signatures(dispute_id, False, [sig1, (other_verdict[0], other_verdict[1])])
    # high-s (malleated) signatures are refused
    address, signature = sig1
    n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141
    s = int.from_bytes(signature[32:64], "big")
    malleated = signature[:32] + (n - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    with pytest.raises(ContractReverted, match="lower half"):
        anyone.resolve_with_signatures(dispute_id, False, [(address, malleated), sig2])
    anyone.resolve_with_signatures(dispute_id, False, [sig1, sig2])
    assert game.proposer.get_dispute(dispute_id).status == CHALLENGER_WON


def test_vote_rules(game):
    game.post_outputs(1, wrong_from=1)
    dispute_id = game.challenger.challenge(0, true_root(16))
    with pytest.raises(ContractReverted, match="not awaiting resolution"):
        game.resolver.with_sender(M1).vote(dispute_id, False)
    game.play(dispute_id, proposer_wrong_from=1, challenger_wrong_from=None)
    with pytest.raises(ContractReverted, match="caller is not a member"):
        game.resolver.with_sender(STRANGER).vote(dispute_id, False)
    with pytest.raises(ContractReverted, match="caller is not the resolver"):
        call(game.anyone.contract.functions.resolveDispute(dispute_id, False), **{"from": M1.address})
    game.resolver.with_sender(M1).vote(dispute_id, True)
    with pytest.raises(ContractReverted, match="already voted"):
        game.resolver.with_sender(M1).vote(dispute_id, False)
    # a new member set discards the votes cast so far
    owner_client = game.resolver.with_sender(OWNER)
    with pytest.raises(ContractReverted, match="caller is not the owner"):
        game.resolver.with_sender(M1).set_members([M1.address], 1)
    with pytest.raises(ContractReverted, match="threshold must be"):
        owner_client.set_members([M1.address, M2.address], 3)
    owner_client.set_members([M1.address, M2.address, BOB.address], 2)
    assert game.resolver.votes(dispute_id, True) == 0
    assert game.resolver.members() == [M1.address, M2.address, BOB.address]
    with pytest.raises(ContractReverted, match="caller is not a member"):
        game.resolver.with_sender(M3).vote(dispute_id, False)
    game.resolver.with_sender(M1).vote(dispute_id, False)
    game.resolver.with_sender(BOB).vote(dispute_id, False)
    dispute = game.proposer.get_dispute(dispute_id)
    assert (dispute.status_name, dispute.is_open) == ("challenger_won", False)
    with pytest.raises(ContractReverted, match="not awaiting resolution"):
        game.resolver.with_sender(M2).vote(dispute_id, False)


def test_a_silent_proposer_loses_and_a_silent_challenger_loses(game, anvil):
    game.post_outputs(3)
    # the challenger opens, the proposer never moves
    first = game.challenger.challenge(2, wrong_root(48))
    with pytest.raises(ContractReverted, match="deadline has not passed"):
        game.anyone.timeout(first)
    # the proposer answers the second dispute once, then the challenger goes silent
    second = game.challenger.challenge(1, wrong_root(32))
    game.proposer.propose_midpoint(second, true_root(24))
    anvil.increase_time(MOVE_TIMEOUT + 1)
    with pytest.raises(ContractReverted, match="move deadline has passed"):
        game.challenger.answer_midpoint(second, true_root(24))
    with pytest.raises(ContractReverted, match="move deadline has passed"):
        game.proposer.propose_midpoint(first, true_root(40))
    game.anyone.timeout(second)
    dispute = game.proposer.get_dispute(second)
    assert dispute.status == PROPOSER_WON
    assert game.proposer.credit(PROPOSER.address) == CHALLENGER_BOND
    game.anyone.timeout(first)
    assert game.proposer.get_dispute(first).status == CHALLENGER_WON
    assert game.proposer.next_output_index() == 2
    assert game.proposer.credit(CHALLENGER.address) == CHALLENGER_BOND + PROPOSER_BOND
    with pytest.raises(ContractReverted, match="no move is pending"):
        game.anyone.timeout(first)


def test_turns_and_parties_are_enforced(game):
    game.post_outputs(1)
    dispute_id = game.challenger.challenge(0, wrong_root(16))
    with pytest.raises(ContractReverted, match="not the challenger's turn"):
        game.challenger.answer_midpoint(dispute_id, true_root(8))
    with pytest.raises(ContractReverted, match="caller is not the output's proposer"):
        game.anyone.propose_midpoint(dispute_id, true_root(8))
    with pytest.raises(ContractReverted, match="output root is empty"):
        game.proposer.propose_midpoint(dispute_id, b"\0" * 32)
    game.proposer.propose_midpoint(dispute_id, true_root(8))
    with pytest.raises(ContractReverted, match="not the proposer's turn"):
        game.proposer.propose_midpoint(dispute_id, true_root(8))
    with pytest.raises(ContractReverted, match="caller is not the challenger"):
        game.anyone.answer_midpoint(dispute_id, true_root(8))
    game.challenger.answer_midpoint(dispute_id, true_root(8))  # agree: lo moves to 8
    dispute = game.proposer.get_dispute(dispute_id)
    assert (dispute.lo, dispute.hi, dispute.agreed_root) == (8, 16, true_root(8))
    with pytest.raises(ContractReverted, match="not awaiting resolution"):
        game.proposer.final_step(dispute_id)


def test_challenge_rules_and_the_window(game, anvil):
    game.post_outputs(2)
    with pytest.raises(ContractReverted, match="bond must equal challengerBond"):
        game.challenger.challenge(0, wrong_root(16), bond=CHALLENGER_BOND - 1)
    with pytest.raises(ContractReverted, match="challenger root equals the output root"):
        game.challenger.challenge(0, true_root(16))
    with pytest.raises(ContractReverted, match="challenger root is empty"):
        game.challenger.challenge(0, b"\0" * 32)
    with pytest.raises(ContractReverted, match="cannot challenge its own output"):
        game.proposer.challenge(0, wrong_root(16))
    with pytest.raises(ContractReverted, match="no output at this index"):
        game.challenger.challenge(2, wrong_root(48))
    anvil.increase_time(WINDOW)
    with pytest.raises(ContractReverted, match="challenge window is over"):
        game.challenger.challenge(1, wrong_root(32))


def test_several_challengers_and_void_disputes(game):
    game.post_outputs(3, wrong_from=40)
    late = game.challenger.challenge(2, true_root(48))
    other = game.proposer.with_sender(BOB)
    early = other.challenge(1, wrong_root(32))  # BOB lies about a right output
    same = other.challenge(2, true_root(48))
    # CHALLENGER wins output 2's dispute; BOB's dispute on output 2 is then void
    assert game.play(late, proposer_wrong_from=40, challenger_wrong_from=None) == 40
    game.resolver.with_sender(M1).vote(late, False)
    game.resolver.with_sender(M2).vote(late, False)
    assert game.proposer.next_output_index() == 2
    with pytest.raises(ContractReverted, match="was deleted: void the dispute"):
        game.anyone.timeout(same)
    with pytest.raises(ContractReverted, match="disputed output still exists"):
        game.anyone.void_dispute(early)
    game.anyone.void_dispute(same)
    assert game.proposer.get_dispute(same).status == VOID
    assert game.proposer.credit(BOB.address) == CHALLENGER_BOND
    with pytest.raises(ContractReverted, match="dispute is not open"):
        game.anyone.void_dispute(same)
    # BOB's lie about output 1 still goes on and loses
    assert game.play(early, proposer_wrong_from=None, challenger_wrong_from=17, challenger=other) == 17
    game.resolver.with_sender(M1).vote(early, True)
    game.resolver.with_sender(M2).vote(early, True)
    assert game.proposer.get_dispute(early).status == PROPOSER_WON
    assert game.proposer.next_output_index() == 2


def test_settlement_waits_for_the_window_and_for_disputes(game, anvil):
    game.post_outputs(3)
    assert game.proposer.parameter("settledCount") == 0
    anvil.increase_time(WINDOW - 60)
    dispute_id = game.challenger.challenge(1, wrong_root(32))
    anvil.increase_time(60)
    game.anyone.settle(2)
    # output 0 settled (its bond goes back to the proposer); output 1 is disputed, so 1 and 2 wait
    assert game.proposer.settled_count() == 1
    assert game.proposer.is_settled(0) and not game.proposer.is_settled(2)
    assert game.proposer.credit(PROPOSER.address) == PROPOSER_BOND
    game.play(dispute_id, proposer_wrong_from=None, challenger_wrong_from=20)
    game.resolver.with_sender(M2).vote(dispute_id, True)
    game.resolver.with_sender(M3).vote(dispute_id, True)
    game.anyone.settle(2)
    assert game.proposer.settled_count() == 3
    assert game.proposer.credit(PROPOSER.address) == 3 * PROPOSER_BOND + CHALLENGER_BOND
    # a settled output can no longer be challenged
    with pytest.raises(ContractReverted, match="challenge window is over"):
        game.challenger.challenge(2, wrong_root(48))


def test_proposals_and_governance(game, w3):
    with pytest.raises(ContractReverted, match="caller is not the proposer"):
        game.challenger.propose_l2_output(true_root(16), 16)
    with pytest.raises(ContractReverted, match="bond must equal proposerBond"):
        game.proposer.propose_l2_output(true_root(16), 16, bond=0)
    with pytest.raises(ContractReverted, match="latestBlockNumber \\+ submissionInterval"):
        game.proposer.propose_l2_output(true_root(17), 17)
    with pytest.raises(ContractReverted, match="output root is empty"):
        game.proposer.propose_l2_output(b"\0" * 32, 16)
    # the L1 reorg guard: a wrong hash for a recent L1 block is refused, the right one accepted
    latest = w3.eth.get_block(w3.eth.block_number - 1)  # anvil estimates gas in the latest block's context
    with pytest.raises(ContractReverted, match="L1 block hash does not match"):
        game.proposer.propose_l2_output(true_root(16), 16, l1_block_hash=b"\x01" * 32,
                                        l1_block_number=latest["number"])
    game.proposer.propose_l2_output(true_root(16), 16, l1_block_hash=bytes(latest["hash"]),
                                    l1_block_number=latest["number"])
    assert game.proposer.output_index_after(1) == 0 and game.proposer.output_index_after(16) == 0
    with pytest.raises(ContractReverted, match="no output covers this block yet"):
        game.proposer.output_index_after(17)
    # every parameter belongs to the owner
    owner = game.proposer.with_sender(OWNER)
    functions = owner.contract.functions
    for setter in (functions.setProposer(BOB.address), functions.setResolver(BOB.address),
                 functions.setSubmissionInterval(4), functions.setFinalizationPeriod(10),
                 functions.setBonds(1, 2), functions.setMoveTimeout(5), functions.setStartingOutput(0, b"\0" * 32)):
        with pytest.raises(ContractReverted, match="caller is not the owner"):
            game.proposer.sender.transact(setter)
    with pytest.raises(ContractReverted, match="outputs exist"):
        owner.sender.transact(functions.setStartingOutput(0, b"\0" * 32))
    with pytest.raises(ContractReverted, match="move timeout must be"):
        owner.sender.transact(functions.setMoveTimeout(2**64))
    owner.sender.transact(functions.setSubmissionInterval(4))
    owner.sender.transact(functions.setBonds(1, 2))
    assert game.proposer.next_block_number() == 20
    game.proposer.propose_l2_output(true_root(20), 20)
    assert game.proposer.get_l2_output(1).bond == 1
    owner.set_proposer(BOB.address)
    assert game.proposer.parameter("proposer") == BOB.address
    with pytest.raises(ContractReverted, match="caller is not the proposer"):
        game.proposer.propose_l2_output(true_root(24), 24)
    # ownership moves in two steps
    owner.transfer_ownership(ALICE.address)
    assert game.proposer.owner() == OWNER.address
    with pytest.raises(ContractReverted, match="not the pending owner"):
        game.proposer.with_sender(BOB).accept_ownership()
    game.proposer.with_sender(ALICE).accept_ownership()
    assert game.proposer.owner() == ALICE.address


def test_a_new_resolver_contract_takes_over(game):
    """The swap issue 15 needs: any contract (here an EOA for brevity) set by the owner decides the last step."""
    game.post_outputs(1, wrong_from=1)
    dispute_id = game.challenger.challenge(0, true_root(16))
    game.play(dispute_id, proposer_wrong_from=1, challenger_wrong_from=None)
    game.proposer.with_sender(OWNER).set_resolver(ALICE.address)
    with pytest.raises(ContractReverted, match="caller is not the resolver"):
        game.resolver.with_sender(M1).resolve_with_signatures(
            dispute_id, False, [game.resolver.sign_verdict(k, dispute_id, False) for k in (M1.key, M2.key)])
    game.proposer.with_sender(ALICE).sender.transact(game.proposer.contract.functions.resolveDispute(dispute_id, False))
    assert game.proposer.get_dispute(dispute_id).status == CHALLENGER_WON


@pytest.mark.slow
def test_a_dispute_over_a_million_blocks_ends_at_the_first_wrong_one(w3, anvil):
    """20 rounds of bisection: an output interval of 2^20 L2 blocks, wrong from an odd block in the middle."""
    game = Game(w3, anvil, submission_interval=2**20)
    first_wrong = 700_001
    game.post_outputs(1, wrong_from=first_wrong)
    dispute_id = game.challenger.challenge(0, true_root(2**20))
    assert game.play(dispute_id, proposer_wrong_from=first_wrong, challenger_wrong_from=None) == first_wrong
    game.resolver.with_sender(M1).vote(dispute_id, False)
    game.resolver.with_sender(M2).vote(dispute_id, False)
    assert game.proposer.next_output_index() == 0
