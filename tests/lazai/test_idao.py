"""iDAO governance that can act: snapshots, delegation, arbitrary calls through a timelock, agents, revenue."""

from __future__ import annotations

import pytest

from tests.lazai.evm_harness import ETHER, Reverted
from tests.lazai.protocol import AGAINST, FOR, Protocol, param

ABSTAIN = 2
ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(1, 8)


@pytest.fixture
def protocol(evm):
    return Protocol(evm)


def test_register_creates_an_executor_and_members_join(evm, protocol):
    owner, member = evm.accounts[1:3]
    idao = protocol.register_idao(owner, 2 * ETHER, name="med-data")
    executor = protocol.executor(idao)
    assert protocol.idaos.call("idaoOfExecutor", executor) == idao
    protocol.idaos.transact("join", idao, sender=member, value=ETHER)
    info = protocol.idaos.call("getIDAO", idao)
    assert info[0] == owner.hex and info[1] == "med-data" and info[7] == 3 * ETHER and info[8] == 2
    assert info[5] == param("idao.minTimelockDelay") and info[9] == executor
    assert protocol.idaos.call("getVotes", idao, member.hex) == ETHER
    with pytest.raises(Reverted, match="empty name"):
        protocol.idaos.transact("registerIDAO", "", "", 1_000, 10, sender=owner)
    with pytest.raises(Reverted, match="quorum"):
        protocol.idaos.transact("registerIDAO", "x", "", 0, 10, sender=owner)
    with pytest.raises(Reverted, match="voting period above the protocol maximum"):
        protocol.idaos.transact("registerIDAO", "x", "", 1, param("idao.maxVotingPeriod") + 1, sender=owner)
    with pytest.raises(Reverted, match="unknown iDAO"):
        protocol.idaos.transact("join", 42, sender=member, value=1)
    with pytest.raises(Reverted, match="already initialized"):
        evm.at("IDAOExecutor", bytes.fromhex(executor[2:])).transact("initialize", 7, sender=member)


def test_late_joiners_vote_weight_is_zero(evm, protocol):
    owner, late = evm.accounts[1:3]
    idao = protocol.register_idao(owner, ETHER)
    evm.warp(1)
    proposal, _ = protocol.idao_propose(idao, [(protocol.idaos, "setMetadata", (idao, "ipfs://v2"), 0)], owner)
    protocol.idaos.transact("join", idao, sender=late, value=100 * ETHER)  # 100x the stake, after the proposal
    assert protocol.idaos.call("getVotes", idao, late.hex) == 100 * ETHER
    with pytest.raises(Reverted, match="no voting weight at the proposal's snapshot"):
        protocol.idaos.transact("castVote", proposal, AGAINST, sender=late)
    protocol.idaos.transact("castVote", proposal, FOR, sender=owner)
    assert protocol.idaos.decoded_logs("VoteCast")[0]["weight"] == ETHER
    snapshot = protocol.idaos.call("getProposal", proposal)[3]
    assert protocol.idaos.call("getPastVotes", idao, late.hex, snapshot) == 0
    assert protocol.idaos.call("getPastTotalStake", idao, snapshot) == ETHER


def test_delegation_moves_vote_weight(evm, protocol):
    owner, holder, delegate = evm.accounts[1:4]
    idao = protocol.register_idao(owner, ETHER)
    protocol.idaos.transact("join", idao, sender=holder, value=3 * ETHER)
    protocol.idaos.transact("delegate", idao, delegate.hex, sender=holder)
    assert protocol.idaos.call("delegates", idao, holder.hex) == delegate.hex
    assert protocol.idaos.call("getVotes", idao, delegate.hex) == 3 * ETHER
    assert protocol.idaos.call("getVotes", idao, holder.hex) == 0
    evm.warp(1)
    proposal, actions = protocol.idao_propose(idao, [(protocol.idaos, "setMetadata", (idao, "ipfs://x"), 0)], owner)
    with pytest.raises(Reverted, match="no voting weight"):
        protocol.idaos.transact("castVote", proposal, FOR, sender=holder)
    protocol.idaos.transact("castVote", proposal, AGAINST, sender=delegate)  # a non-member votes the delegated stake
    protocol.idaos.transact("castVote", proposal, FOR, sender=owner)
    with pytest.raises(Reverted, match="already voted"):
        protocol.idaos.transact("castVote", proposal, FOR, sender=owner)
    evm.warp(101)
    assert protocol.idaos.call("state", proposal) == DEFEATED
    with pytest.raises(Reverted, match="has not succeeded"):
        protocol.idaos.transact("queue", proposal, *actions)


