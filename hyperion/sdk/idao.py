"""iDAO registry helpers: register, join, propose admissions, vote, execute."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from hyperion.sdk.client import HyperionClient, TxResult


@dataclass(frozen=True)
class IDAOInfo:
    idao_id: int
    owner: str
    name: str
    metadata_uri: str
    quorum_bps: int
    voting_period: int
    total_stake: int
    member_count: int


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    idao_id: int
    proposer: str
    action: str          # "admit-class" | "admit-verifier"
    class_id: int
    verifier: str
    deadline: int
    for_votes: int
    against_votes: int
    quorum_votes: int
    executed: bool
    passed: bool


class IDAOClient:
    def __init__(self, client: HyperionClient) -> None:
        self.client = client
        self.contract = client.contract("IDAORegistry")

    def register(self, name: str, metadata_uri: str = "", quorum_bps: int = 5_000, voting_period: int = 3_600,
                 stake: int = 0) -> int:
        result = self.client.transact(self.contract.functions.registerIDAO(name, metadata_uri, quorum_bps,
                                                                           voting_period), value=stake)
        return result.event("IDAORegistered")["idaoId"]

    def join(self, idao_id: int, stake: int) -> TxResult:
        return self.client.transact(self.contract.functions.join(idao_id), value=stake)

    def leave(self, idao_id: int) -> TxResult:
        return self.client.transact(self.contract.functions.leave(idao_id))

    def propose_admit_class(self, idao_id: int, class_id: int) -> int:
        result = self.client.transact(self.contract.functions.proposeAdmitClass(idao_id, class_id))
        return result.event("ProposalCreated")["proposalId"]

    def propose_admit_verifier(self, idao_id: int, verifier: str, url: str, public_key: str = "") -> int:
        result = self.client.transact(self.contract.functions.proposeAdmitVerifier(
            idao_id, Web3.to_checksum_address(verifier), url, public_key))
        return result.event("ProposalCreated")["proposalId"]

    def vote(self, proposal_id: int, support: bool) -> TxResult:
        return self.client.transact(self.contract.functions.vote(proposal_id, support))

    def execute(self, proposal_id: int) -> bool:
        result = self.client.transact(self.contract.functions.execute(proposal_id))
        return result.event("ProposalExecuted")["passed"]

    def info(self, idao_id: int) -> IDAOInfo:
        return IDAOInfo(idao_id, *self.contract.functions.getIDAO(idao_id).call())

    def proposal(self, proposal_id: int) -> ProposalInfo:
        (idao_id, proposer, action, class_id, verifier, _url, _key, deadline, for_votes, against, quorum,
         executed, passed) = self.contract.functions.getProposal(proposal_id).call()
        return ProposalInfo(proposal_id, idao_id, proposer, "admit-class" if action == 1 else "admit-verifier",
                            class_id, verifier, deadline, for_votes, against, quorum, executed, passed)

    def class_admitted(self, idao_id: int, class_id: int) -> bool:
        return self.contract.functions.classAdmitted(idao_id, class_id).call()

    def verifier_admitted(self, idao_id: int, verifier: str) -> bool:
        return self.contract.functions.verifierAdmitted(idao_id, Web3.to_checksum_address(verifier)).call()
