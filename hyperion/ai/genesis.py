"""The AI system contracts of the dev genesis: ModelRegistry, InferenceGateway, InferenceJobs.

Like the LazAI predeploys (``hyperion.lazai.genesis``), each contract's real
Vyper constructor runs once, at its fixed address, in a scratch in-memory
state; the runtime code it returns and the storage it wrote become the
genesis alloc entry. So the chain starts exactly as if a deployment
transaction had run, with no ``initialize()`` step and no hand-computed
storage slots. The result depends only on ``(chain_id, admin)`` and is cached.

Wiring to the LazAI value layer (the issue's "registration anchors it as a
DAT class so that its usage pays its holders"):

* the registry's DAT is the predeployed ERC-8028 DAT (``DAT_ADDRESS``), whose
  ``createClass`` is open to anyone, so ``register`` creates the model's
  class from the first block (the registry is the class creator and makes
  the model owner a minter);
* the protocol share of every compute fee is credited to the Holders Mining
  vault (``FEE_VAULT_ADDRESS``); ``flush(vault)`` pushes it there;
* the producer share goes to ``block.coinbase`` (gateway) or the job's worker.

Addresses (Hyperion's own ``0x4200…0a1x`` range, after the inference
precompile ``0x…a1``; LazAI uses ``0x4200…0019``, ``…01da`` and ``…8028``):

========================  ==============================================
ModelRegistry             ``0x4200000000000000000000000000000000000a10``
InferenceGateway          ``0x4200000000000000000000000000000000000a11``
InferenceJobs             ``0x4200000000000000000000000000000000000a12``
========================  ==============================================
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, Iterable, NamedTuple

from hyperion.ai.errors import AIError
from hyperion.ai.sdk import (
    DEFAULT_CHALLENGE_WINDOW,
    DEFAULT_WORKER_BOND,
    contract_abi,
    load_artifact,
)
from hyperion.lazai.genesis import DAT_ADDRESS, FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS

MODEL_REGISTRY_ADDRESS = bytes.fromhex("4200000000000000000000000000000000000a10")
INFERENCE_GATEWAY_ADDRESS = bytes.fromhex("4200000000000000000000000000000000000a11")
INFERENCE_JOBS_ADDRESS = bytes.fromhex("4200000000000000000000000000000000000a12")

# Dev parameters (documented in docs/ai.md); the fee split is staker-governed (hyperion.lazai.params).
CHALLENGE_WINDOW = DEFAULT_CHALLENGE_WINDOW  # seconds a job result can be challenged
WORKER_BOND = DEFAULT_WORKER_BOND            # minimum worker bond (wei)

_CONSTRUCTOR_GAS = 50_000_000


class AIGenesisError(AIError):
    """A predeploy's constructor failed while the genesis alloc was being built."""


class Predeploy(NamedTuple):
    """One system contract: its display name, artifact, fixed address and constructor arguments."""

    name: str
    contract: str
    address: bytes
    args: tuple


def predeploy_plan(dat: bytes = DAT_ADDRESS, protocol_vault: bytes = FEE_VAULT_ADDRESS) -> list[Predeploy]:
    """The AI predeploys in deployment order (the registry's peers are fixed addresses)."""
    return [
        Predeploy("ModelRegistry", "ModelRegistry", MODEL_REGISTRY_ADDRESS,
                  (protocol_vault, PROTOCOL_GOVERNOR_ADDRESS, dat)),
        Predeploy("InferenceGateway", "InferenceGateway", INFERENCE_GATEWAY_ADDRESS, (MODEL_REGISTRY_ADDRESS,)),
        Predeploy("InferenceJobs", "InferenceJobs", INFERENCE_JOBS_ADDRESS,
                  (MODEL_REGISTRY_ADDRESS, CHALLENGE_WINDOW, WORKER_BOND)),
    ]


def run_constructors(chain_id: int, deployer: bytes,
                     deployments: Iterable[tuple[str, bytes, bytes]]) -> dict[bytes, dict]:
    """Run each ``(name, address, initcode)`` as a CREATE by ``deployer`` in a fresh scratch state.

    Returns genesis alloc entries ``{address: {"code", "storage", "balance": 0,
    "nonce": 1}}``. ``deployer`` is the constructor's ``msg.sender`` (the
    registry stores it as its admin); it needs no balance, nothing is paid.
    """
    importlib.import_module("hyperion.execution.transaction")  # loads the VM modules in their working order
    from hyperion.state.memory import MemoryState
    from hyperion.vm.environment import BlockEnv
    from hyperion.vm.forks import PRAGUE
    from hyperion.vm.frame import TxContext
    from hyperion.vm.interpreter import SUCCESS, execute_create

    state = MemoryState()
    env = BlockEnv(fork=PRAGUE, chain_id=chain_id, gas_limit=100_000_000)
    alloc: dict[bytes, dict] = {}
    for name, address, initcode in deployments:
        state.begin_transaction()
        context = TxContext(state, env, PRAGUE, deployer, 0)
        status, _gas_left, output = execute_create(context, deployer, address, 0, initcode, _CONSTRUCTOR_GAS, 0)
        state.end_transaction()
        if status != SUCCESS:
            raise AIGenesisError(f"constructor of {name} failed: 0x{bytes(output).hex()}")
        alloc[address] = {"code": state.get_code(address), "storage": dict(state.get_storage_items(address)),
                          "balance": 0, "nonce": 1}
    return alloc


def _initcode(entry: Predeploy) -> bytes:
    bytecode = bytes.fromhex(load_artifact(entry.contract)["bytecode"].removeprefix("0x"))
    return bytecode + contract_abi(entry.contract).encode_constructor(*entry.args)


@functools.lru_cache(maxsize=8)
def _cached_alloc(chain_id: int, admin: bytes) -> tuple:
    plan = [(entry.name, entry.address, _initcode(entry)) for entry in predeploy_plan()]
    alloc = run_constructors(chain_id, admin, plan)
    return tuple((address, entry["code"], tuple(sorted(entry["storage"].items())))
                 for address, entry in alloc.items())


def ai_genesis_alloc(chain_id: int, admin: bytes) -> dict[bytes, dict]:
    """Genesis alloc entries ``{address: {"code", "storage", "balance", "nonce"}}`` of the AI predeploys.

    ``admin`` (20 bytes; dev account 0 on ``hyperion node``) becomes the
    registry's admin (fee split, protocol vault). A fresh dict on each call.
    """
    if not isinstance(admin, bytes) or len(admin) != 20:
        raise ValueError("admin must be a 20-byte address")
    if not isinstance(chain_id, int) or chain_id < 0:
        raise ValueError("chain id must be a non-negative integer")
    return {address: {"code": code, "storage": dict(storage), "balance": 0, "nonce": 1}
            for address, code, storage in _cached_alloc(chain_id, admin)}


def ai_contracts_manifest() -> list[dict[str, Any]]:
    """``[{"name", "address", "contract", "abi"}]`` of the AI predeploys, as ``hyperion contracts`` lists them."""
    return [{"name": entry.name, "address": "0x" + entry.address.hex(), "contract": entry.contract,
             "abi": load_artifact(entry.contract)["abi"]} for entry in predeploy_plan()]


def ai_address_of(name: str) -> bytes:
    """The fixed address of AI predeploy ``name`` ("ModelRegistry", "InferenceGateway", "InferenceJobs")."""
    for entry in predeploy_plan():
        if entry.name == name:
            return entry.address
    raise KeyError(f"no AI predeploy named {name!r}")
