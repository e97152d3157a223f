"""Paying AI nodes (query / inference / training) through Settlement, alith-compatible signatures included."""

from __future__ import annotations

from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3

from hyperion.sdk.client import HyperionClient, TxResult
from hyperion.sdk.errors import SdkError

PROCESSES = {"query": "Query", "inference": "Inference", "training": "Training"}


def _eth_sign(private_key, digest: bytes) -> bytes:
    return Account.sign_message(encode_defunct(primitive=digest), private_key).signature


def sign_request(private_key: str | bytes, nonce: int, user: str, node: str) -> bytes:
    """The user's signature over (nonce, user, node): alith's X-LazAI-Signature header."""
    digest = Web3.keccak(abi_encode(["uint256", "address", "address"],
                                    [nonce, Web3.to_checksum_address(user), Web3.to_checksum_address(node)]))
    return _eth_sign(private_key, digest)


@dataclass(frozen=True)
class UserBalance:
    user: str
    available: int
    total: int
    query_nodes: list
    inference_nodes: list
    training_nodes: list


class SettlementClient:
    def __init__(self, client: HyperionClient) -> None:
        self.client = client
        self.contract = client.contract("Settlement")

    def _process(self, kind: str):
        try:
            return self.client.contract(PROCESSES[kind])
        except KeyError:
            raise SdkError(f"unknown AI process {kind!r}; use one of {', '.join(PROCESSES)}") from None

    # -- user side ---------------------------------------------------------------------------
    def add_user(self, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.addUser(), value=amount)

    def deposit(self, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.deposit(), value=amount)

    def withdraw(self, amount: int) -> TxResult:
        return self.client.transact(self.contract.functions.withdraw(amount))

    def fund_node(self, kind: str, node: str, amount: int) -> TxResult:
        """Move ``amount`` of the available balance into the prepaid account with ``node``."""
        function = {"query": self.contract.functions.depositQuery, "inference": self.contract.functions.depositInference,
                    "training": self.contract.functions.depositTraining}[self._check(kind)]
        return self.client.transact(function(Web3.to_checksum_address(node), amount))

    def retrieve(self, kind: str, nodes: list[str]) -> TxResult:
        function = {"query": self.contract.functions.retrieveQuery,
                    "inference": self.contract.functions.retrieveInference,
                    "training": self.contract.functions.retrieveTraining}[self._check(kind)]
        return self.client.transact(function([Web3.to_checksum_address(n) for n in nodes]))

    def user(self, address: str | None = None) -> UserBalance:
        record = self.contract.functions.getUser(Web3.to_checksum_address(address or self.client.address)).call()
        return UserBalance(record[0], record[1], record[2], list(record[3]), list(record[4]), list(record[5]))

    def sign_request(self, nonce: int, node: str) -> bytes:
        return sign_request(self.client.account.key, nonce, self.client.address, node)

    # -- node side -----------------------------------------------------------------------------
    def add_node(self, kind: str, node: str, url: str, public_key: str = "") -> TxResult:
        """Admin/maintainer: register an AI node for ``kind``."""
        return self.client.transact(self._process(kind).functions.addNode(Web3.to_checksum_address(node), url,
                                                                          public_key))

    def collect_fee(self, kind: str, request_id: str, user: str, cost: int, nonce: int,
                    user_signature: bytes) -> TxResult:
        """As the node: settle ``cost`` from the user's prepaid account (signed by the node's key)."""
        data = (request_id, Web3.to_checksum_address(user), cost, nonce, user_signature)
        digest = Web3.keccak(abi_encode(["(string,address,uint256,uint256,bytes)"], [data]))
        signature = _eth_sign(self.client.account.key, digest)
        return self.client.transact(self._process(kind).functions.settlementFees((signature, data)))

    def claim_node_earnings(self, kind: str) -> TxResult:
        return self.client.transact(self._process(kind).functions.claim())

    def account(self, kind: str, user: str, node: str) -> dict:
        user_address, node_address, nonce, balance, pending, _refunds = self._process(kind).functions.getAccount(
            Web3.to_checksum_address(user), Web3.to_checksum_address(node)).call()
        return {"user": user_address, "node": node_address, "nonce": nonce, "balance": balance,
                "pending_refund": pending}

    @staticmethod
    def _check(kind: str) -> str:
        if kind not in PROCESSES:
            raise SdkError(f"unknown AI process {kind!r}; use one of {', '.join(PROCESSES)}")
        return kind
