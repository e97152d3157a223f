"""Python SDK for a Hyperion node, on web3.py: the LazAI value layer and the AI contracts.

    from hyperion.sdk import connect
    hyperion = connect("http://127.0.0.1:8545", private_key)
    class_id = hyperion.dat.create_class("ipfs://dataset")
    hyperion.staking.stake(10**18)
    output = hyperion.ai.infer(model_hash, input_bytes)

The node can also be a dev chain in this process:
``connect(web3=InProcessNode(...).w3, private_key=key)`` (``hyperion.sdk.inprocess``).
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperion.sdk.ai import AIClient, Deployment, JobInfo, ModelInfo
from hyperion.sdk.client import DEFAULT_RPC_URL, HyperionClient, TxResult, check_rpc_url
from hyperion.sdk.dat import ETH_ASSET, DatClient, metric
from hyperion.sdk.data import DataClient, sign_proof, signed
from hyperion.sdk.errors import InvalidRpcUrl, SdkError, TransactionFailed
from hyperion.sdk.governance import GovernanceClient
from hyperion.sdk.idao import IDAOClient
from hyperion.sdk.proposals import Call
from hyperion.sdk.settlement import SettlementClient, sign_request
from hyperion.sdk.staking import StakingClient


@dataclass
class Hyperion:
    """Every helper over one connection and key."""

    client: HyperionClient
    dat: DatClient
    data: DataClient
    idao: IDAOClient
    staking: StakingClient
    settlement: SettlementClient
    governance: GovernanceClient
    ai: AIClient


def connect(rpc_url: str = DEFAULT_RPC_URL, private_key: str | bytes | None = None, **kwargs) -> Hyperion:
    """Every helper over one node (``rpc_url``, or ``web3=`` any web3 instance) and signing key."""
    client = HyperionClient(rpc_url, private_key, **kwargs)
    return Hyperion(client, DatClient(client), DataClient(client), IDAOClient(client), StakingClient(client),
                    SettlementClient(client), GovernanceClient(client), AIClient(client))


__all__ = [
    "connect", "Hyperion", "HyperionClient", "TxResult", "DatClient", "DataClient", "IDAOClient", "StakingClient",
    "SettlementClient", "GovernanceClient", "Call", "AIClient", "Deployment", "ModelInfo", "JobInfo", "SdkError",
    "TransactionFailed", "InvalidRpcUrl", "ETH_ASSET", "metric", "sign_proof", "signed", "sign_request",
    "DEFAULT_RPC_URL", "check_rpc_url",
]
