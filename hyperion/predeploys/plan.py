"""Which system contracts a Hyperion dev chain predeploys, where, and with which constructor arguments.

Addresses. The LazAI-compatible contracts sit where alith's
``ContractConfig.local()`` expects them, on every chain id (so
``alith.lazai.Client`` works against a ``--chain-id 133718`` node with
``LAZAI_LOCAL_CHAIN=1``). The ERC-8028 DAT, the iDAO registry and the fee
vault (HoldersMining) use Hyperion's own ``0x4200…`` addresses, and the AI
contracts Hyperion's ``0x4200…0a1x`` range, after the inference precompile
``0x…a1``:

========================  ==============================================
HoldersMining (fee vault) ``0x4200000000000000000000000000000000000019``
DAT (ERC-8028)            ``0x4200000000000000000000000000000000008028``
IDAORegistry              ``0x42000000000000000000000000000000000001da``
IDAOExecutor (impl.)      ``0x42000000000000000000000000000000000001db``
ProtocolGovernor          ``0x4200000000000000000000000000000000000600``
ModelRegistry             ``0x4200000000000000000000000000000000000a10``
InferenceGateway          ``0x4200000000000000000000000000000000000a11``
InferenceJobs             ``0x4200000000000000000000000000000000000a12``
ModelStore                ``0x4200000000000000000000000000000000000a13``
========================  ==============================================

Wiring. The model registry's DAT is the predeployed DAT, whose
``createClass`` is open to anyone, so registering a model creates its DAT
class from the first block; the protocol share of every compute fee is
deposited into the Holders Mining vault. Every rate and floor is a
ProtocolGovernor parameter (``hyperion.lazai.params``): only stakers change
them. Other dev parameters are documented in docs/lazai.md and docs/ai.md.
"""

from __future__ import annotations

from typing import NamedTuple

from hyperion.artifacts import load_artifact
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
MODEL_REGISTRY_ADDRESS = _addr("0x4200000000000000000000000000000000000a10")
INFERENCE_GATEWAY_ADDRESS = _addr("0x4200000000000000000000000000000000000a11")
INFERENCE_JOBS_ADDRESS = _addr("0x4200000000000000000000000000000000000a12")
MODEL_STORE_ADDRESS = _addr("0x4200000000000000000000000000000000000a13")

# LazAI dev parameters (docs/lazai.md); the staker-governed ones are in hyperion.lazai.params
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
# AI dev parameters (docs/ai.md); the fee split is staker-governed (fees.inference*Bps)
CHALLENGE_WINDOW = 3_600         # seconds a job result can be challenged
WORKER_BOND = 10**16             # minimum worker bond (wei)
MOVE_WINDOW = 600                # seconds each side of a job dispute has for its next move


class Predeploy(NamedTuple):
    """One system contract: its display name, artifact, fixed address and constructor arguments."""

    name: str
    contract: str
    address: bytes
    args: tuple


def predeploy_plan(admin: bytes) -> list[Predeploy]:
    """Every predeploy in deployment order; ``admin`` gets the admin and maintainer roles."""
    to_vault = (admin, SETTLEMENT_ADDRESS, FEE_VAULT_ADDRESS, REFUND_LOCK_TIME)
    params = PROTOCOL_PARAMS
    return [
        Predeploy("ProtocolGovernor", "ProtocolGovernor", PROTOCOL_GOVERNOR_ADDRESS,
                  (FEE_VAULT_ADDRESS, [param_key(p.name) for p in params], [p.default for p in params],
                   [p.minimum for p in params], [p.maximum for p in params])),
        Predeploy("HoldersMining", "HoldersMining", FEE_VAULT_ADDRESS,
                  (PROTOCOL_GOVERNOR_ADDRESS, VERIFIED_COMPUTING_ADDRESS, EPOCH_LENGTH, UNSTAKE_DELAY)),
        # class 1 (data contributions) is managed by staker governance and minted by the DataRegistry
        Predeploy("DAT", "DAT", DAT_ADDRESS,
                  (admin, PROTOCOL_GOVERNOR_ADDRESS, [DATA_REGISTRY_ADDRESS], DATA_CLASS_METADATA_URI,
                   DATA_CLASS_POLICY_URI, IDAO_REGISTRY_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS,
                   DATA_ANCHORING_TOKEN_ADDRESS)),
        Predeploy("IDAOExecutor", "IDAOExecutor", IDAO_EXECUTOR_ADDRESS, ()),
        Predeploy("IDAORegistry", "IDAORegistry", IDAO_REGISTRY_ADDRESS,
                  (PROTOCOL_GOVERNOR_ADDRESS, VERIFIED_COMPUTING_ADDRESS, IDAO_EXECUTOR_ADDRESS, IDAO_REVENUE_EPOCH)),
        Predeploy("VerifiedComputing", "VerifiedComputing", VERIFIED_COMPUTING_ADDRESS,
                  (admin, FEE_VAULT_ADDRESS, IDAO_REGISTRY_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS, DATA_REGISTRY_ADDRESS)),
        Predeploy("DataAnchoringToken", "DataAnchoringToken", DATA_ANCHORING_TOKEN_ADDRESS,
                  (admin, DAT_ADDRESS, DATA_REGISTRY_ADDRESS)),
        Predeploy("DataRegistry", "DataRegistry", DATA_REGISTRY_ADDRESS,
                  (admin, VERIFIED_COMPUTING_ADDRESS, DATA_ANCHORING_TOKEN_ADDRESS, DAT_ADDRESS, 1,
                   DATA_REGISTRY_PUBLIC_KEY, PROTOCOL_GOVERNOR_ADDRESS, FEE_VAULT_ADDRESS)),
        Predeploy("Query", "AIProcess", QUERY_ADDRESS, to_vault),
        Predeploy("Inference", "AIProcess", INFERENCE_ADDRESS, to_vault),
        Predeploy("Training", "AIProcess", TRAINING_ADDRESS, to_vault),
        Predeploy("Settlement", "Settlement", SETTLEMENT_ADDRESS,
                  (admin, QUERY_ADDRESS, INFERENCE_ADDRESS, TRAINING_ADDRESS)),
        Predeploy("ModelStore", "ModelStore", MODEL_STORE_ADDRESS, ()),
        Predeploy("ModelRegistry", "ModelRegistry", MODEL_REGISTRY_ADDRESS,
                  (FEE_VAULT_ADDRESS, PROTOCOL_GOVERNOR_ADDRESS, DAT_ADDRESS, MODEL_STORE_ADDRESS)),
        Predeploy("InferenceGateway", "InferenceGateway", INFERENCE_GATEWAY_ADDRESS, (MODEL_REGISTRY_ADDRESS,)),
        Predeploy("InferenceJobs", "InferenceJobs", INFERENCE_JOBS_ADDRESS,
                  (MODEL_REGISTRY_ADDRESS, CHALLENGE_WINDOW, WORKER_BOND, MOVE_WINDOW)),
    ]


def contracts_manifest() -> list[dict]:
    """``[{"name", "address" (0x hex), "contract", "abi"}]`` of every predeploy, for ``hyperion contracts``."""
    return [{"name": entry.name, "address": "0x" + entry.address.hex(), "contract": entry.contract,
             "abi": load_artifact(entry.contract)["abi"]} for entry in predeploy_plan(b"\0" * 20)]


def address_of(name: str) -> bytes:
    """The fixed address of predeploy ``name`` (e.g. "DAT", "HoldersMining", "ModelRegistry")."""
    for entry in predeploy_plan(b"\0" * 20):
        if entry.name == name:
            return entry.address
    raise KeyError(f"no predeploy named {name!r}")
