"""Verifiers are staked and accountable: floors on admission, bounded scores, slashing, removal (in-process)."""

from __future__ import annotations

import pytest

from tests.lazai.evm_harness import ETHER, Reverted, make_account
from tests.lazai.protocol import FOR, Protocol, param, signed_proof, verifier_world

STREAM_SLASHING = 3


def fund(evm, account, amount=1_000 * ETHER):
    evm.state.set_balance(account.address, evm.balance(account.address) + amount)


def test_self_admission_attack_is_refused(evm):
    """The issue's attack: a fresh key, an iDAO with 1 wei stake, 1 bps quorum, a 1 s vote, self-admission,
    a self-signed proof with score 1e9. Every step that would make it a verifier or pay it is refused."""
    protocol = Protocol(evm)
    attacker = make_account("fresh-attacker-key")
    fund(evm, attacker)
    idao = protocol.idaos.transact("registerIDAO", "sybil", "", 1, 1, sender=attacker, value=1)
    evm.warp(1)
    with pytest.raises(Reverted, match="iDAO stake below the protocol floor for verifier admission"):
        protocol.idaos.transact("proposeAdmitVerifier", idao, attacker.hex, "http://me", "pk", sender=attacker)
    with pytest.raises(Reverted, match="admitted only by an iDAO vote"):
        protocol.vc.transact("addNode", attacker.hex, "http://me", "pk", sender=attacker)
    with pytest.raises(Reverted, match="only the iDAO registry admits verifiers"):
        protocol.vc.transact("admitVerifier", attacker.hex, "http://me", "pk", idao, sender=attacker)
    file_id = protocol.registry.transact("addFile", "ipfs://sybil-data", "h", sender=attacker)
    with pytest.raises(Reverted, match="score above the per-file bound"):
        protocol.registry.transact("addProof", file_id, signed_proof(attacker.key, file_id, 10**9, "ipfs://sybil-data"),
                                   sender=attacker)
    with pytest.raises(Reverted, match="signer is not a verifier node"):
        protocol.registry.transact("addProof", file_id, signed_proof(attacker.key, file_id, 100, "ipfs://sybil-data"),
                                   sender=attacker)
    assert protocol.vc.call("isNode", attacker.hex) is False
    assert protocol.dat.call("totalShareOf", 1) == 0


def test_admission_uses_the_floors_not_the_idao_rules(evm):
    """Enough stake, but the iDAO's own 1 bps / 1 s rules give way to the protocol's quorum and voting period,
    and without a bond the passed vote still cannot admit."""
    protocol = Protocol(evm)
    owner, outsider_votes, verifier = evm.accounts[1], evm.accounts[2], evm.accounts[3]
    idao = protocol.register_idao(owner, 90 * ETHER, quorum_bps=1, voting_period=1)
    protocol.idaos.transact("join", idao, sender=outsider_votes, value=60 * ETHER)
    evm.warp(1)
    proposal = protocol.idaos.transact("proposeAdmitVerifier", idao, verifier.hex, "http://v", "pk", sender=owner)
    snapshot = protocol.idaos.call("getProposal", proposal)
    quorum, deadline = snapshot[5], snapshot[4]
    assert quorum == 150 * ETHER * param("verifiers.minQuorumBps") // 10_000
    assert deadline - evm.timestamp + 1 == param("verifiers.minVotingPeriod")
    protocol.idaos.transact("castVote", proposal, FOR, sender=owner)  # 90 of 150: above 30 % quorum
    actions = protocol.admission_actions(proposal)
    evm.warp(2)
    with pytest.raises(Reverted, match="proposal has not succeeded"):
        protocol.idaos.transact("queue", proposal, *actions)  # the iDAO's 1 s period does not apply
    evm.warp(param("verifiers.minVotingPeriod"))
    protocol.idaos.transact("queue", proposal, *actions)
    evm.warp(param("idao.minTimelockDelay"))
    with pytest.raises(Reverted, match="verifier bond below the protocol minimum"):
        protocol.idaos.transact("execute", proposal, *actions)
    protocol.vault.transact("stake", sender=verifier, value=param("verifiers.minBond"))
    protocol.vault.transact("bond", param("verifiers.minBond"), sender=verifier)
    protocol.idaos.transact("execute", proposal, *actions)
    assert protocol.vc.call("isNode", verifier.hex) is True
    assert protocol.vc.call("admittedBy", verifier.hex) == idao


