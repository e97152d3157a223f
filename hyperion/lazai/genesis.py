"""The LazAI predeploys of the dev genesis: fixed addresses, code and initial storage.

Storage choice: each contract's real Vyper constructor is executed once, at
its fixed address, in a scratch in-memory state (``_deploy_all``); the code it
returns and the storage it wrote become the genesis alloc entry. This gives
exactly the state a deployment transaction would have produced, with no
``initialize()`` to forget and no hand-computed storage slots. Constructors
take the admin and the peer addresses as arguments (never ``msg.sender``), and
all peers' addresses are fixed, so the result depends only on
``(chain_id, admin)`` and is cached.

Addresses: the LazAI-compatible contracts sit where alith's
``ContractConfig.local()`` expects them, on every chain id (so
``alith.lazai.Client`` works against a ``--chain-id 133718`` node with
``LAZAI_LOCAL_CHAIN=1``); the ERC-8028 DAT, the iDAO registry and the fee
vault (HoldersMining) use Hyperion's own 0x4200... addresses below.
"""

from __future__ import annotations

import functools
import importlib

from hyperion.lazai.artifacts_store import load_artifact
from hyperion.lazai.params import PROTOCOL_PARAMS, param_key

LAZAI_CHAIN_ID = 133718


def _addr(hex_address: str) -> bytes:
    return bytes.fromhex(hex_address.removeprefix("0x"))


# alith.lazai.contracts DEFAULT_*_CONTRACT_ADDRESS (local devnet)
DATA_REGISTRY_ADDRESS = _addr("0xEAd077726dC83ecF385e3763ed4A0A50E8Ac5AA0")
VERIFIED_COMPUTING_ADDRESS = _addr("0x815da22D880E3560bCEcc85b6e4938b30c8202C4")
DATA_ANCHORING_TOKEN_ADDRESS = _addr("0x2eD344c586303C98FC3c6D5B42C5616ED42f9D9d")
QUERY_ADDRESS = _addr("0xE747fd70269a8a540403ddE802D6906CB18C9F50")
INFERENCE_ADDRESS = _addr("0xbb969eaafB3A7124b8dCdf9a6d5Cd5BAa0381361")
TRAINING_ADDRESS = _addr("0xb578AB78bb4780D9007Cc836b358468467814B3E")
SETTLEMENT_ADDRESS = _addr("0xBE94646A0C6C1032c289Eea47169798e09dB5299")
# Hyperion's own
FEE_VAULT_ADDRESS = _addr("0x4200000000000000000000000000000000000019")  # HoldersMining
DAT_ADDRESS = _addr("0x4200000000000000000000000000000000008028")        # ERC-8028 DAT
IDAO_REGISTRY_ADDRESS = _addr("0x42000000000000000000000000000000000001da")
IDAO_EXECUTOR_ADDRESS = _addr("0x42000000000000000000000000000000000001db")  # implementation of iDAO executors
PROTOCOL_GOVERNOR_ADDRESS = _addr("0x4200000000000000000000000000000000000600")

# Dev parameters (documented in docs/lazai.md); the staker-governed ones are in hyperion.lazai.params
EPOCH_LENGTH = 60                # seconds between Holders Mining distributions
UNSTAKE_DELAY = 600              # seconds from requestUnstake to withdraw
IDAO_REVENUE_EPOCH = 60          # seconds: iDAO stake earns member revenue from the next epoch on
REFUND_LOCK_TIME = 0             # AIProcess refund delay
DATA_CLASS_METADATA_URI = "lazai://classes/data-contributions"
DATA_CLASS_POLICY_URI = "lazai://policies/data-contributions-v1"
DATA_REGISTRY_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAobVPZXxVbqeiO1D/+JLr\n"
    "2pev9pdbLe5N9RqRdF17/ios9yrQnG2LdtcqNfPvIWl5ztomQoqpZ5XPy+cgBQrn\n"
    "lP1Wsr1Dyt6m4dI1wX/lGADFZdDBAPvs2S++6pWV7id/oPNn8HKYvfUETvGs7LL0\n"
    "jYxF21AXr+emsfHGHsav2S3EJmam99nAh4/6VknD5TenlqDnWsxb8z40WbbG3Mun\n"
    "BYXFN8lcL+d6czb1mtQmUgdRUuk6kj3Ahv+5JZV0WXo2vg690srvatm2RrbWS574\n"
    "EtBLDI/6nSWmJ78trnyuepN5XBUdlh5D0tU5VxhYS1ZooKMe04w+VP/Edc4uP3RS\n"
    "VwIDAQAB\n"
    "-----END PUBLIC KEY-----\n"
)
# msg.sender of the genesis constructors; constructors never store it
_GENESIS_DEPLOYER = _addr("0x4200000000000000000000000000000000000000")


