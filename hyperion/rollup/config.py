"""The rollup configuration: what every node of one rollup must agree on.

A JSON file (``rollup.json``, the counterpart of op-node's rollup config),
written by ``hyperion devnet`` or by whoever deploys the L1 contracts:

- ``l2_genesis``: a geth-style genesis (chain id, alloc, gas limit, base
  fee, timestamp) from which every node builds the same L2 block 0; the
  rollup predeploys and the depositor account are part of its alloc.
- ``genesis_l1``: the L1 block the rollup starts from (L2 genesis's L1
  origin); derivation reads L1 from the block after it.
- ``genesis_l2_hash`` (optional): checked at start, so a node with a
  different genesis refuses to run instead of forking silently.
- timing: ``block_time`` (L2 seconds per block), ``seq_window_size`` (L1
  blocks a batch may lag its L1 origin before derivation fills the slots
  itself), ``max_sequencer_drift`` (seconds an L2 block may run ahead of its
  origin), ``sequencer_conf_depth`` (L1 confirmations before an L1 block,
  and its deposits, becomes an origin).
- L1 addresses: ``portal``, ``batch_inbox``, ``output_oracle``,
  ``batcher``, ``proposer``; ``l1_chain_id``; optionally
  ``batcher_authority``: a contract whose ``isAuthorizedBatcher(sender)``
  derivation asks about every batch (a staked sequencer set; absent: the
  inbox's own check is the only one).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from hyperion.chain.genesis import ChainConfig, InvalidGenesis
from hyperion.execution.deposit import with_deposits


class InvalidRollupConfig(ValueError):
    """A rollup configuration that cannot be used."""


def _hex(value: Any, name: str, length: int, what: str) -> bytes:
    if isinstance(value, bytes) and len(value) == length:
        return value
    if isinstance(value, str) and value[:2].lower() == "0x" and len(value) == 2 + 2 * length:
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise InvalidRollupConfig(f"{name} must be a 0x-prefixed {what}, got {value!r}")


def _address(value: Any, name: str) -> bytes:
    return _hex(value, name, 20, "20-byte address")


def _hash(value: Any, name: str) -> bytes:
    return _hex(value, name, 32, "32-byte hash")


def _int(value: Any, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidRollupConfig(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class L1BlockId:
    number: int
    hash: bytes


@dataclass
class RollupConfig:
    l2_genesis: dict
    genesis_l1: L1BlockId
    l1_chain_id: int
    portal: bytes
    batch_inbox: bytes
    output_oracle: bytes
    batcher: bytes
    proposer: bytes
    block_time: int = 2
    seq_window_size: int = 30
    max_sequencer_drift: int = 600
    sequencer_conf_depth: int = 2
    genesis_l2_hash: Optional[bytes] = None
    batcher_authority: Optional[bytes] = None
    extra: dict = field(default_factory=dict)  # ignored keys, kept when the file is rewritten
    # Set by the composition root, never saved: extends every L2 fork with node-bound precompiles
    # (``hyperion node --rollup`` adds the AI ones, which read models from the L2 state).
    fork_hook = None

    # -- derived values ----------------------------------------------------------
    def chain_config(self) -> ChainConfig:
        """The L2 chain's ``ChainConfig``: the genesis file, deposits enabled, no dev-mode mining."""
        if self.l2_genesis.get("timestamp") is None:
            raise InvalidRollupConfig("l2_genesis must fix its timestamp")
        try:
            config = ChainConfig.from_genesis_dict(self.l2_genesis)
        except InvalidGenesis as exc:
            raise InvalidRollupConfig(f"l2_genesis: {exc}") from None
        hook = self.fork_hook

        def variant(fork):  # every fork of the genesis's schedule takes deposit transactions
            fork = with_deposits(fork)
            return fork if hook is None else hook(fork)

        config.fork_variant = variant
        config.dev_account_count = 0
        config.automine = False
        config.block_time = None
        config.base_fee_recipient = None
        config.exec_workers = None  # the machine's cores: blocks run in parallel where the costs say it pays
        return config

    @property
    def l2_chain_id(self) -> int:
        return int(str((self.l2_genesis.get("config") or {}).get("chainId", 0)), 0)

    @property
    def genesis_timestamp(self) -> int:
        value = self.l2_genesis.get("timestamp")
        return int(value, 0) if isinstance(value, str) else int(value)

    def timestamp_of(self, number: int) -> int:
        """Every L2 block's timestamp is fixed by its number."""
        return self.genesis_timestamp + number * self.block_time

    # -- files -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> "RollupConfig":
        if not isinstance(data, dict):
            raise InvalidRollupConfig("the rollup config must be a JSON object")
        try:
            genesis_l1 = data["genesis_l1"]
            config = cls(
                l2_genesis=data["l2_genesis"],
                genesis_l1=L1BlockId(_int(genesis_l1["number"], "genesis_l1.number"),
                                     _hash(genesis_l1["hash"], "genesis_l1.hash")),
                l1_chain_id=_int(data["l1_chain_id"], "l1_chain_id", 1),
                portal=_address(data["portal"], "portal"),
                batch_inbox=_address(data["batch_inbox"], "batch_inbox"),
                output_oracle=_address(data["output_oracle"], "output_oracle"),
                batcher=_address(data["batcher"], "batcher"),
                proposer=_address(data["proposer"], "proposer"),
                block_time=_int(data.get("block_time", 2), "block_time", 1),
                seq_window_size=_int(data.get("seq_window_size", 30), "seq_window_size", 2),
                max_sequencer_drift=_int(data.get("max_sequencer_drift", 600), "max_sequencer_drift", 1),
                sequencer_conf_depth=_int(data.get("sequencer_conf_depth", 2), "sequencer_conf_depth", 0),
                genesis_l2_hash=(_hash(data["genesis_l2_hash"], "genesis_l2_hash")
                                 if data.get("genesis_l2_hash") else None),
                batcher_authority=(_address(data["batcher_authority"], "batcher_authority")
                                   if data.get("batcher_authority") else None),
            )
        except KeyError as exc:
            raise InvalidRollupConfig(f"the rollup config lacks {exc.args[0]!r}") from None
        except (TypeError, AttributeError) as exc:
            raise InvalidRollupConfig(f"malformed rollup config: {exc}") from None
        if not isinstance(config.l2_genesis, dict):
            raise InvalidRollupConfig("l2_genesis must be a geth-style genesis object")
        known = {f for f in cls.__dataclass_fields__} - {"extra"}
        config.extra = {k: v for k, v in data.items() if k not in known}
        config.chain_config()  # validate the genesis now, not at first use
        return config

    @classmethod
    def load(cls, path: str | Path) -> "RollupConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidRollupConfig(f"cannot read rollup config {path}: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        data = dict(self.extra)
        for name, value in asdict(self).items():
            if name == "extra":
                continue
            if name == "genesis_l1":
                value = {"number": self.genesis_l1.number, "hash": "0x" + self.genesis_l1.hash.hex()}
            elif isinstance(value, bytes):
                value = "0x" + value.hex()
            if value is not None:
                data[name] = value
        return data

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")
