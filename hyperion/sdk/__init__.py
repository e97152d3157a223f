"""Python SDK for Hyperion's LazAI value layer, on web3.py.

    from hyperion.sdk import connect
    lazai = connect("http://127.0.0.1:8545", private_key)
    class_id = lazai.dat.create_class("ipfs://dataset")
    lazai.staking.stake(10**18)
"""

from __future__ import annotations

from dataclasses import dataclass

from hyperion.sdk.client import DEFAULT_RPC_URL, HyperionClient, TxResult
from hyperion.sdk.dat import ETH_ASSET, DatClient, metric
from hyperion.sdk.data import DataClient, sign_proof, signed
from hyperion.sdk.errors import SdkError, TransactionFailed
from hyperion.sdk.governance import GovernanceClient
from hyperion.sdk.idao import IDAOClient
from hyperion.sdk.proposals import Call
from hyperion.sdk.settlement import SettlementClient, sign_request
from hyperion.sdk.staking import StakingClient


@dataclass
class LazAI:
    """All helpers over one connection and key."""

    client: HyperionClient
    dat: DatClient
    data: DataClient
    idao: IDAOClient
    staking: StakingClient
    settlement: SettlementClient
    governance: GovernanceClient


def connect(rpc_url: str = DEFAULT_RPC_URL, private_key: str | bytes | None = None, **kwargs) -> LazAI:
    client = HyperionClient(rpc_url, private_key, **kwargs)
    return LazAI(client, DatClient(client), DataClient(client), IDAOClient(client), StakingClient(client),
                 SettlementClient(client), GovernanceClient(client))


__all__ = [
    "connect", "LazAI", "HyperionClient", "TxResult", "DatClient", "DataClient", "IDAOClient", "StakingClient",
    "SettlementClient", "GovernanceClient", "Call", "SdkError", "TransactionFailed", "ETH_ASSET", "metric",
    "sign_proof", "signed", "sign_request", "DEFAULT_RPC_URL",
]
