"""The LazAI data-contribution flow (alith-compatible contracts): files, permissions, proofs, rewards."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3

from hyperion.sdk.client import HyperionClient, TxResult


@dataclass(frozen=True)
class Reward:
    file_id: int
    amount: int
    dat_1155_token_id: int
    erc8028_token_id: int


def sign_proof(private_key: str | bytes, file_id: int, score: int, file_url: str, proof_url: str) -> bytes:
    """A verifier's proof signature, exactly as alith's ``Client.add_proof`` makes it."""
    digest = Web3.keccak(abi_encode(["(uint256,uint256,string,string)"], [(file_id, score, file_url, proof_url)]))
    return Account.sign_message(encode_defunct(primitive=digest), private_key).signature


def signed(private_key: str | bytes, file_id: int, score: int, file_url: str, proof_url: str) -> tuple:
    """The proof argument of DataRegistry.addProof: ``(signature, (file_id, score, file_url, proof_url))``."""
    return (sign_proof(private_key, file_id, score, file_url, proof_url), (file_id, score, file_url, proof_url))


class DataClient:
    def __init__(self, client: HyperionClient) -> None:
        self.client = client
        self.registry = client.contract("DataRegistry")
        self.verified_computing = client.contract("VerifiedComputing")

    def add_file(self, url: str, file_hash: str = "") -> int:
        return self.client.transact(self.registry.functions.addFile(url, file_hash)).event("FileAdded")["fileId"]

    def grant_permission(self, file_id: int, account: str, encrypted_key: str) -> TxResult:
        return self.client.transact(self.registry.functions.addPermissionForFile(
            file_id, Web3.to_checksum_address(account), encrypted_key))

    def is_verifier(self, node: str) -> bool:
        """Verifiers are admitted by an iDAO vote (IDAOClient.propose_admit_verifier) with a bond."""
        return self.verified_computing.functions.isNode(Web3.to_checksum_address(node)).call()

    def request_proof(self, file_id: int, fee: int | None = None) -> int:
        fee = self.verified_computing.functions.nodeFee().call() if fee is None else fee
        result = self.client.transact(self.verified_computing.functions.requestProof(file_id), value=fee)
        return result.event("JobSubmitted")["jobId"]

    def job(self, job_id: int) -> dict:
        file_id, bid, status, added, owner, node = self.verified_computing.functions.getJob(job_id).call()
        return {"file_id": file_id, "bid": bid, "status": ("none", "submitted", "completed", "canceled")[status],
                "added": added, "owner": owner, "node": node}

    def complete_job(self, job_id: int) -> TxResult:
        return self.client.transact(self.verified_computing.functions.completeJob(job_id))

    def add_proof(self, file_id: int, score: int, file_url: str, proof_url: str) -> TxResult:
        """Sign the proof with this client's key (a verifier node) and submit it."""
        return self.submit_proof(file_id, signed(self.client.account.key, file_id, score, file_url, proof_url))

    def submit_proof(self, file_id: int, proof: tuple) -> TxResult:
        """Submit a proof signed elsewhere: ``(signature, (file_id, score, file_url, proof_url))``."""
        return self.client.transact(self.registry.functions.addProof(file_id, proof))

    def challenge_proof(self, file_id: int, proof_index: int, reason_uri: str = "", bond: int | None = None) -> int:
        """Dispute a proof within its dispute window; staker governance decides (DataRegistry.resolveChallenge)."""
        if bond is None:
            bond = self.client.contract("ProtocolGovernor").functions.param(
                Web3.keccak(text="verifiers.challengeBond")).call()
        result = self.client.transact(self.registry.functions.challengeProof(file_id, proof_index, reason_uri),
                                      value=bond)
        return result.event("ProofChallenged")["challengeId"]

    def report_conflicting_proofs(self, first: tuple, second: tuple) -> int:
        """Two different proofs one verifier signed for one file: slashes it; returns the bond taken."""
        return self.client.transact(self.registry.functions.reportConflictingProofs(first, second)).event(
            "EquivocationReported")["slashed"]

    def proof_status(self, file_id: int, proof_index: int) -> dict:
        void, challenge, window_end = self.registry.functions.proofStatus(file_id, proof_index).call()
        return {"void": void, "challenge_id": challenge, "dispute_window_ends": window_end}

    def request_reward(self, file_id: int, proof_index: int = 1) -> Reward:
        event = self.client.transact(self.registry.functions.requestReward(file_id, proof_index)).event(
            "RewardRequested")
        return Reward(file_id, event["rewardAmount"], event["datTokenId"], event["erc8028TokenId"])

    def claim_node_fees(self) -> TxResult:
        return self.client.transact(self.verified_computing.functions.claim())
