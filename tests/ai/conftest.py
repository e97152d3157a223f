"""Shared fixtures: the shipped model, a store, and an in-process chain with the AI contracts deployed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hyperion.ai.backends import InProcessBackend, address_of_key, dev_key
from hyperion.ai.digits import load_digits_model, sample_inputs
from hyperion.ai.sdk import AIClient
from hyperion.predeploys.plan import FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS

FUNDS = 10**24
VAULT = FEE_VAULT_ADDRESS  # the LazAI Holders Mining vault, predeployed in the backend's state
GOVERNOR = PROTOCOL_GOVERNOR_ADDRESS  # its staker-governed parameters set the fee split
WINDOW = 3_600
WORKER_BOND = 10**16


@pytest.fixture(scope="session")
def digits_model():
    return load_digits_model()


@pytest.fixture(scope="session")
def digits_inputs():
    return sample_inputs(40)


@dataclass
class World:
    backend: InProcessBackend
    client: AIClient
    keys: dict
    model: object

    def address(self, name: str) -> bytes:
        return address_of_key(self.keys[name])


@pytest.fixture
def world(digits_model) -> World:
    """AI contracts deployed, the digits model published and registered by ``owner`` (fee 1e15 wei)."""
    keys = {name: dev_key(name) for name in ("admin", "owner", "user", "requester", "worker", "challenger")}
    backend = lazai_backend(keys)
    client = AIClient.deploy(backend, keys["admin"], VAULT, GOVERNOR, challenge_window=WINDOW, worker_bond=WORKER_BOND)
    client.register_model(digits_model, name="digits", inference_fee=10**15, sender=keys["owner"])
    return World(backend, client, keys, digits_model)


def lazai_backend(keys: dict) -> InProcessBackend:
    """An in-process chain holding the predeploys (vault, governor, DAT, ModelStore) as the dev genesis does."""
    backend = InProcessBackend(funded={address_of_key(k): FUNDS for k in keys.values()})
    backend.install_predeploys(address_of_key(keys["admin"]))
    return backend