class GenesisBuildError(ValueError):
    """A predeploy's constructor failed while building the genesis alloc."""


def _static_word(arg: int | bytes) -> bytes:
    if isinstance(arg, bool) or not isinstance(arg, (int, bytes)):
        raise TypeError(f"unsupported constructor argument {arg!r}")
    if isinstance(arg, int):
        if arg < 0 or arg >= 2**256:
            raise ValueError(f"uint argument out of range: {arg}")
        return arg.to_bytes(32, "big")
    if len(arg) == 20:
        return arg.rjust(32, b"\0")
    if len(arg) == 32:
        return arg
    raise ValueError(f"address argument must be 20 bytes (or a 32-byte word), got {len(arg)}")


def encode_constructor_args(*args: int | bytes | str | list) -> bytes:
    """ABI-encode constructor arguments: ints (uint), 20-byte addresses, 32-byte words, strings,
    and lists of the static kinds (dynamic arrays)."""
    heads: list[bytes] = []
    tails: list[bytes] = []
    tail_offset = 32 * len(args)
    for arg in args:
        if isinstance(arg, (str, list)):
            if isinstance(arg, str):
                data = arg.encode()
                tail = len(data).to_bytes(32, "big") + data + b"\0" * (-len(data) % 32)
            else:
                tail = len(arg).to_bytes(32, "big") + b"".join(_static_word(item) for item in arg)
            heads.append(tail_offset.to_bytes(32, "big"))
            tails.append(tail)
            tail_offset += len(tail)
        else:
            heads.append(_static_word(arg))
    return b"".join(heads) + b"".join(tails)


def predeploy_plan(admin: bytes) -> list[tuple[str, str, bytes, tuple]]:
    """(display name, artifact name, address, constructor args), in deployment order."""
    params = PROTOCOL_PARAMS
    return [
        ("ProtocolGovernor", "ProtocolGovernor", PROTOCOL_GOVERNOR_ADDRESS,
         (FEE_VAULT_ADDRESS, [param_key(p.name) for p in params], [p.default for p in params],
          [p.minimum for p in params], [p.maximum for p in params])),
        ("HoldersMining", "HoldersMining", FEE_VAULT_ADDRESS,
         (PROTOCOL_GOVERNOR_ADDRESS, VERIFIED_COMPUTING_ADDRESS, EPOCH_LENGTH, UNSTAKE_DELAY)),
        ("DAT", "DAT", DAT_ADDRESS,
         (admin, PROTOCOL_GOVERNOR_ADDRESS, [DATA_REGISTRY_ADDRESS], DATA_CLASS_METADATA_URI, DATA_CLASS_POLICY_URI,
          IDAO_REGISTRY_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS, DATA_ANCHORING_TOKEN_ADDRESS)),
        ("IDAOExecutor", "IDAOExecutor", IDAO_EXECUTOR_ADDRESS, ()),
        ("IDAORegistry", "IDAORegistry", IDAO_REGISTRY_ADDRESS,
         (PROTOCOL_GOVERNOR_ADDRESS, VERIFIED_COMPUTING_ADDRESS, IDAO_EXECUTOR_ADDRESS, IDAO_REVENUE_EPOCH)),
        ("VerifiedComputing", "VerifiedComputing", VERIFIED_COMPUTING_ADDRESS,
         (admin, FEE_VAULT_ADDRESS, IDAO_REGISTRY_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS, DATA_REGISTRY_ADDRESS)),
        ("DataAnchoringToken", "DataAnchoringToken", DATA_ANCHORING_TOKEN_ADDRESS,
         (admin, DAT_ADDRESS, DATA_REGISTRY_ADDRESS)),
        ("DataRegistry", "DataRegistry", DATA_REGISTRY_ADDRESS,
         (admin, VERIFIED_COMPUTING_ADDRESS, DATA_ANCHORING_TOKEN_ADDRESS, DAT_ADDRESS, 1, DATA_REGISTRY_PUBLIC_KEY,
          PROTOCOL_GOVERNOR_ADDRESS, FEE_VAULT_ADDRESS)),
        ("Query", "AIProcess", QUERY_ADDRESS, (admin, SETTLEMENT_ADDRESS, FEE_VAULT_ADDRESS, REFUND_LOCK_TIME)),
        ("Inference", "AIProcess", INFERENCE_ADDRESS, (admin, SETTLEMENT_ADDRESS, FEE_VAULT_ADDRESS, REFUND_LOCK_TIME)),
        ("Training", "AIProcess", TRAINING_ADDRESS, (admin, SETTLEMENT_ADDRESS, FEE_VAULT_ADDRESS, REFUND_LOCK_TIME)),
        ("Settlement", "Settlement", SETTLEMENT_ADDRESS, (admin, QUERY_ADDRESS, INFERENCE_ADDRESS, TRAINING_ADDRESS)),
    ]


