"""The predeploys as genesis state: the alloc entries, a genesis file holding them, the dev chain's genesis.

Each contract's real Vyper constructor runs once, at its fixed address, in
a scratch in-memory state (``run_constructors``); the runtime code it
returns and the storage it wrote become the genesis alloc entry. So the
chain starts exactly as if deployment transactions had run, with no
``initialize()`` step to forget and no hand-computed storage slots. All
peers' addresses are fixed, so the result depends only on
``(chain_id, admin)`` and is cached.

The chain layer knows nothing of these contracts: the dev chain's genesis
is composed here (``add_to_dev_genesis``), above it, and handed down as
``ChainConfig.alloc``.
"""

from __future__ import annotations

import functools
import importlib
from typing import Iterable

from eth_abi import encode as abi_encode
from eth_utils.abi import collapse_if_tuple

from hyperion.artifacts import load_artifact
from hyperion.chain.hdwallet import dev_accounts
from hyperion.chain.schedule import genesis_config_for
from hyperion.predeploys.plan import FEE_VAULT_ADDRESS, Predeploy, predeploy_plan

_CONSTRUCTOR_GAS = 50_000_000


class GenesisBuildError(ValueError):
    """A predeploy's constructor failed while the genesis alloc was being built."""


def initcode(entry: Predeploy) -> bytes:
    """The contract's creation code followed by its ABI-encoded constructor arguments."""
    artifact = load_artifact(entry.contract)
    constructor = next((e for e in artifact["abi"] if e["type"] == "constructor"), {"inputs": []})
    types = [collapse_if_tuple(i) for i in constructor["inputs"]]
    return artifact["bytecode"] + abi_encode(types, list(entry.args))


def run_constructors(chain_id: int, deployer: bytes,
                     deployments: Iterable[tuple[str, bytes, bytes]]) -> dict[bytes, dict]:
    """Run each ``(name, address, initcode)`` as a CREATE by ``deployer`` in a fresh scratch state.

    Returns genesis alloc entries ``{address: {"code", "storage", "balance": 0,
    "nonce": 1}}``. ``deployer`` is the constructors' ``msg.sender``; it needs
    no balance, nothing is paid.
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
    for name, address, code in deployments:
        state.begin_transaction()
        context = TxContext(state, env, PRAGUE, deployer, 0)
        status, _gas_left, output = execute_create(context, deployer, address, 0, code, _CONSTRUCTOR_GAS, 0)
        state.end_transaction()
        if status != SUCCESS:
            raise GenesisBuildError(f"constructor of {name} failed: 0x{bytes(output).hex()}")
        alloc[address] = {"code": state.get_code(address), "storage": dict(state.get_storage_items(address)),
                          "balance": 0, "nonce": 1}
    return alloc


@functools.lru_cache(maxsize=8)
def _cached_alloc(chain_id: int, admin: bytes) -> tuple:
    plan = [(entry.name, entry.address, initcode(entry)) for entry in predeploy_plan(admin)]
    alloc = run_constructors(chain_id, admin, plan)
    return tuple((address, entry["code"], tuple(sorted(entry["storage"].items()))) for address, entry in alloc.items())


def predeploy_alloc(chain_id: int, admin: bytes) -> dict[bytes, dict]:
    """Genesis alloc entries ``{address: {"code", "storage", "balance", "nonce"}}`` of every predeploy.

    ``admin`` (20 bytes; dev account 0 on ``hyperion node``) receives the
    admin and maintainer roles. A fresh dict is returned on each call.
    """
    if not isinstance(admin, bytes) or len(admin) != 20:
        raise ValueError("admin must be a 20-byte address")
    if not isinstance(chain_id, int) or chain_id < 0:
        raise ValueError("chain id must be a non-negative integer")
    return {address: {"code": code, "storage": dict(storage), "balance": 0, "nonce": 1}
            for address, code, storage in _cached_alloc(chain_id, admin)}


def genesis_json(chain_id: int, admin: bytes, base: dict | None = None) -> dict:
    """A geth-style genesis document (``hyperion node --genesis FILE``) holding the predeploys.

    ``base`` (an existing genesis dict) is extended, not replaced; its own
    alloc entries win over the predeploys at the same address.
    """
    document = dict(base or {})
    config = dict(document.get("config") or {})
    dev_forks = genesis_config_for("Prague")
    if not any(key in config for key in dev_forks):  # the dev chain's forks unless ``base`` schedules its own
        config.update(dev_forks)
    # the chain's rule that the base fee goes to the Holders Mining vault, as on the dev chain
    document["config"] = dict(config, chainId=chain_id, baseFeeRecipient="0x" + FEE_VAULT_ADDRESS.hex())
    alloc = {
        "0x" + address.hex(): {
            "balance": hex(entry["balance"]), "nonce": hex(entry["nonce"]), "code": "0x" + entry["code"].hex(),
            "storage": {hex(slot): hex(value) for slot, value in entry["storage"].items()},
        }
        for address, entry in predeploy_alloc(chain_id, admin).items()
    }
    alloc.update(document.get("alloc") or {})
    document["alloc"] = alloc
    return document


def add_to_dev_genesis(config) -> None:
    """Make ``config`` (a ``ChainConfig``) the dev chain: predeploys in its alloc, base fee to the vault.

    Dev account 0 holds the admin and maintainer roles. Entries already in
    the alloc (e.g. from a ``--genesis`` file) at the same addresses win over
    the predeploys.
    """
    # the mnemonic's first account, also when no dev account is funded (--accounts 0)
    admin = dev_accounts(config.mnemonic, 1)[0][0]
    existing = {bytes.fromhex(a[2:]) if isinstance(a, str) else a for a in config.alloc}
    for address, entry in predeploy_alloc(config.chain_id, admin).items():
        if address not in existing:
            config.alloc[address] = entry
    config.base_fee_recipient = FEE_VAULT_ADDRESS
