"""Shared fixtures: the shipped model, and a chain in this process with the AI contracts deployed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account import Account

from hyperion.ai.digits import load_digits_model, sample_inputs
from hyperion.predeploys.plan import FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS
from hyperion.primitives.keccak import keccak256
from hyperion.sdk import AIClient, HyperionClient
from hyperion.sdk.inprocess import InProcessNode

FUNDS = 10**24
VAULT = FEE_VAULT_ADDRESS  # the LazAI Holders Mining vault, predeployed on the chain
GOVERNOR = PROTOCOL_GOVERNOR_ADDRESS  # its staker-governed parameters set the fee split
WINDOW = 3_600
WORKER_BOND = 10**16


def dev_key(label: str) -> bytes:
    """A deterministic test key (never use for real funds)."""
    return keccak256(f"hyperion-ai-dev/{label}".encode())


def address_of_key(key: bytes) -> str:
    return Account.from_key(key).address


@pytest.fixture(scope="session")
def digits_model():
    return load_digits_model()


@pytest.fixture(scope="session")
def digits_inputs():
    return sample_inputs(40)


@dataclass
class World:
    node: InProcessNode
    client: AIClient
    keys: dict
    model: object

    def address(self, name: str) -> str:
        return address_of_key(self.keys[name])

    @property
    def sdk(self) -> HyperionClient:
        return self.client.client


@pytest.fixture
def world(digits_model):
    """AI contracts deployed, the digits model published and registered by ``owner`` (fee 1e15 wei)."""
    keys = {name: dev_key(name) for name in ("admin", "owner", "user", "requester", "worker", "challenger")}
    node = InProcessNode(funded={address_of_key(k): FUNDS for k in keys.values()})
    try:
        client = AIClient.deploy(HyperionClient(web3=node.w3, private_key=keys["admin"]), VAULT, GOVERNOR,
                                 challenge_window=WINDOW, worker_bond=WORKER_BOND)
        client.register_model(digits_model, name="digits", inference_fee=10**15, sender=keys["owner"])
        yield World(node, client, keys, digits_model)
    finally:
        node.close()
