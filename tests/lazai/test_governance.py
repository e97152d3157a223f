"""ProtocolGovernor: staker votes on snapshotted, delegable stake; every rate is a bounded parameter."""

from __future__ import annotations

import pytest

from hyperion.lazai.params import PROTOCOL_PARAMS, param_key
from tests.lazai.evm_harness import ETHER, Reverted
from tests.lazai.protocol import AGAINST, FOR, Protocol, param

DEFEATED, SUCCEEDED, QUEUED, EXECUTED = 3, 4, 5, 7


@pytest.fixture
def protocol(evm):
    return Protocol(evm)


def test_parameters_start_at_their_defaults_within_bounds(evm, protocol):
    for index, entry in enumerate(PROTOCOL_PARAMS):
        assert protocol.governor.call("paramKeys", index) == param_key(entry.name)
        assert protocol.governor.call("paramInfo", param_key(entry.name)) == \
            (entry.default, entry.minimum, entry.maximum, True), entry.name
    assert protocol.vault.call("computeFeeBps") == param("fees.computeBps") > 0
    assert protocol.vault.call("verificationFeeBps") == param("fees.verificationBps") > 0
    assert protocol.vc.call("nodeFee") == param("fees.verificationNodeFee") > 0
    with pytest.raises(Reverted, match="only an executed proposal"):
        protocol.governor.transact("setParam", param_key("fees.computeBps"), 0, sender=evm.accounts[1])
    with pytest.raises(Reverted, match="unknown parameter"):
        protocol.governor.call("param", param_key("fees.nope"))
    with pytest.raises(Reverted, match="set by staker governance"):
        protocol.vc.transact("updateNodeFee", 0)  # not even the admin


def test_rates_change_only_by_a_staker_vote_on_snapshotted_stake(evm, protocol):
    alice, bob, carol, late, outsider = evm.accounts[1:6]
    for account, amount in ((alice, 6), (bob, 3), (carol, 1)):
        protocol.vault.transact("stake", sender=account, value=amount * ETHER)
    evm.warp(1)
    calls = [(protocol.governor, "setParam", (param_key("fees.computeBps"), 2_500), 0),
             (protocol.governor, "setParam", (param_key("fees.verificationBps"), 3_000), 0)]
    targets, values, datas = Protocol._actions(calls)
    with pytest.raises(Reverted, match="below the proposal threshold"):
        protocol.governor.transact("propose", targets, values, datas, "", sender=outsider)
    proposal = protocol.governor.transact("propose", targets, values, datas, "raise fees", sender=bob)
    protocol.vault.transact("stake", sender=late, value=1_000 * ETHER)
    with pytest.raises(Reverted, match="no voting weight at the proposal's snapshot"):
        protocol.governor.transact("castVote", proposal, AGAINST, sender=late)
    protocol.governor.transact("castVote", proposal, FOR, sender=bob)
    protocol.governor.transact("castVote", proposal, AGAINST, sender=carol)
    with pytest.raises(Reverted, match="already voted"):
        protocol.governor.transact("castVote", proposal, FOR, sender=bob)
    evm.warp(param("governor.votingPeriod"))
    with pytest.raises(Reverted, match="voting closed"):
        protocol.governor.transact("castVote", proposal, FOR, sender=alice)
    assert protocol.governor.call("state", proposal) == SUCCEEDED
    protocol.governor.transact("queue", proposal, targets, values, datas)
    with pytest.raises(Reverted, match="timelock not over"):
        protocol.governor.transact("execute", proposal, targets, values, datas)
    evm.warp(param("governor.timelockDelay"))
    protocol.governor.transact("execute", proposal, targets, values, datas, sender=outsider)
    assert protocol.governor.call("state", proposal) == EXECUTED
    assert (protocol.vault.call("computeFeeBps"), protocol.vault.call("verificationFeeBps")) == (2_500, 3_000)


def test_out_of_bounds_values_and_missing_quorum_change_nothing(evm, protocol):
    whale, minnow = evm.accounts[1:3]
    protocol.vault.transact("stake", sender=whale, value=99 * ETHER)
    protocol.vault.transact("stake", sender=minnow, value=ETHER)
    with pytest.raises(Reverted, match="outside the parameter's bounds"):
        protocol.set_param("fees.computeBps", 10_000, [whale])
    assert protocol.param("fees.computeBps") == param("fees.computeBps")
    targets, values, datas = Protocol._actions(
        [(protocol.governor, "setParam", (param_key("verifiers.minBond"), ETHER), 0)])
    proposal = protocol.governor.transact("propose", targets, values, datas, "", sender=minnow)
    protocol.governor.transact("castVote", proposal, FOR, sender=minnow)  # 1 % < 20 % quorum
    evm.warp(param("governor.votingPeriod") + 1)
    assert protocol.governor.call("state", proposal) == DEFEATED
    protocol.set_param("verifiers.minBond", 2 * ETHER, [whale])
    assert protocol.param("verifiers.minBond") == 2 * ETHER


def test_delegated_stake_votes_through_the_delegate(evm, protocol):
    holder, delegate = evm.accounts[1:3]
    protocol.vault.transact("stake", sender=holder, value=5 * ETHER)
    protocol.vault.transact("delegate", delegate.hex, sender=holder)
    assert protocol.vault.call("delegates", holder.hex) == delegate.hex
    assert protocol.vault.call("getVotes", delegate.hex) == 5 * ETHER
    evm.warp(1)
    protocol.set_param("fees.verificationNodeFee", 0, [delegate])
    assert protocol.vc.call("nodeFee") == 0
    assert protocol.vault.call("CLOCK_MODE") == "mode=timestamp"
