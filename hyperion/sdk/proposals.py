"""Proposals with arbitrary calls, as the ProtocolGovernor and the iDAO registry run them.

Both contracts share one life cycle (Active -> Succeeded -> Queued -> Executed,
or Defeated / Canceled / Expired) and store only the hash of a proposal's
calls; ``queue`` and ``execute`` pass the calls again, read back here from the
``ProposalCreated`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Union

from web3 import Web3

from web3.exceptions import ContractLogicError

from hyperion.sdk.client import HyperionClient, TxResult, revert_reason
from hyperion.sdk.errors import SdkError, TransactionFailed

STATES = {1: "active", 2: "canceled", 3: "defeated", 4: "succeeded", 5: "queued", 6: "expired", 7: "executed"}
SUPPORT = {"against": 0, "for": 1, "abstain": 2}


@dataclass(frozen=True)
class Call:
    """One call a proposal makes: target, value (wei) and ABI-encoded calldata."""

    target: str
    data: bytes = b""
    value: int = 0

    @classmethod
    def of(cls, function: Any, value: int = 0) -> "Call":
        """From a web3 contract function call, e.g. ``Call.of(dat.functions.revokeClass(7))``."""
        return cls(function.address, bytes.fromhex(function._encode_transaction_data().removeprefix("0x")), value)


CallLike = Union[Call, Any]


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    domain: int          # the iDAO id (0 for staker governance)
    proposer: str
    snapshot: int
    deadline: int
    quorum_votes: int
    for_votes: int
    against_votes: int
    abstain_votes: int
    timelock_delay: int
    eta: int
    state: str


def as_calls(calls: Iterable[CallLike]) -> list[Call]:
    return [c if isinstance(c, Call) else Call.of(c) for c in calls]


def actions(calls: list[Call]) -> tuple[list[str], list[int], list[bytes]]:
    return ([Web3.to_checksum_address(c.target) for c in calls], [c.value for c in calls], [c.data for c in calls])


class Proposals:
    """Vote, queue, execute and inspect proposals of one governing contract."""

    def __init__(self, client: HyperionClient, contract) -> None:
        self.client = client
        self.contract = contract

    def vote(self, proposal_id: int, support: bool | str = True) -> TxResult:
        code = SUPPORT[support] if isinstance(support, str) else int(bool(support))
        return self.client.transact(self.contract.functions.castVote(proposal_id, code))

    def calls(self, proposal_id: int) -> list[Call]:
        self.state(proposal_id)  # an unknown proposal reverts here with the contract's reason
        logs = self.contract.events.ProposalCreated.get_logs(from_block=0,
                                                             argument_filters={"proposalId": proposal_id})
        if not logs:
            raise SdkError(f"no ProposalCreated event for proposal {proposal_id} (pruned logs?)")
        args = logs[0]["args"]
        return [Call(t, bytes(d), v) for t, v, d in zip(args["targets"], args["values"], args["calldatas"])]

    def queue(self, proposal_id: int) -> int:
        result = self.client.transact(self.contract.functions.queue(proposal_id, *actions(self.calls(proposal_id))))
        return result.event("ProposalQueued")["eta"]

    def execute(self, proposal_id: int) -> TxResult:
        calls = self.calls(proposal_id)
        return self.client.transact(self.contract.functions.execute(proposal_id, *actions(calls)),
                                    value=sum(c.value for c in calls))

    def cancel(self, proposal_id: int) -> TxResult:
        return self.client.transact(self.contract.functions.cancel(proposal_id))

    def state(self, proposal_id: int) -> str:
        try:
            return STATES[self.contract.functions.state(proposal_id).call()]
        except ContractLogicError as exc:
            raise TransactionFailed(revert_reason(exc)) from None

    def proposal(self, proposal_id: int) -> ProposalInfo:
        (domain, proposer, _hash, snapshot, deadline, quorum, for_votes, against, abstain, delay, _grace, eta,
         _executed, _canceled) = self.contract.functions.getProposal(proposal_id).call()
        return ProposalInfo(proposal_id, domain, proposer, snapshot, deadline, quorum, for_votes, against, abstain,
                            delay, eta, self.state(proposal_id))

    def finish(self, proposal_id: int) -> TxResult:
        """On a dev node: jump past the vote, queue, jump past the timelock, execute."""
        info = self.proposal(proposal_id)
        wait = info.deadline - self.client.latest_timestamp() + 1
        if wait > 0:
            self.client.increase_time(wait)
        eta = self.queue(proposal_id)
        wait = eta - self.client.latest_timestamp()
        if wait > 0:
            self.client.increase_time(wait)
        return self.execute(proposal_id)


def proposal_id_of(result: TxResult) -> int:
    return result.event("ProposalCreated")["proposalId"]