def test_scores_are_bounded_per_file_and_per_epoch(evm):
    protocol, idao, owner = verifier_world(evm)
    verifier, contributor = evm.accounts[2], evm.accounts[3]
    protocol.admit_verifier(idao, verifier, [owner])
    per_file, per_epoch = param("verifiers.maxScorePerFile"), param("verifiers.maxScorePerEpoch")
    files = [protocol.registry.transact("addFile", f"ipfs://f{i}", "h", sender=contributor)
             for i in range(per_epoch // per_file + 1)]
    with pytest.raises(Reverted, match="score above the per-file bound"):
        protocol.registry.transact("addProof", files[0], signed_proof(verifier.key, files[0], per_file + 1, "ipfs://f0"))
    with pytest.raises(Reverted, match="proof names another file URL"):
        protocol.registry.transact("addProof", files[0], signed_proof(verifier.key, files[0], 5, "ipfs://other"))
    for index, file_id in enumerate(files[:-1]):
        protocol.registry.transact("addProof", file_id, signed_proof(verifier.key, file_id, per_file, f"ipfs://f{index}"))
    with pytest.raises(Reverted, match="score budget for this epoch is spent"):
        protocol.registry.transact("addProof", files[-1], signed_proof(verifier.key, files[-1], 1, f"ipfs://f{len(files) - 1}"))
    with pytest.raises(Reverted, match="signer already attested this file"):
        protocol.registry.transact("addProof", files[0], signed_proof(verifier.key, files[0], 1, "ipfs://f0"))
    evm.warp(param("verifiers.scoreEpoch"))
    protocol.registry.transact("addProof", files[-1], signed_proof(verifier.key, files[-1], 1, f"ipfs://f{len(files) - 1}"))


def test_rewards_wait_for_the_dispute_window_and_mint_one_token(evm):
    protocol, idao, owner = verifier_world(evm)
    verifier, contributor = evm.accounts[2], evm.accounts[3]
    protocol.admit_verifier(idao, verifier, [owner])
    file_id = protocol.registry.transact("addFile", "ipfs://good", "h", sender=contributor)
    protocol.registry.transact("addProof", file_id, signed_proof(verifier.key, file_id, 87, "ipfs://good"))
    with pytest.raises(Reverted, match="still in its dispute window"):
        protocol.registry.transact("requestReward", file_id, 1, sender=contributor)
    evm.warp(param("verifiers.disputeWindow"))
    protocol.registry.transact("requestReward", file_id, 1, sender=contributor)
    token = protocol.registry.call("rewardTokenOf", file_id)
    assert protocol.registry.call("erc8028TokenOf", file_id) == token
    assert protocol.dat1155.call("balanceOf", contributor.hex, token) == 87
    assert (protocol.dat.call("valueOf", token), protocol.dat.call("shareRatioOf", token)) == (87, 87)
    assert protocol.dat1155.call("uri", token) == "ipfs://good" and protocol.dat1155.call("verified", token) is True


def test_conflicting_proofs_slash_the_verifier(evm):
    protocol, idao, owner = verifier_world(evm)
    verifier, contributor, reporter = evm.accounts[2], evm.accounts[3], evm.accounts[4]
    protocol.admit_verifier(idao, verifier, [owner])
    file_id = protocol.registry.transact("addFile", "ipfs://two-faced", "h", sender=contributor)
    honest = signed_proof(verifier.key, file_id, 10, "ipfs://two-faced")
    protocol.registry.transact("addProof", file_id, honest)
    other = signed_proof(verifier.key, file_id, 95, "ipfs://two-faced")  # signed, never submitted
    with pytest.raises(Reverted, match="identical"):
        protocol.registry.transact("reportConflictingProofs", honest, honest, sender=reporter)
    with pytest.raises(Reverted, match="not signed by the same verifier"):
        protocol.registry.transact("reportConflictingProofs", honest,
                                   signed_proof(reporter.key, file_id, 95, "ipfs://two-faced"), sender=reporter)
    bond = protocol.vault.call("bondOf", verifier.hex)
    evm.base_fee = 0
    before = evm.balance(reporter.address)
    vault_slashing = protocol.vault.call("revenueByStream", STREAM_SLASHING)
    protocol.registry.transact("reportConflictingProofs", honest, other, sender=reporter)
    to_reporter = bond * param("verifiers.slashChallengerBps") // 10_000
    assert evm.balance(reporter.address) - before == to_reporter
    assert protocol.vault.call("revenueByStream", STREAM_SLASHING) - vault_slashing == bond - to_reporter
    assert protocol.vault.call("bondOf", verifier.hex) == 0
    assert protocol.vault.call("stakeOf", verifier.hex) == 0
    assert protocol.vc.call("isNode", verifier.hex) is False
    with pytest.raises(Reverted, match="no bond left"):
        protocol.registry.transact("reportConflictingProofs", honest, other, sender=reporter)
    evm.warp(param("verifiers.disputeWindow"))
    with pytest.raises(Reverted, match="the proof's verifier was slashed"):
        protocol.registry.transact("requestReward", file_id, 1, sender=contributor)


def test_challenge_upheld_by_stakers_slashes_to_the_challenger_and_the_vault(evm):
    protocol, idao, owner = verifier_world(evm)
    verifier, contributor, challenger, staker = evm.accounts[2], evm.accounts[3], evm.accounts[4], evm.accounts[5]
    protocol.admit_verifier(idao, verifier, [owner])
    protocol.vault.transact("stake", sender=staker, value=100 * ETHER)
    file_id = protocol.registry.transact("addFile", "ipfs://junk", "h", sender=contributor)
    protocol.registry.transact("addProof", file_id, signed_proof(verifier.key, file_id, 99, "ipfs://junk"))
    bond_amount = param("verifiers.challengeBond")
    with pytest.raises(Reverted, match="challenge bond too low"):
        protocol.registry.transact("challengeProof", file_id, 1, "ipfs://why", sender=challenger, value=1)
    challenge = protocol.registry.transact("challengeProof", file_id, 1, "ipfs://why", sender=challenger,
                                           value=bond_amount)
    with pytest.raises(Reverted, match="already challenged"):
        protocol.registry.transact("challengeProof", file_id, 1, "ipfs://why", sender=staker, value=bond_amount)
    with pytest.raises(Reverted, match="only staker governance"):
        protocol.registry.transact("resolveChallenge", challenge, True, sender=staker)
    # the verifier cannot run: its bond is locked while a challenge is open
    with pytest.raises(Reverted, match="bond is locked"):
        protocol.vault.transact("unbond", 1, sender=verifier)
    evm.warp(param("verifiers.disputeWindow"))
    with pytest.raises(Reverted, match="under challenge"):
        protocol.registry.transact("requestReward", file_id, 1, sender=contributor)
    bond = protocol.vault.call("bondOf", verifier.hex)
    evm.base_fee = 0
    before = evm.balance(challenger.address)
    protocol.stakers_pass([(protocol.registry, "resolveChallenge", (challenge, True), 0)], [staker])
    to_challenger = bond * param("verifiers.slashChallengerBps") // 10_000
    assert evm.balance(challenger.address) - before == to_challenger + bond_amount
    assert protocol.vault.call("revenueByStream", STREAM_SLASHING) == bond - to_challenger
    assert protocol.registry.call("proofStatus", file_id, 1)[0] is True
    assert protocol.vc.call("isNode", verifier.hex) is False
    with pytest.raises(Reverted, match="shown wrong"):
        protocol.registry.transact("requestReward", file_id, 1, sender=contributor)


def test_rejected_and_expired_challenges(evm):
    protocol, idao, owner = verifier_world(evm)
    verifier, contributor, challenger, staker = evm.accounts[2], evm.accounts[3], evm.accounts[4], evm.accounts[5]
    protocol.admit_verifier(idao, verifier, [owner])
    protocol.vault.transact("stake", sender=staker, value=100 * ETHER)
    files = [protocol.registry.transact("addFile", f"ipfs://ok{i}", "h", sender=contributor) for i in range(2)]
    for index, file_id in enumerate(files):
        protocol.registry.transact("addProof", file_id, signed_proof(verifier.key, file_id, 50, f"ipfs://ok{index}"))
    bond_amount = param("verifiers.challengeBond")
    first = protocol.registry.transact("challengeProof", files[0], 1, "", sender=challenger, value=bond_amount)
    second = protocol.registry.transact("challengeProof", files[1], 1, "", sender=challenger, value=bond_amount)
    direct = protocol.vault.call("revenueByStream", 4)
    protocol.stakers_pass([(protocol.registry, "resolveChallenge", (first, False), 0)], [staker])
    assert protocol.vault.call("revenueByStream", 4) - direct == bond_amount  # the frivolous bond goes to the vault
    assert protocol.vault.call("bondOf", verifier.hex) == param("verifiers.minBond")
    evm.warp(param("verifiers.disputeWindow"))
    protocol.registry.transact("requestReward", files[0], 1, sender=contributor)
    with pytest.raises(Reverted, match="awaits a verdict"):
        protocol.registry.transact("expireChallenge", second)
    evm.warp(param("verifiers.challengeTimeout"))
    evm.base_fee = 0
    before = evm.balance(challenger.address)
    protocol.registry.transact("expireChallenge", second)
    assert evm.balance(challenger.address) - before == bond_amount
    with pytest.raises(Reverted, match="not open"):
        protocol.registry.transact("expireChallenge", second)


def test_verifier_removed_by_its_idao_and_bond_released_after_the_window(evm):
    protocol, idao, owner = verifier_world(evm)
    verifier, contributor, stranger = evm.accounts[2], evm.accounts[3], evm.accounts[4]
    protocol.admit_verifier(idao, verifier, [owner])
    file_id = protocol.registry.transact("addFile", "ipfs://last", "h", sender=contributor)
    protocol.registry.transact("addProof", file_id, signed_proof(verifier.key, file_id, 5, "ipfs://last"))
    with pytest.raises(Reverted, match="stake is bonded"):
        protocol.vault.transact("requestUnstake", 1, sender=verifier)
    with pytest.raises(Reverted, match="only the admitting iDAO"):
        protocol.vc.transact("removeNode", verifier.hex, sender=stranger)
    protocol.idao_pass(idao, [(protocol.vc, "removeNode", (verifier.hex,), 0)], [owner])
    assert protocol.vc.call("isNode", verifier.hex) is False
    later = protocol.registry.transact("addFile", "ipfs://later", "h", sender=contributor)
    with pytest.raises(Reverted, match="signer is not a verifier node"):
        protocol.registry.transact("addProof", later, signed_proof(verifier.key, later, 5, "ipfs://later"))
    released = protocol.vc.call("bondReleasableAt", verifier.hex)
    if released > evm.timestamp:
        with pytest.raises(Reverted, match="bond is locked"):
            protocol.vault.transact("unbond", 1, sender=verifier)
        evm.warp(released - evm.timestamp)
    bond = protocol.vault.call("bondOf", verifier.hex)
    protocol.vault.transact("unbond", bond, sender=verifier)
    protocol.vault.transact("requestUnstake", bond, sender=verifier)
    assert protocol.vault.call("bondOf", verifier.hex) == 0


def test_a_verifier_may_resign_and_staker_governance_may_remove(evm):
    protocol, idao, owner = verifier_world(evm)
    first, second, staker = evm.accounts[2], evm.accounts[3], evm.accounts[5]
    protocol.admit_verifier(idao, first, [owner])
    protocol.admit_verifier(idao, second, [owner])
    protocol.vc.transact("removeNode", first.hex, sender=first)
    assert protocol.vc.call("isNode", first.hex) is False
    protocol.vault.transact("stake", sender=staker, value=100 * ETHER)
    protocol.stakers_pass([(protocol.vc, "removeNode", (second.hex,), 0)], [staker])
    assert protocol.vc.call("activeNodeList") == []
