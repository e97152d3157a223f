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

    def add_verifier(self, node: str, url: str, public_key: str = "") -> TxResult:
        """Admin/maintainer path; iDAOs admit verifiers by vote (IDAOClient.propose_admit_verifier)."""
        return self.client.transact(self.verified_computing.functions.addNode(
            Web3.to_checksum_address(node), url, public_key))

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
        signature = sign_proof(self.client.account.key, file_id, score, file_url, proof_url)
        return self.client.transact(self.registry.functions.addProof(
            file_id, (signature, (file_id, score, file_url, proof_url))))

    def request_reward(self, file_id: int, proof_index: int = 1) -> Reward:
        event = self.client.transact(self.registry.functions.requestReward(file_id, proof_index)).event(
            "RewardRequested")
        return Reward(file_id, event["rewardAmount"], event["datTokenId"], event["erc8028TokenId"])

    def claim_node_fees(self) -> TxResult:
        return self.client.transact(self.verified_computing.functions.claim())