def test_proposals_run_arbitrary_calls_through_the_timelock(evm, protocol):
    owner, member, stranger = evm.accounts[1:4]
    idao = protocol.register_idao(owner, 2 * ETHER)
    protocol.idaos.transact("join", idao, sender=member, value=ETHER)
    executor = protocol.executor(idao)
    evm.state.set_balance(bytes.fromhex(executor[2:]), 5 * ETHER)  # the treasury
    with pytest.raises(Reverted, match="only the iDAO's executor"):
        protocol.idaos.transact("setGovernance", idao, 1_000, 50, 120, 0, sender=owner)
    calls = [(protocol.dat, "createClass", ("ipfs://idao-class", b"\x01" * 32, 0, ""), 0),
             (protocol.idaos, "setGovernance", (idao, 4_000, 50, 120, ETHER // 2), 0),
             (bytes.fromhex(stranger.hex[2:]), b"", (), ETHER)]
    proposal, actions = protocol.idao_propose(idao, calls, member, "act")
    protocol.idaos.transact("castVote", proposal, FOR, sender=owner)
    protocol.idaos.transact("castVote", proposal, ABSTAIN, sender=member)
    with pytest.raises(Reverted, match="has not succeeded"):
        protocol.idaos.transact("queue", proposal, *actions)
    evm.warp(100)
    forged = (actions[0], [0, 0, 5 * ETHER], actions[2])
    with pytest.raises(Reverted, match="actions differ"):
        protocol.idaos.transact("queue", proposal, *forged)
    protocol.idaos.transact("queue", proposal, *actions)
    assert protocol.idaos.call("state", proposal) == QUEUED
    with pytest.raises(Reverted, match="timelock not over"):
        protocol.idaos.transact("execute", proposal, *actions)
    evm.warp(param("idao.minTimelockDelay"))
    evm.base_fee = 0
    before = evm.balance(stranger.address)
    protocol.idaos.transact("execute", proposal, *actions, sender=stranger)  # anyone may execute
    assert protocol.idaos.call("state", proposal) == EXECUTED
    class_id = protocol.dat.call("classCount")
    assert protocol.dat.call("classCreator", class_id) == executor
    assert evm.balance(stranger.address) - before == ETHER
    info = protocol.idaos.call("getIDAO", idao)
    assert (info[3], info[4], info[5], info[6]) == (4_000, 50, 120, ETHER // 2)
    with pytest.raises(Reverted, match="not queued"):
        protocol.idaos.transact("execute", proposal, *actions)
    with pytest.raises(Reverted, match="below the proposal threshold"):
        protocol.idao_propose(idao, calls, evm.accounts[4])
    with pytest.raises(Reverted, match="timelock delay below the protocol minimum"):
        protocol.idao_pass(idao, [(protocol.idaos, "setGovernance", (idao, 4_000, 50, 0, 0), 0)], [owner, member])


def test_canceled_and_expired_proposals(evm, protocol):
    owner = evm.accounts[1]
    idao = protocol.register_idao(owner, ETHER)
    evm.warp(1)
    calls = [(protocol.idaos, "setMetadata", (idao, "ipfs://x"), 0)]
    proposal, actions = protocol.idao_propose(idao, calls, owner)
    with pytest.raises(Reverted, match="only the proposer"):
        protocol.idaos.transact("cancel", proposal, sender=evm.accounts[2])
    protocol.idaos.transact("cancel", proposal, sender=owner)
    assert protocol.idaos.call("state", proposal) == CANCELED
    with pytest.raises(Reverted, match="voting closed"):
        protocol.idaos.transact("castVote", proposal, FOR, sender=owner)
    proposal, actions = protocol.idao_propose(idao, calls, owner)
    protocol.idaos.transact("castVote", proposal, FOR, sender=owner)
    evm.warp(101)
    protocol.idaos.transact("queue", proposal, *actions)
    evm.warp(param("idao.minTimelockDelay") + param("idao.gracePeriod") + 1)
    assert protocol.idaos.call("state", proposal) == EXPIRED
    with pytest.raises(Reverted, match="not queued"):
        protocol.idaos.transact("execute", proposal, *actions)


def test_leaving_stops_votes_at_once_and_pays_after_open_votes(evm, protocol):
    owner, member = evm.accounts[1:3]
    idao = protocol.register_idao(owner, ETHER)
    protocol.idaos.transact("join", idao, sender=member, value=2 * ETHER)
    evm.warp(1)
    protocol.idao_propose(idao, [(protocol.idaos, "setMetadata", (idao, "x"), 0)], owner)
    evm.base_fee = 0
    before = evm.balance(member.address)
    protocol.idaos.transact("leave", idao, ETHER, sender=member)
    assert evm.balance(member.address) == before  # counted in an open vote's snapshot: paid when it closes
    assert protocol.idaos.call("getVotes", idao, member.hex) == ETHER
    with pytest.raises(Reverted, match="stake locked until the iDAO's open votes end"):
        protocol.idaos.transact("withdraw", idao, sender=member)
    evm.warp(101)
    protocol.idaos.transact("withdraw", idao, sender=member)
    assert evm.balance(member.address) - before == ETHER
    protocol.idaos.transact("leave", idao, ETHER, sender=member)  # no open vote: paid at once
    assert evm.balance(member.address) - before == 2 * ETHER
    assert protocol.idaos.call("getIDAO", idao)[8] == 1
    with pytest.raises(Reverted, match="not a member"):
        protocol.idaos.transact("leave", idao, 1, sender=member)


def test_an_agent_contract_is_a_member_that_votes_and_claims(evm, protocol):
    owner, runtime, payer = evm.accounts[1], evm.accounts[5], evm.accounts[4]
    agent = evm.deploy("AgentWallet", runtime.hex, sender=runtime, value=10 * ETHER)
    registry_hex = "0x" + protocol.idaos.address.hex()
    idao = protocol.register_idao(owner, ETHER)
    with pytest.raises(Reverted, match="not the controller"):
        agent.transact("execute", registry_hex, protocol.idaos.calldata("join", idao), ETHER, sender=owner)
    agent.transact("execute", registry_hex, protocol.idaos.calldata("join", idao), 3 * ETHER, sender=runtime)
    evm.warp(1)
    agent.transact("execute", registry_hex, protocol.idaos.calldata(
        "propose", idao, *Protocol._actions([(protocol.idaos, "setMetadata", (idao, "agent"), 0)]), "agent proposal"),
        0, sender=runtime)
    proposal = protocol.idaos.call("proposalCount")
    assert protocol.idaos.call("getProposal", proposal)[1] == "0x" + agent.address.hex()
    agent.transact("execute", registry_hex, protocol.idaos.calldata("castVote", proposal, FOR), 0, sender=runtime)
    assert protocol.idaos.call("state", proposal) == ACTIVE
    evm.warp(param("idao.gracePeriod"))  # a new revenue epoch: the agent's stake earns from now on
    protocol.idaos.transact("depositRevenue", idao, sender=payer, value=4_000)
    assert protocol.idaos.call("pendingRevenue", idao, "0x" + agent.address.hex()) == 3_000
    evm.base_fee = 0
    before = evm.balance(agent.address)
    agent.transact("execute", registry_hex, protocol.idaos.calldata("claimRevenue", idao), 0, sender=runtime)
    assert evm.balance(agent.address) - before == 3_000


def test_member_revenue_is_by_stake_and_starts_at_the_next_epoch(evm, protocol):
    owner, member, late, payer = evm.accounts[1:5]
    epoch = protocol.idaos.call("revenueEpoch")
    idao = protocol.register_idao(owner, ETHER)
    executor = bytes.fromhex(protocol.executor(idao)[2:])
    protocol.idaos.transact("depositRevenue", idao, sender=payer, value=1_000)  # no earning stake yet: treasury
    assert evm.balance(executor) == 1_000
    protocol.idaos.transact("join", idao, sender=member, value=3 * ETHER)
    evm.warp(epoch)
    protocol.idaos.transact("depositRevenue", idao, sender=payer, value=4_000)
    protocol.idaos.transact("join", idao, sender=late, value=96 * ETHER)  # joins just before a big payment
    protocol.idaos.transact("depositRevenue", idao, sender=payer, value=400_000)
    assert protocol.idaos.call("pendingRevenue", idao, late.hex) == 0
    assert protocol.idaos.call("earningStakeOf", idao, late.hex) == (0, 96 * ETHER)
    assert protocol.idaos.call("pendingRevenue", idao, owner.hex) == 101_000
    assert protocol.idaos.call("pendingRevenue", idao, member.hex) == 303_000
    evm.base_fee = 0
    before = evm.balance(member.address)
    assert protocol.idaos.transact("claimRevenue", idao, sender=member) == 303_000
    assert evm.balance(member.address) - before == 303_000
    with pytest.raises(Reverted, match="nothing to claim"):
        protocol.idaos.transact("claimRevenue", idao, sender=member)
    evm.warp(epoch)
    protocol.idaos.transact("depositRevenue", idao, sender=payer, value=100_000)
    assert protocol.idaos.call("pendingRevenue", idao, late.hex) == 96_000
    protocol.idaos.transact("leave", idao, 96 * ETHER, sender=late)  # leaving keeps what was earned
    protocol.idaos.transact("depositRevenue", idao, sender=payer, value=4_000)
    assert protocol.idaos.transact("claimRevenue", idao, sender=late) == 96_000
    assert protocol.idaos.call("pendingRevenue", idao, owner.hex) == 101_000 + 1_000 + 1_000


def test_idao_governs_a_class_members_share_its_revenue_and_it_can_revoke_it(evm, protocol):
    owner, member, creator, holder, payer = evm.accounts[1:6]
    idao = protocol.register_idao(owner, ETHER)
    protocol.idaos.transact("join", idao, sender=member, value=ETHER)
    executor = protocol.executor(idao)
    class_id = protocol.dat.transact("createClass", "ipfs://model", b"\x02" * 32, 0, "", sender=creator)
    token = protocol.dat.transact("mint", class_id, holder.hex, 100, 10, 0, sender=creator)
    with pytest.raises(Reverted, match="only the iDAO's own executor"):
        protocol.dat.transact("setClassGovernance", class_id, idao, 2_000, sender=creator)
    protocol.dat.transact("offerClassManagement", class_id, executor, sender=creator)
    evm.warp(protocol.idaos.call("revenueEpoch"))
    with pytest.raises(Reverted, match="share above the protocol maximum"):
        protocol.idao_pass(idao, [(protocol.dat, "acceptClassManagement", (class_id,), 0),
                                  (protocol.dat, "setClassGovernance", (class_id, idao, 10_000), 0)], [owner, member])
    protocol.idao_pass(idao, [(protocol.dat, "acceptClassManagement", (class_id,), 0),
                              (protocol.dat, "setClassGovernance", (class_id, idao, 2_000), 0)], [owner, member])
    assert protocol.dat.call("classCreator", class_id) == executor
    protocol.dat.transact("settleRevenueETH", class_id, sender=payer, value=10_000)
    assert protocol.dat.call("pendingRevenue", token, "0x" + "00" * 20) == 8_000
    assert protocol.idaos.call("pendingRevenue", idao, member.hex) == 1_000
    evm.base_fee = 0
    before = evm.balance(member.address)
    protocol.idaos.transact("claimRevenue", idao, sender=member)
    assert evm.balance(member.address) - before == 1_000
    with pytest.raises(Reverted, match="caller is not the class manager"):
        protocol.dat.transact("revokeClass", class_id, sender=creator)
    protocol.idao_pass(idao, [(protocol.dat, "revokeClass", (class_id,), 0)], [owner, member])
    with pytest.raises(Reverted, match="class revoked"):
        protocol.dat.transact("settleRevenueETH", class_id, sender=payer, value=1)
    with pytest.raises(Reverted, match="class revoked"):
        protocol.dat.transact("recordUsage", token, b"\x00" * 32, 1, sender=holder)
    assert protocol.dat.transact("claim", token, "0x" + "00" * 20, holder.hex, sender=holder) == 8_000
