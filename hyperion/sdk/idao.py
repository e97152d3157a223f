"""iDAO helpers: register, stake, delegate, propose arbitrary calls, admit and remove verifiers, share revenue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from web3 import Web3

from hyperion.sdk.client import HyperionClient, TxResult
from hyperion.sdk.proposals import Call, CallLike, Proposals, actions, as_calls, proposal_id_of


@dataclass(frozen=True)
class IDAOInfo:
    idao_id: int
    owner: str
    name: str
    metadata_uri: str
    quorum_bps: int
    voting_period: int
    timelock_delay: int
    proposal_threshold: int
    total_stake: int
    member_count: int
    executor: str


class IDAOClient(Proposals):
    """``lazai.idao``. An iDAO acts through its executor: every passed proposal's calls come from that address."""

    def __init__(self, client: HyperionClient) -> None:
        super().__init__(client, client.contract("IDAORegistry"))

    # -- membership ----------------------------------------------------------------------
    def register(self, name: str, metadata_uri: str = "", quorum_bps: int = 5_000, voting_period: int = 3_600,
                 stake: int = 0) -> int:
        result = self.client.transact(self.contract.functions.registerIDAO(name, metadata_uri, quorum_bps,
                                                                           voting_period), value=stake)
        return result.event("IDAORegistered")["idaoId"]

    def join(self, idao_id: int, stake: int) -> TxResult:
        return self.client.transact(self.contract.functions.join(idao_id), value=stake)

    def leave(self, idao_id: int, amount: int | None = None) -> TxResult:
        """Take stake out (all by default); paid now, or by ``withdraw`` once the iDAO's open votes end."""
        if amount is None:
            amount = self.contract.functions.memberStake(idao_id, self.client.address).call()
        return self.client.transact(self.contract.functions.leave(idao_id, amount))

    def withdraw(self, idao_id: int) -> TxResult:
        return self.client.transact(self.contract.functions.withdraw(idao_id))

    def delegate(self, idao_id: int, delegatee: str) -> TxResult:
        return self.client.transact(self.contract.functions.delegate(idao_id, Web3.to_checksum_address(delegatee)))

    def votes(self, idao_id: int, account: str | None = None, at: int | None = None) -> int:
        who = Web3.to_checksum_address(account or self.client.address)
        if at is None:
            return self.contract.functions.getVotes(idao_id, who).call()
        return self.contract.functions.getPastVotes(idao_id, who, at).call()

    def stake_of(self, idao_id: int, account: str | None = None) -> int:
        return self.contract.functions.memberStake(idao_id, Web3.to_checksum_address(account or self.client.address)).call()

    def info(self, idao_id: int) -> IDAOInfo:
        return IDAOInfo(idao_id, *self.contract.functions.getIDAO(idao_id).call())

    def executor(self, idao_id: int) -> str:
        return self.contract.functions.executorOf(idao_id).call()

    # -- proposals -----------------------------------------------------------------------
    def propose(self, idao_id: int, calls: Iterable[CallLike], description: str = "") -> int:
        return proposal_id_of(self.client.transact(self.contract.functions.propose(
            idao_id, *actions(as_calls(calls)), description)))

    def propose_admit_verifier(self, idao_id: int, verifier: str, url: str, public_key: str = "") -> int:
        """Held to the protocol floors; the node must have bonded stake in Holders Mining when it executes."""
        return proposal_id_of(self.client.transact(self.contract.functions.proposeAdmitVerifier(
            idao_id, Web3.to_checksum_address(verifier), url, public_key)))

    def propose_remove_verifier(self, idao_id: int, verifier: str) -> int:
        vc = self.client.contract("VerifiedComputing")
        return self.propose(idao_id, [vc.functions.removeNode(Web3.to_checksum_address(verifier))],
                            f"remove verifier {verifier}")

    def propose_govern_class(self, idao_id: int, class_id: int, revenue_share_bps: int = 0) -> int:
        """Accept management of a class its manager offered to the iDAO's executor, and take a revenue share."""
        dat = self.client.contract("DAT")
        calls = [dat.functions.acceptClassManagement(class_id)]
        if revenue_share_bps:
            calls.append(dat.functions.setClassGovernance(class_id, idao_id, revenue_share_bps))
        return self.propose(idao_id, calls, f"govern class {class_id}")

    def propose_revoke_class(self, idao_id: int, class_id: int) -> int:
        return self.propose(idao_id, [self.client.contract("DAT").functions.revokeClass(class_id)],
                            f"revoke class {class_id}")

    # -- revenue -------------------------------------------------------------------------
    def deposit_revenue(self, idao_id: int, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.depositRevenue(idao_id), value=amount)

    def pending_revenue(self, idao_id: int, member: str | None = None) -> int:
        return self.contract.functions.pendingRevenue(
            idao_id, Web3.to_checksum_address(member or self.client.address)).call()

    def claim_revenue(self, idao_id: int) -> int:
        return self.client.transact(self.contract.functions.claimRevenue(idao_id)).event("RevenueClaimed")["amount"]


__all__ = ["IDAOClient", "IDAOInfo", "Call"]
