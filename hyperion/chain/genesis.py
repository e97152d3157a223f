"""Chain configuration, geth-style genesis files and the genesis state.

``ChainConfig`` holds everything a dev chain is started with. A genesis
JSON file (geth's format: ``config.chainId``, ``alloc``, ``gasLimit``,
``baseFeePerGas``, ``timestamp``, ``extraData``, ``coinbase``) can fill it.
The genesis state is the alloc, the funded dev accounts and the system
contracts of the active fork (EIP-4788 beacon roots, EIP-2935 block-hash
history), deployed as the mainnet deployment transactions left them
(nonce 1, no storage).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hyperion.chain.blocks import (
    EMPTY_OMMERS_HASH,
    EMPTY_REQUESTS_HASH,
    EMPTY_TRIE_ROOT,
    ZERO_HASH,
    Block,
    Header,
)
from hyperion.chain.hdwallet import TEST_MNEMONIC, dev_accounts
from hyperion.primitives.bloom import EMPTY_BLOOM
from hyperion.vm.forks import PRAGUE, Fork, get_fork

ETHER = 10**18
DEFAULT_CHAIN_ID = 133717
GWEI = 10**9

SYSTEM_ADDRESS = bytes.fromhex("fffffffffffffffffffffffffffffffffffffffe")
BEACON_ROOTS_ADDRESS = bytes.fromhex("000f3df6d732807ef1319fb7b8bb8522d0beac02")
BEACON_ROOTS_CODE = bytes.fromhex(
    "3373fffffffffffffffffffffffffffffffffffffffe14604d57602036146024575f5ffd5b5f35801560495762001fff81"
    "0690815414603c575f5ffd5b62001fff01545f5260205ff35b5f5ffd5b62001fff42064281555f359062001fff015500"
)
HISTORY_STORAGE_ADDRESS = bytes.fromhex("0000f90827f1c53a10cb7a02335b175320002935")
HISTORY_STORAGE_CODE = bytes.fromhex(
    "3373fffffffffffffffffffffffffffffffffffffffe14604657602036036042575f35600143038111604257611fff81"
    "430311604257611fff9006545f5260205ff35b5f5ffd5b5f35611fff60014303065500"
)
HISTORY_SERVE_WINDOW = 8191


class InvalidGenesis(ValueError):
    """A genesis file or alloc entry that cannot be used."""


@dataclass
class ChainConfig:
    """Everything a dev chain starts from (see the module docstring for the genesis file)."""

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

    @classmethod
    def from_genesis_file(cls, path: str | Path, **overrides: Any) -> "ChainConfig":
        """Read a geth-style genesis JSON file; keyword arguments override what it says."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidGenesis(f"cannot read genesis file {path}: {exc}") from None
        config = cls.from_genesis_dict(data)
        for name, value in overrides.items():
            if value is not None:
                setattr(config, name, value)
        return config

    @classmethod
    def from_genesis_dict(cls, data: dict) -> "ChainConfig":
        if not isinstance(data, dict):
            raise InvalidGenesis("genesis must be a JSON object")
        config = cls()
        chain_config = data.get("config") or {}
        if "chainId" in chain_config:
            config.chain_id = _quantity(chain_config["chainId"], "config.chainId")
        if "gasLimit" in data:
            config.gas_limit = _quantity(data["gasLimit"], "gasLimit")
        if "baseFeePerGas" in data and data["baseFeePerGas"] is not None:
            config.base_fee = _quantity(data["baseFeePerGas"], "baseFeePerGas")
        if "timestamp" in data:
            config.genesis_timestamp = _quantity(data["timestamp"], "timestamp")
        if data.get("extraData"):
            config.extra_data = _data(data["extraData"], "extraData")
        if data.get("coinbase"):
            config.coinbase = _address(data["coinbase"])
        if "fork" in data:
            config.fork = get_fork(data["fork"])
        alloc = data.get("alloc") or {}
        if not isinstance(alloc, dict):
            raise InvalidGenesis("alloc must be an object of address -> account")
        config.alloc = {_address(addr): _account(addr, entry) for addr, entry in alloc.items()}
        return config

    def dev_accounts(self) -> list[tuple[bytes, bytes]]:
        """``(address, private_key)`` of the funded dev accounts."""
        if self.dev_account_count <= 0:
            return []
        return dev_accounts(self.mnemonic, self.dev_account_count)


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


def _data(value, name: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidGenesis(f"{name} must be a hex string")
    digits = value[2:] if value[:2].lower() == "0x" else value
    try:
        return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
    except ValueError:
        raise InvalidGenesis(f"{name}: {value!r} is not hex") from None


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
    for key, value in (entry.get("storage") or {}).items():
        storage[_quantity(key if str(key).lower().startswith("0x") else "0x" + str(key), "storage key")] = _quantity(
            value if str(value).lower().startswith("0x") else "0x" + str(value), "storage value")
    return {
        "balance": _quantity(entry.get("balance", 0), f"balance of {address}"),
        "nonce": _quantity(entry.get("nonce", 0), f"nonce of {address}"),
        "code": _data(entry.get("code", "0x"), f"code of {address}"),
        "storage": storage,
    }


def genesis_alloc(config: ChainConfig) -> dict[bytes, dict]:
    """The full genesis alloc: system contracts, dev accounts, then the configured alloc on top."""
    alloc: dict[bytes, dict] = {}
    fork = config.fork
    if fork.has_beacon_root:
        alloc[BEACON_ROOTS_ADDRESS] = {"balance": 0, "nonce": 1, "code": BEACON_ROOTS_CODE, "storage": {}}
    if fork.has_history_storage:
        alloc[HISTORY_STORAGE_ADDRESS] = {"balance": 0, "nonce": 1, "code": HISTORY_STORAGE_CODE, "storage": {}}
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
    fork = config.fork
    timestamp = config.genesis_timestamp if config.genesis_timestamp is not None else int(time.time())
    header = Header(
        parent_hash=ZERO_HASH, ommers_hash=EMPTY_OMMERS_HASH, coinbase=config.coinbase, state_root=state_root,
        transactions_root=EMPTY_TRIE_ROOT, receipts_root=EMPTY_TRIE_ROOT, logs_bloom=EMPTY_BLOOM,
        difficulty=0, number=0, gas_limit=config.gas_limit, gas_used=0, timestamp=timestamp,
        extra_data=config.extra_data, prev_randao=ZERO_HASH, nonce=b"\x00" * 8, base_fee=config.base_fee,
        withdrawals_root=EMPTY_TRIE_ROOT,
        blob_gas_used=0 if fork.has_blobs else None,
        excess_blob_gas=0 if fork.has_blobs else None,
        parent_beacon_block_root=ZERO_HASH if fork.has_beacon_root else None,
        requests_hash=EMPTY_REQUESTS_HASH if fork.has_history_storage else None,
    )
    return Block(header, [], [])