def _deploy_all(chain_id: int, admin: bytes) -> dict[bytes, dict]:
    importlib.import_module("hyperion.execution.transaction")  # loads the VM modules in their working order
    from hyperion.state.memory import MemoryState
    from hyperion.vm.environment import BlockEnv
    from hyperion.vm.forks import PRAGUE
    from hyperion.vm.frame import TxContext
    from hyperion.vm.interpreter import SUCCESS, execute_create

    state = MemoryState()
    env = BlockEnv(fork=PRAGUE, chain_id=chain_id, gas_limit=100_000_000)
    alloc: dict[bytes, dict] = {}
    for display, artifact_name, address, args in predeploy_plan(admin):
        initcode = load_artifact(artifact_name)["bytecode"] + encode_constructor_args(*args)
        state.begin_transaction()
        ctx = TxContext(state, env, PRAGUE, _GENESIS_DEPLOYER, 0)
        status, _gas_left, output = execute_create(ctx, _GENESIS_DEPLOYER, address, 0, initcode, 50_000_000, 0)
        state.end_transaction()
        if status != SUCCESS:
            raise GenesisBuildError(f"constructor of {display} failed: 0x{output.hex()}")
        alloc[address] = {
            "code": state.get_code(address),
            "storage": dict(state.get_storage_items(address)),
            "balance": 0,
            "nonce": 1,
        }
    return alloc


@functools.lru_cache(maxsize=8)
def _cached_alloc(chain_id: int, admin: bytes) -> tuple:
    alloc = _deploy_all(chain_id, admin)
    return tuple((address, entry["code"], tuple(sorted(entry["storage"].items()))) for address, entry in alloc.items())


def lazai_genesis_alloc(chain_id: int, admin: bytes) -> dict[bytes, dict]:
    """Genesis alloc entries ``{address: {"code", "storage", "balance", "nonce"}}`` for every predeploy.

    ``admin`` (20 bytes; dev account 0 in the dev genesis) receives the admin
    and maintainer roles. A fresh dict is returned on each call.
    """
    if not isinstance(admin, bytes) or len(admin) != 20:
        raise ValueError("admin must be a 20-byte address")
    if chain_id < 0:
        raise ValueError("chain id must be non-negative")
    return {
        address: {"code": code, "storage": dict(storage), "balance": 0, "nonce": 1}
        for address, code, storage in _cached_alloc(chain_id, admin)
    }


def lazai_genesis_json(chain_id: int, admin: bytes, base: dict | None = None) -> dict:
    """A geth-style genesis document (``hyperion node --genesis FILE``) holding the predeploys.

    ``base`` (an existing genesis dict) is extended, not replaced; its own
    alloc entries win over the predeploys at the same address.
    """
    document = dict(base or {})
    document.setdefault("config", {})
    document["config"] = dict(document["config"], chainId=chain_id)
    alloc = {
        "0x" + address.hex(): {
            "balance": hex(entry["balance"]), "nonce": hex(entry["nonce"]), "code": "0x" + entry["code"].hex(),
            "storage": {hex(slot): hex(value) for slot, value in entry["storage"].items()},
        }
        for address, entry in lazai_genesis_alloc(chain_id, admin).items()
    }
    alloc.update(document.get("alloc") or {})
    document["alloc"] = alloc
    return document


def contracts_manifest() -> list[dict]:
    """``[{"name", "address" (0x checksum-less hex), "abi"}]`` for ``hyperion contracts`` and clients."""
    return [
        {"name": display, "address": "0x" + address.hex(), "contract": artifact_name,
         "abi": load_artifact(artifact_name)["abi"]}
        for display, artifact_name, address, _args in predeploy_plan(b"\0" * 20)
    ]


def address_of(name: str) -> bytes:
    """The fixed address of predeploy ``name`` (e.g. "DAT", "HoldersMining", "Query")."""
    for display, _artifact, address, _args in predeploy_plan(b"\0" * 20):
        if display == name:
            return address
    raise KeyError(f"no predeploy named {name!r}")
