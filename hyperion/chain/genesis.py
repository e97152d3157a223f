"""Genesis: geth-format genesis files, exactly, and the dev chain's own genesis.

``Genesis`` is a genesis file parsed exactly as geth reads it: the
``config`` (chain id, fork blocks and times, ``terminalTotalDifficulty``,
``blobSchedule``, ``depositContractAddress``, and Hyperion's
``baseFeeRecipient``: where the base fee goes instead of being burned), the
``alloc``, and the
header fields (``nonce``, ``timestamp``, ``extraData``, ``gasLimit``,
``difficulty``, ``mixHash``, ``coinbase``, ``baseFeePerGas``, ...). Its
genesis block carries a base fee only where London is active at genesis,
a withdrawals root only from Shanghai, blob fields and a beacon root only
from Cancun, a requests hash only from Prague, and nothing is added to its
alloc. A top-level ``"fork": "Prague"`` (a Hyperion extension) stands for
"every fork up to Prague from genesis".

``ChainConfig`` holds everything a node is started with. Without a genesis
file it describes the dev chain, whose genesis is Hyperion's own: the
system contracts of its fork (EIP-4788 beacon roots, EIP-2935 history,
EIP-7002 and EIP-7251 request queues, deployed as the mainnet deployment
transactions left them: nonce 1, no storage), the funded dev accounts and
the configured alloc.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from hyperion.chain.blocks import (
    EMPTY_OMMERS_HASH,
    EMPTY_REQUESTS_HASH,
    EMPTY_TRIE_ROOT,
    ZERO_HASH,
    Block,
    Header,
)
from hyperion.chain.consensus import INITIAL_BASE_FEE, MIN_DIFFICULTY
from hyperion.chain.hdwallet import TEST_MNEMONIC, dev_accounts
from hyperion.chain.importer import ChainSpec
from hyperion.chain.schedule import ForkSchedule, UnsupportedFork, genesis_config_for
from hyperion.chain.system import (
    BEACON_ROOTS_ADDRESS,
    BEACON_ROOTS_CODE,
    CONSOLIDATION_REQUEST_ADDRESS,
    CONSOLIDATION_REQUEST_CODE,
    HISTORY_STORAGE_ADDRESS,
    HISTORY_STORAGE_CODE,
    MAINNET_DEPOSIT_CONTRACT,
    WITHDRAWAL_REQUEST_ADDRESS,
    WITHDRAWAL_REQUEST_CODE,
)
from hyperion.primitives.bloom import EMPTY_BLOOM
from hyperion.vm.forks import PRAGUE, Fork

ETHER = 10**18
DEFAULT_CHAIN_ID = 133717
GWEI = 10**9
GENESIS_GAS_LIMIT = 5000  # geth's gas limit for a genesis that gives none


class InvalidGenesis(ValueError):
    """A genesis file or alloc entry that cannot be used."""


@dataclass
class Genesis:
    """A genesis block and state, as a geth-format genesis file describes them (see the module docstring).

    ``config`` keeps the file's ``config`` object as given: it is stored with
    an initialized chain, so a restarted node rebuilds the same fork schedule.
    """

    chain_id: int
    schedule: ForkSchedule
    alloc: dict[bytes, dict] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    nonce: bytes = b"\x00" * 8
    timestamp: int = 0
    extra_data: bytes = b""
    gas_limit: int = GENESIS_GAS_LIMIT
    difficulty: Optional[int] = None
    mix_hash: bytes = ZERO_HASH
    coinbase: bytes = b"\x00" * 20
    number: int = 0
    gas_used: int = 0
    parent_hash: bytes = ZERO_HASH
    base_fee: Optional[int] = None
    excess_blob_gas: Optional[int] = None
    blob_gas_used: Optional[int] = None
    deposit_contract: Optional[bytes] = MAINNET_DEPOSIT_CONTRACT
    base_fee_recipient: Optional[bytes] = None

    @classmethod
    def from_file(cls, path: str | Path) -> "Genesis":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidGenesis(f"cannot read genesis file {path}: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> "Genesis":
        """Parse a genesis document; InvalidGenesis names the field that is wrong."""
        if not isinstance(data, dict):
            raise InvalidGenesis("genesis must be a JSON object")
        config = data.get("config")
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise InvalidGenesis("config must be an object")
        try:
            if data.get("fork") is not None:
                schedule = ForkSchedule.single(str(data["fork"]))
            else:
                schedule = ForkSchedule.from_genesis_config(config)
        except UnsupportedFork as exc:
            raise InvalidGenesis(f"config: {exc}") from None
        alloc = data.get("alloc") or {}
        if not isinstance(alloc, dict):
            raise InvalidGenesis("alloc must be an object of address -> account")
        deposit = config.get("depositContractAddress")
        recipient = config.get("baseFeeRecipient")
        genesis = cls(
            chain_id=_quantity(config.get("chainId", 1), "config.chainId"),
            schedule=schedule,
            alloc={_address(addr): _account(addr, entry) for addr, entry in alloc.items()},
            config=dict(config) if data.get("fork") is None else dict(config, fork=str(data["fork"])),
            nonce=_fixed(data.get("nonce"), "nonce", 8),
            timestamp=_quantity(data.get("timestamp") or 0, "timestamp"),
            extra_data=_data(data.get("extraData") or "0x", "extraData"),
            gas_limit=_quantity(data.get("gasLimit") or 0, "gasLimit") or GENESIS_GAS_LIMIT,
            difficulty=None if data.get("difficulty") is None else _quantity(data["difficulty"], "difficulty"),
            mix_hash=_fixed(data.get("mixHash") or data.get("mixhash"), "mixHash", 32),
            coinbase=_address(data["coinbase"]) if data.get("coinbase") else b"\x00" * 20,
            number=_quantity(data.get("number") or 0, "number"),
            gas_used=_quantity(data.get("gasUsed") or 0, "gasUsed"),
            parent_hash=_fixed(data.get("parentHash"), "parentHash", 32),
            base_fee=_optional_quantity(data.get("baseFeePerGas"), "baseFeePerGas"),
            excess_blob_gas=_optional_quantity(data.get("excessBlobGas"), "excessBlobGas"),
            blob_gas_used=_optional_quantity(data.get("blobGasUsed"), "blobGasUsed"),
            deposit_contract=MAINNET_DEPOSIT_CONTRACT if deposit is None else _address(deposit),
            base_fee_recipient=None if recipient is None else _address(recipient),
        )
        if len(genesis.extra_data) > 32:
            raise InvalidGenesis(f"extraData is {len(genesis.extra_data)} bytes, at most 32 allowed")
        return genesis

    def _active(self, name: str) -> bool:
        return self.schedule.is_active(name, self.number, self.timestamp)

    def header(self, state_root: bytes) -> Header:
        """The genesis header over a state whose root is ``state_root`` (geth's rules for absent fields)."""
        london = self._active("London")
        cancun = self._active("Cancun")
        difficulty = self.difficulty
        if difficulty is None:  # geth's default: none for a chain without ethash, else the minimum
            ethash = "ethash" in self.config or not self.config
            difficulty = MIN_DIFFICULTY if ethash and self.mix_hash == ZERO_HASH else 0
        return Header(
            parent_hash=self.parent_hash, ommers_hash=EMPTY_OMMERS_HASH, coinbase=self.coinbase,
            state_root=state_root, transactions_root=EMPTY_TRIE_ROOT, receipts_root=EMPTY_TRIE_ROOT,
            logs_bloom=EMPTY_BLOOM, difficulty=difficulty, number=self.number, gas_limit=self.gas_limit,
            gas_used=self.gas_used, timestamp=self.timestamp, extra_data=self.extra_data, prev_randao=self.mix_hash,
            nonce=self.nonce,
            base_fee=(self.base_fee if self.base_fee is not None else INITIAL_BASE_FEE) if london else None,
            withdrawals_root=EMPTY_TRIE_ROOT if self._active("Shanghai") else None,
            blob_gas_used=(self.blob_gas_used or 0) if cancun else None,
            excess_blob_gas=(self.excess_blob_gas or 0) if cancun else None,
            parent_beacon_block_root=ZERO_HASH if cancun else None,
            requests_hash=EMPTY_REQUESTS_HASH if self._active("Prague") else None,
        )

    def block(self, state_root: bytes) -> Block:
        header = self.header(state_root)
        return Block(header, [], [] if header.withdrawals_root is not None else None)

    def chain_spec(self) -> ChainSpec:
        return ChainSpec(self.chain_id, self.schedule, self.deposit_contract, self.base_fee_recipient)

    def to_dict(self) -> dict:
        """This genesis as a geth-format document (``Genesis.from_dict`` reads it back to the same block)."""
        document = {
            "config": dict(self.config, chainId=self.chain_id),
            "nonce": "0x" + self.nonce.hex(), "timestamp": hex(self.timestamp),
            "extraData": "0x" + self.extra_data.hex(), "gasLimit": hex(self.gas_limit),
            "mixHash": "0x" + self.mix_hash.hex(), "coinbase": "0x" + self.coinbase.hex(),
            "number": hex(self.number), "gasUsed": hex(self.gas_used), "parentHash": "0x" + self.parent_hash.hex(),
            "alloc": {
                "0x" + address.hex(): {
                    "balance": hex(entry["balance"]), "nonce": hex(entry["nonce"]), "code": "0x" + entry["code"].hex(),
                    "storage": {hex(key): hex(value) for key, value in entry["storage"].items()},
                }
                for address, entry in self.alloc.items()
            },
        }
        for key, value in (("difficulty", self.difficulty), ("baseFeePerGas", self.base_fee),
                           ("excessBlobGas", self.excess_blob_gas), ("blobGasUsed", self.blob_gas_used)):
            if value is not None:
                document[key] = hex(value)
        return document

    def stored_form(self) -> bytes:
        """What an initialized chain keeps to rebuild this genesis's rules (everything but the alloc)."""
        document = {"config": self.config, "difficulty": hex(self.difficulty) if self.difficulty is not None else None,
                    "timestamp": hex(self.timestamp), "number": hex(self.number)}
        return json.dumps(document, sort_keys=True).encode()

    @classmethod
    def from_stored_form(cls, raw: bytes) -> "Genesis":
        """The genesis (without its alloc, which lives in the state) of ``stored_form``."""
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidGenesis(f"stored genesis is corrupt: {exc}") from None
        config = data.get("config") or {}
        document = {key: value for key, value in data.items() if value is not None}
        if "fork" in config:
            document["fork"] = config["fork"]
        return cls.from_dict(document)


@dataclass
class ChainConfig:
    """Everything a node starts from.

    With ``genesis`` set (a user's genesis file), the chain is exactly that
    genesis and its fork schedule; nothing is added to it. Otherwise it is
    the dev chain: ``fork`` from genesis, the dev accounts and system
    contracts in its alloc (see the module docstring).
    """

    chain_id: int = DEFAULT_CHAIN_ID
    fork: Fork = PRAGUE
    gas_limit: int = 30_000_000
    base_fee: int = GWEI
    genesis_timestamp: Optional[int] = None
    alloc: dict = field(default_factory=dict)  # address -> {balance, nonce, code, storage}
    coinbase: bytes = b"\x00" * 20
    extra_data: bytes = b""
    automine: bool = True
    block_time: Optional[float] = None
    mnemonic: str = TEST_MNEMONIC
    dev_account_count: int = 10
    dev_balance: int = 10_000 * ETHER
    priority_fee_suggestion: int = GWEI
    min_priority_fee: int = 0
    rpc_gas_cap: int = 50_000_000
    rpc_evm_timeout: float = 5.0                 # seconds an execution an RPC starts may run
    rpc_trace_memory: int = 128 * 1024 * 1024    # bytes of struct logs / call frames one trace may keep
    txpool_max_slots: int = 5120
    txpool_max_queued: int = 1024
    txpool_max_queued_per_account: int = 64
    txpool_queued_lifetime: float = 3 * 3600.0
    # Where the EIP-1559 base fee goes; None burns it (Ethereum). Hyperion's
    # node routes it to the Holders Mining fee vault.
    base_fee_recipient: Optional[bytes] = None
    # Processes that execute a block's transactions (execution.parallel); 1 is sequential,
    # None the machine's cores (``hyperion node --exec-workers``).
    exec_workers: Optional[int] = 1
    genesis: Optional[Genesis] = None
    # Applied to the VM rules of every fork of a genesis file's schedule: what a composition root
    # adds to a chain (the rollup's deposit transactions). The dev chain's ``fork`` carries its own.
    fork_variant: Optional[Callable[[Fork], Fork]] = None

    @classmethod
    def from_genesis_file(cls, path: str | Path, **overrides: Any) -> "ChainConfig":
        """A node config for exactly the genesis in a geth-format file; keyword arguments override fields."""
        return cls.from_genesis(Genesis.from_file(path), **overrides)

    @classmethod
    def from_genesis_dict(cls, data: dict) -> "ChainConfig":
        return cls.from_genesis(Genesis.from_dict(data))

    @classmethod
    def from_genesis(cls, genesis: Genesis, **overrides: Any) -> "ChainConfig":
        """The config of a chain with this genesis: its chain id, gas limit, coinbase; no dev accounts."""
        config = cls(chain_id=genesis.chain_id, gas_limit=genesis.gas_limit, coinbase=genesis.coinbase,
                     genesis_timestamp=genesis.timestamp, dev_account_count=0, genesis=genesis)
        for name, value in overrides.items():
            if value is not None:
                setattr(config, name, value)
        return config

    def dev_accounts(self) -> list[tuple[bytes, bytes]]:
        """``(address, private_key)`` of the dev accounts (funded only in the dev chain's genesis)."""
        if self.dev_account_count <= 0:
            return []
        return dev_accounts(self.mnemonic, self.dev_account_count)

    def genesis_spec(self) -> Genesis:
        """The genesis this config starts from: the user's file, or the dev chain's own."""
        if self.genesis is not None:
            if self.genesis.chain_id != self.chain_id:
                return _replace_chain_id(self.genesis, self.chain_id)
            return self.genesis
        timestamp = self.genesis_timestamp if self.genesis_timestamp is not None else int(time.time())
        return Genesis(
            chain_id=self.chain_id, schedule=ForkSchedule.single(self.fork), alloc=genesis_alloc(self),
            config=genesis_config_for(self.fork.name.split("+", 1)[0]),
            timestamp=timestamp, extra_data=self.extra_data, gas_limit=self.gas_limit, difficulty=0,
            coinbase=self.coinbase, base_fee=self.base_fee,
        )

    def chain_spec(self) -> ChainSpec:
        """The rules block import and the block builder apply on this chain."""
        if self.genesis is not None:
            spec = self.genesis_spec().chain_spec()
            if self.fork_variant is not None:
                spec = dataclasses.replace(spec, schedule=spec.schedule.with_variant(self.fork_variant))
            return spec
        return ChainSpec(self.chain_id, ForkSchedule.single(self.fork), MAINNET_DEPOSIT_CONTRACT,
                         self.base_fee_recipient)


def _replace_chain_id(genesis: Genesis, chain_id: int) -> Genesis:
    return dataclasses.replace(genesis, chain_id=chain_id, config=dict(genesis.config, chainId=chain_id))


def _quantity(value, name: str) -> int:
    try:
        if isinstance(value, int) and not isinstance(value, bool):
            result = value
        elif isinstance(value, str):
            result = int(value, 16) if value.lower().startswith("0x") else int(value, 10)
        else:
            raise ValueError("not a number")
    except ValueError:
        raise InvalidGenesis(f"{name}: {value!r} is not a number") from None
    if result < 0:
        raise InvalidGenesis(f"{name} must not be negative")
    return result


def _optional_quantity(value, name: str) -> Optional[int]:
    return None if value is None else _quantity(value, name)


def _data(value, name: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidGenesis(f"{name} must be a hex string")
    digits = value[2:] if value[:2].lower() == "0x" else value
    try:
        return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
    except ValueError:
        raise InvalidGenesis(f"{name}: {value!r} is not hex") from None


def _fixed(value, name: str, length: int) -> bytes:
    """A fixed-size field given as hex (shorter values are left-padded, as geth does for nonce and hashes)."""
    if value is None:
        return b"\x00" * length
    if isinstance(value, int) and not isinstance(value, bool):
        raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big") if value else b""
    else:
        raw = _data(value, name)
    if len(raw) > length:
        raise InvalidGenesis(f"{name} is longer than {length} bytes")
    return raw.rjust(length, b"\x00")


def _address(value) -> bytes:
    if isinstance(value, bytes) and len(value) == 20:
        return value
    raw = _data(value, "address")
    if len(raw) != 20:
        raise InvalidGenesis(f"address {value!r} is not 20 bytes")
    return raw


def _account(address, entry) -> dict:
    if not isinstance(entry, dict):
        raise InvalidGenesis(f"alloc entry of {address} must be an object")
    storage = {}
    raw_storage = entry.get("storage") or {}
    if not isinstance(raw_storage, dict):
        raise InvalidGenesis(f"storage of {address} must be an object")
    for key, value in raw_storage.items():
        storage[_quantity(key if str(key).lower().startswith("0x") else "0x" + str(key), "storage key")] = _quantity(
            value if str(value).lower().startswith("0x") else "0x" + str(value), "storage value")
    return {
        "balance": _quantity(entry.get("balance", 0), f"balance of {address}"),
        "nonce": _quantity(entry.get("nonce", 0), f"nonce of {address}"),
        "code": _data(entry.get("code", "0x"), f"code of {address}"),
        "storage": storage,
    }


def _system_contracts(fork: Fork) -> dict[bytes, dict]:
    """The dev chain's system contracts for ``fork``, as mainnet's deployments left them."""
    contracts = {}
    if fork.has_beacon_root:
        contracts[BEACON_ROOTS_ADDRESS] = BEACON_ROOTS_CODE
    if fork.has_history_storage:
        contracts[HISTORY_STORAGE_ADDRESS] = HISTORY_STORAGE_CODE
        contracts[WITHDRAWAL_REQUEST_ADDRESS] = WITHDRAWAL_REQUEST_CODE
        contracts[CONSOLIDATION_REQUEST_ADDRESS] = CONSOLIDATION_REQUEST_CODE
    return {address: {"balance": 0, "nonce": 1, "code": code, "storage": {}} for address, code in contracts.items()}


def genesis_alloc(config: ChainConfig) -> dict[bytes, dict]:
    """The dev chain's genesis alloc: system contracts, dev accounts, then the configured alloc on top."""
    alloc: dict[bytes, dict] = _system_contracts(config.fork)
    for address, _key in config.dev_accounts():
        alloc[address] = {"balance": config.dev_balance, "nonce": 0, "code": b"", "storage": {}}
    for address, entry in config.alloc.items():
        alloc[_address(address)] = {
            "balance": entry.get("balance", 0), "nonce": entry.get("nonce", 0),
            "code": entry.get("code", b""), "storage": dict(entry.get("storage") or {}),
        }
    return alloc


def write_alloc(state, alloc: dict[bytes, dict]) -> None:
    """Load an alloc into a writable ``WorldState``."""
    for address, entry in alloc.items():
        state.set_balance(address, entry["balance"])
        if entry["nonce"]:
            state.set_nonce(address, entry["nonce"])
        if entry["code"]:
            state.set_code(address, entry["code"])
        for key, value in entry["storage"].items():
            if value:
                state.set_storage(address, key, value)


def genesis_block(config: ChainConfig, state_root: bytes) -> Block:
    """The genesis block of ``config`` over a state whose root is ``state_root``."""
    return config.genesis_spec().block(state_root)
