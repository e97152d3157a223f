"""The protocol parameters staker governance controls (``ProtocolGovernor.param``).

Every LazAI rate and floor lives in the ProtocolGovernor as a named value
with bounds fixed at genesis; only a passed, timelocked proposal of METIS
stakers changes one (``setParam``), and only within its bounds. A key on
chain is ``keccak256(name)``. The defaults are the dev chain's (docs/lazai.md
explains each one).
"""

from __future__ import annotations

from typing import NamedTuple

from hyperion.primitives.keccak import keccak256

ETHER = 10**18
HOUR = 3600
DAY = 24 * HOUR


class ProtocolParam(NamedTuple):
    name: str
    default: int
    minimum: int
    maximum: int
    meaning: str


PROTOCOL_PARAMS: tuple[ProtocolParam, ...] = (
    # staker governance itself
    ProtocolParam("governor.votingPeriod", 300, 60, 30 * DAY, "seconds a staker vote stays open"),
    ProtocolParam("governor.quorumBps", 2_000, 500, 10_000, "share of staked METIS (at the snapshot) that must vote"),
    ProtocolParam("governor.timelockDelay", 60, 60, 30 * DAY, "seconds between queueing and executing a passed proposal"),
    ProtocolParam("governor.gracePeriod", 7 * DAY, HOUR, 90 * DAY, "seconds a queued proposal stays executable"),
    ProtocolParam("governor.proposalThreshold", ETHER, 0, 10**27, "votes (wei of stake) needed to propose"),
    # fees
    ProtocolParam("fees.computeBps", 1_000, 0, 5_000, "vault share of AI-process (query/inference/training) fees"),
    ProtocolParam("fees.verificationBps", 1_000, 0, 5_000, "vault share of proof-job fees"),
    ProtocolParam("fees.verificationNodeFee", 10**15, 0, 100 * ETHER, "price of a proof job (VerifiedComputing.nodeFee)"),
    ProtocolParam("fees.inferenceHoldersBps", 5_000, 0, 7_000, "share of a gateway/job inference fee for the model's DAT class"),
    ProtocolParam("fees.inferenceProtocolBps", 2_000, 0, 3_000, "vault share of a gateway/job inference fee"),
    # verifiers
    ProtocolParam("verifiers.minBond", 10 * ETHER, ETHER, 10**27, "stake a verifier must keep bonded in Holders Mining"),
    ProtocolParam("verifiers.minIDAOStake", 100 * ETHER, ETHER, 10**27, "iDAO stake (at the snapshot) to propose a verifier"),
    ProtocolParam("verifiers.minQuorumBps", 3_000, 1_000, 10_000, "quorum floor of a verifier admission vote"),
    ProtocolParam("verifiers.minVotingPeriod", HOUR, 600, 30 * DAY, "voting-period floor of a verifier admission vote"),
    ProtocolParam("verifiers.maxScorePerFile", 100, 1, 10**9, "highest score one proof may carry"),
    ProtocolParam("verifiers.maxScorePerEpoch", 1_000, 1, 10**12, "score one verifier may attest per score epoch"),
    ProtocolParam("verifiers.scoreEpoch", DAY, HOUR, 30 * DAY, "length of a score epoch (seconds)"),
    ProtocolParam("verifiers.disputeWindow", HOUR, 600, 30 * DAY, "seconds a proof can be challenged before it pays"),
    ProtocolParam("verifiers.challengeBond", ETHER, 10**16, 10**24, "bond a challenger posts"),
    ProtocolParam("verifiers.challengeTimeout", 7 * DAY, DAY, 90 * DAY, "seconds governance has to decide a challenge"),
    ProtocolParam("verifiers.slashChallengerBps", 5_000, 0, 10_000, "challenger's share of a slashed bond (rest: vault)"),
    # iDAOs
    ProtocolParam("idao.minTimelockDelay", 60, 1, 30 * DAY, "shortest timelock an iDAO may set"),
    ProtocolParam("idao.maxVotingPeriod", 30 * DAY, DAY, 365 * DAY, "longest voting period an iDAO may set"),
    ProtocolParam("idao.gracePeriod", 7 * DAY, HOUR, 90 * DAY, "seconds a queued iDAO proposal stays executable"),
    ProtocolParam("idao.maxClassShareBps", 5_000, 0, 10_000, "largest share of a class's revenue its iDAO may take"),
)


def param_key(name: str) -> bytes:
    """The on-chain key of a parameter: keccak256 of its name."""
    return keccak256(name.encode())


def param_named(name: str) -> ProtocolParam:
    for param in PROTOCOL_PARAMS:
        if param.name == name:
            return param
    raise KeyError(f"no protocol parameter named {name!r}")
