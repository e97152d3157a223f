"""Deploy the rollup's L1 contracts (OutputOracle, ThresholdResolver, Portal, BatchInbox) on an L1.

``deploy_rollup_contracts(w3, deployer, config)`` sends four creations from
``deployer`` and returns their addresses as an ``L1Deployment`` (JSON-able,
for the rollup config the nodes read). The oracle needs the resolver's
address and the resolver the oracle's, so the resolver's address is
computed from the deployer's nonce before either exists, and checked after.
Every parameter is set here and afterwards only by ``config.owner``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from web3 import Web3

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.artifacts import load_artifact
from hyperion.rollup.l1.transact import Sender

DAY = 24 * 3600


@dataclass(frozen=True)
class RollupL1Config:
    """Deploy-time parameters (docs/rollup.md, "Parameters"). Addresses as 0x strings."""

    owner: str
    proposer: str
    batcher: str
    resolver_members: tuple[str, ...]
    resolver_threshold: int
    submission_interval: int = 120            # L2 blocks between output roots
    finalization_period_seconds: int = 7 * DAY  # challenge window
    proposer_bond: int = 10**17               # wei, per output
    challenger_bond: int = 10**17             # wei, per challenge
    move_timeout: int = DAY                   # seconds a party has for each bisection move
    starting_block_number: int = 0            # the L2 block the first output counts from
    starting_output_root: bytes = b"\0" * 32  # its output root (agreed by every dispute over output 0)
    max_deposit_gas: int = 10_000_000         # L2 gas one deposit may buy
    max_deposit_gas_per_block: int = 20_000_000  # L2 gas all deposits of one L1 block may buy

    def __post_init__(self) -> None:
        if not 1 <= self.resolver_threshold <= len(self.resolver_members):
            raise ValueError("resolver_threshold must be between 1 and the number of resolver members")
        if self.submission_interval < 1 or self.move_timeout < 1:
            raise ValueError("submission_interval and move_timeout must be positive")
        if len(self.starting_output_root) != 32:
            raise ValueError("starting_output_root must be 32 bytes")


@dataclass(frozen=True)
class L1Deployment:
    """Where the rollup's L1 contracts live."""

    chain_id: int
    output_oracle: str
    resolver: str
    portal: str
    batch_inbox: str
    deploy_block: int
    deployer: str = ""
    transactions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "L1Deployment":
        return cls(**json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "L1Deployment":
        return cls.from_json(Path(path).read_text())


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from ``sender`` at ``nonce`` makes."""
    raw = bytes.fromhex(sender.removeprefix("0x"))
    return Web3.to_checksum_address(keccak256(rlp.encode([raw, nonce]))[12:])


def _deploy(w3: Web3, sender: Sender, name: str, *args: Any) -> tuple[str, str]:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = sender.send({"data": factory.constructor(*args).data_in_transaction, "to": None})
    address = receipt["contractAddress"]
    if not address:
        raise RuntimeError(f"deploying {name} created no contract")
    return Web3.to_checksum_address(address), receipt["transactionHash"].hex()


def deploy_rollup_contracts(w3: Web3, deployer: Any, config: RollupL1Config) -> L1Deployment:
    """Deploy the four L1 contracts from ``deployer`` (a key, a LocalAccount or an unlocked address)."""
    sender = deployer if isinstance(deployer, Sender) else Sender(w3, deployer)
    checksum = Web3.to_checksum_address
    nonce = w3.eth.get_transaction_count(sender.address, "pending")
    predicted_resolver = create_address(sender.address, nonce + 1)
    txs: dict[str, str] = {}
    oracle, txs["OutputOracle"] = _deploy(
        w3, sender, "OutputOracle", checksum(config.owner), checksum(config.proposer), predicted_resolver,
        config.submission_interval, config.finalization_period_seconds, config.proposer_bond,
        config.challenger_bond, config.move_timeout, config.starting_block_number, config.starting_output_root)
    resolver, txs["ThresholdResolver"] = _deploy(
        w3, sender, "ThresholdResolver", checksum(config.owner), oracle,
        [checksum(m) for m in config.resolver_members], config.resolver_threshold)
    if resolver != predicted_resolver:
        raise RuntimeError(f"resolver landed at {resolver}, not the predicted {predicted_resolver} "
                           "(another transaction from the deployer interleaved): redeploy")
    portal, txs["Portal"] = _deploy(w3, sender, "Portal", checksum(config.owner), oracle, config.max_deposit_gas,
                                    config.max_deposit_gas_per_block)
    inbox, txs["BatchInbox"] = _deploy(w3, sender, "BatchInbox", checksum(config.owner), checksum(config.batcher))
    first_block = w3.eth.get_transaction_receipt(txs["OutputOracle"])["blockNumber"]
    return L1Deployment(chain_id=w3.eth.chain_id, output_oracle=oracle, resolver=resolver, portal=portal,
                        batch_inbox=inbox, deploy_block=first_block, deployer=sender.address, transactions=txs)
