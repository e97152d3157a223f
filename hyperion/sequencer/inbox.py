"""The batch inbox of a staked sequencer set: only active staked sequencers may post batches.

``deploy_batcher_authority`` deploys ``StakedBatcherAuthority`` (an
``isAuthorizedBatcher(sender)`` view answering SequencerStaking's
``isActive(sender)``) and ``use_batcher_authority`` points the inbox at it
(``BatchInbox.setBatcherAuthority``, owner only). The rollup config's
``batcher_authority`` names the same contract, so derivation asks it too.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3

from hyperion.artifacts import load_artifact
from hyperion.rollup.l1.transact import ContractReverted, Sender


def deploy_batcher_authority(w3: Web3, deployer: Any, staking: str) -> str:
    artifact = load_artifact("StakedBatcherAuthority")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = Sender(w3, deployer).send({"to": None, "data": factory.constructor(
        Web3.to_checksum_address(staking)).data_in_transaction})
    if not receipt["contractAddress"]:
        raise ContractReverted("deploying StakedBatcherAuthority created no contract", receipt)
    return Web3.to_checksum_address(receipt["contractAddress"])


def use_batcher_authority(w3: Web3, inbox_owner: Any, inbox: str, authority: str) -> None:
    """Make the inbox accept batches only from whoever ``authority`` authorizes."""
    contract = w3.eth.contract(address=Web3.to_checksum_address(inbox), abi=load_artifact("BatchInbox")["abi"])
    Sender(w3, inbox_owner).transact(contract.functions.setBatcherAuthority(Web3.to_checksum_address(authority)))
