"""IDAORegistry: registration by EOAs and agent contracts, stake-weighted votes admitting classes and verifiers."""

from __future__ import annotations

import pytest

from hyperion.predeploys import plan as G
from tests.lazai.evm_harness import ETHER, Reverted


@pytest.fixture
def registry(evm):
    return evm.at("IDAORegistry", G.IDAO_REGISTRY_ADDRESS)


def test_register_join_and_admit_class(evm, registry):
    owner, member, outsider = evm.accounts[1:4]
    idao = registry.transact("registerIDAO", "med-data", "ipfs://idao", 5_000, 100, sender=owner, value=2 * ETHER)
    assert registry.decoded_logs("IDAORegistered")[0]["owner"] == owner.hex
    registry.transact("join", idao, sender=member, value=1 * ETHER)
    info = registry.call("getIDAO", idao)
    assert info[0] == owner.hex and info[1] == "med-data" and info[5] == 3 * ETHER and info[6] == 2
    with pytest.raises(Reverted, match="only members may propose"):
        registry.transact("proposeAdmitClass", idao, 1, sender=outsider)
    proposal = registry.transact("proposeAdmitClass", idao, 1, sender=member)
    registry.transact("vote", proposal, True, sender=owner)
    registry.transact("vote", proposal, False, sender=member)
    assert registry.decoded_logs("VoteCast")[0]["weight"] == 1 * ETHER
    with pytest.raises(Reverted, match="not a member"):
        registry.transact("vote", proposal, True, sender=outsider)
    with pytest.raises(Reverted, match="already voted"):
        registry.transact("vote", proposal, True, sender=owner)
    with pytest.raises(Reverted, match="voting still open"):
        registry.transact("execute", proposal)
    with pytest.raises(Reverted, match="stake locked by an open vote"):
        registry.transact("leave", idao, sender=member)
    evm.warp(101)
    with pytest.raises(Reverted, match="voting closed"):
        registry.transact("vote", proposal, True, sender=member)
    assert registry.transact("execute", proposal) is True
    assert registry.call("classAdmitted", idao, 1) is True
    with pytest.raises(Reverted, match="already executed"):
        registry.transact("execute", proposal)
    evm.base_fee = 0
    before = evm.balance(member.address)
    registry.transact("leave", idao, sender=member)
    assert evm.balance(member.address) - before == ETHER


def test_vote_admits_verifier_into_verified_computing(evm, registry):
    owner, verifier = evm.accounts[1], evm.accounts[4]
    vc = evm.at("VerifiedComputing", G.VERIFIED_COMPUTING_ADDRESS)
    idao = registry.transact("registerIDAO", "verifiers", "", 2_000, 50, sender=owner, value=ETHER)
    proposal = registry.transact("proposeAdmitVerifier", idao, verifier.hex, "http://tee", "pk", sender=owner)
    registry.transact("vote", proposal, True, sender=owner)
    assert vc.call("isNode", verifier.hex) is False
    evm.warp(51)
    registry.transact("execute", proposal)
    assert registry.call("verifierAdmitted", idao, verifier.hex) is True
    assert vc.call("isNode", verifier.hex) is True
    assert vc.call("getNode", verifier.hex)[1] == "http://tee"


def test_rejected_or_unquorate_proposal_changes_nothing(evm, registry):
    owner, big = evm.accounts[1:3]
    idao = registry.transact("registerIDAO", "q", "", 6_000, 10, sender=owner, value=ETHER)
    registry.transact("join", idao, sender=big, value=3 * ETHER)
    proposal = registry.transact("proposeAdmitClass", idao, 7, sender=owner)
    registry.transact("vote", proposal, True, sender=owner)  # 25% < 60% quorum
    evm.warp(11)
    assert registry.transact("execute", proposal) is False
    assert registry.call("classAdmitted", idao, 7) is False
    proposal = registry.transact("proposeAdmitClass", idao, 7, sender=owner)
    registry.transact("vote", proposal, True, sender=owner)
    registry.transact("vote", proposal, False, sender=big)
    evm.warp(11)
    assert registry.transact("execute", proposal) is False


def test_contract_acting_for_an_agent_registers_and_votes(evm, registry):
    runtime = evm.accounts[5]
    agent = evm.deploy("AgentWallet", runtime.hex, sender=runtime, value=2 * ETHER)
    call = registry._encode("registerIDAO", ("agent-dao", "ipfs://agent", 1_000, 10))
    with pytest.raises(Reverted, match="not the controller"):
        agent.transact("execute", "0x" + registry.address.hex(), call, ETHER, sender=evm.accounts[1])
    agent.transact("execute", "0x" + registry.address.hex(), call, ETHER, sender=runtime)
    idao = registry.call("idaoCount")
    assert registry.call("getIDAO", idao)[0] == "0x" + agent.address.hex()
    proposal_call = registry._encode("proposeAdmitClass", (idao, 1))
    agent.transact("execute", "0x" + registry.address.hex(), proposal_call, 0, sender=runtime)
    proposal = registry.call("proposalCount")
    agent.transact("execute", "0x" + registry.address.hex(), registry._encode("vote", (proposal, True)), 0,
                   sender=runtime)
    evm.warp(11)
    assert registry.transact("execute", proposal) is True


def test_registration_validates_parameters(evm, registry):
    with pytest.raises(Reverted, match="empty name"):
        registry.transact("registerIDAO", "", "", 1_000, 10, sender=evm.accounts[1])
    with pytest.raises(Reverted, match="quorum"):
        registry.transact("registerIDAO", "x", "", 0, 10, sender=evm.accounts[1])
    with pytest.raises(Reverted, match="unknown iDAO"):
        registry.transact("join", 42, sender=evm.accounts[1], value=1)
