"""Shared fixtures: the shipped model, a store, and an in-process chain with the AI contracts deployed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hyperion.ai.backends import InProcessBackend, address_of_key, dev_key
from hyperion.ai.digits import load_digits_model, sample_inputs
from hyperion.ai.sdk import AIClient
from hyperion.ai.store import MemoryModelStore
from hyperion.predeploys.genesis import predeploy_alloc
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
    store: MemoryModelStore
    keys: dict
    model: object

    def address(self, name: str) -> bytes:
        return address_of_key(self.keys[name])


@pytest.fixture
def world(digits_model) -> World:
    """AI contracts deployed, the digits model registered by ``owner`` (fee 1e15 wei)."""
    store = MemoryModelStore()
    keys = {name: dev_key(name) for name in ("admin", "owner", "user", "requester", "worker", "challenger")}
    backend = lazai_backend(store, keys)
    client = AIClient.deploy(backend, keys["admin"], VAULT, GOVERNOR, challenge_window=WINDOW, worker_bond=WORKER_BOND)
    client.register_model(digits_model, store, name="digits", inference_fee=10**15, sender=keys["owner"])
    return World(backend, client, store, keys, digits_model)


def lazai_backend(store, keys: dict) -> InProcessBackend:
    """An in-process chain holding the LazAI predeploys (vault, governor, DAT) as the dev genesis does."""
    backend = InProcessBackend(store, funded={address_of_key(k): FUNDS for k in keys.values()})
    for address, entry in predeploy_alloc(backend.chain_id, address_of_key(keys["admin"])).items():
        backend.state.set_account(address, nonce=entry["nonce"], balance=entry["balance"], code=entry["code"],
                                  storage=entry["storage"])
    return backend
