"""Dev-chain methods users expect from anvil and hardhat (evm_*, anvil_*, hardhat_*)."""

from __future__ import annotations

from typing import Any, Optional

from hyperion.rpc.dispatch import rpc_method
from hyperion.rpc.errors import InvalidParams
from hyperion.rpc.formatting import q
from hyperion.rpc.params import (
    Param,
    UINT64_MAX,
    address,
    boolean,
    data,
    hash32,
    quantity,
    storage_slot,
    uint64_or_number,
)


def _amount(value: Any) -> int:
    """Balances as hex quantities; hardhat users also send decimal numbers."""
    return quantity(value, "value", allow_number=True)


def _mine_options(value: Any) -> dict:
    """evm_mine's optional argument: a timestamp, or ``{"blocks": n, "timestamp": t}``."""
    if isinstance(value, dict):
        unknown = set(value) - {"blocks", "timestamp"}
        if unknown:
            raise InvalidParams(f"unknown evm_mine option {sorted(unknown)[0]!r}")
        options = {}
        if value.get("blocks") is not None:
            options["blocks"] = uint64_or_number(value["blocks"], "blocks")
        if value.get("timestamp") is not None:
            options["timestamp"] = uint64_or_number(value["timestamp"], "timestamp")
        return options
    return {"timestamp": uint64_or_number(value, "timestamp")}


MAX_BLOCKS_PER_CALL = 10_000


def _mine(ctx, blocks: int, timestamp: Optional[int]) -> None:
    if blocks > MAX_BLOCKS_PER_CALL:
        raise InvalidParams(f"at most {MAX_BLOCKS_PER_CALL} blocks per call")
    ctx.chain.mine(blocks, timestamp)


@rpc_method("evm_mine", Param(_mine_options, optional=True, default={}))
def evm_mine(ctx, options: dict) -> str:
    _mine(ctx, options.get("blocks", 1), options.get("timestamp"))
    return "0x0"


@rpc_method("anvil_mine", Param(uint64_or_number, optional=True, default=1),
            Param(uint64_or_number, optional=True))
def anvil_mine(ctx, blocks: int, interval: Optional[int]) -> None:
    if interval:
        head = ctx.chain.head().header.timestamp
        for index in range(blocks):
            _mine(ctx, 1, head + interval * (index + 1))
    else:
        _mine(ctx, blocks, None)
    return None


@rpc_method("hardhat_mine", Param(uint64_or_number, optional=True, default=1),
            Param(uint64_or_number, optional=True))
def hardhat_mine(ctx, blocks: int, interval: Optional[int]) -> bool:
    anvil_mine(ctx, blocks, interval)
    return True


@rpc_method("evm_snapshot")
def evm_snapshot(ctx) -> str:
    return q(ctx.chain.snapshot())


@rpc_method("evm_revert", Param(uint64_or_number))
def evm_revert(ctx, snapshot_id: int) -> bool:
    return bool(ctx.chain.revert(snapshot_id))


@rpc_method("evm_increaseTime", Param(uint64_or_number))
def evm_increase_time(ctx, seconds: int) -> str:
    return q(ctx.chain.increase_time(seconds))


@rpc_method("evm_setNextBlockTimestamp", Param(uint64_or_number))
def evm_set_next_block_timestamp(ctx, timestamp: int) -> None:
    ctx.chain.set_next_block_timestamp(timestamp)
    return None


@rpc_method("evm_setAutomine", Param(boolean))
def evm_set_automine(ctx, enabled: bool) -> bool:
    ctx.chain.set_automine(enabled)
    return True


@rpc_method("evm_setIntervalMining", Param(uint64_or_number))
def evm_set_interval_mining(ctx, milliseconds: int) -> bool:
    """hardhat's form: milliseconds, 0 turns interval mining off."""
    ctx.chain.set_block_time(milliseconds / 1000 if milliseconds else None)
    return True


@rpc_method("anvil_setIntervalMining", Param(uint64_or_number))
def anvil_set_interval_mining(ctx, seconds: int) -> None:
    ctx.chain.set_block_time(seconds or None)
    return None


def _alias(names: tuple[str, ...], *params: Param):
    def register(func):
        for name in names:
            rpc_method(name, *params)(func)
        return func
    return register


@_alias(("anvil_setAutomine",), Param(boolean))
def anvil_set_automine(ctx, enabled: bool) -> None:
    ctx.chain.set_automine(enabled)
    return None


@_alias(("anvil_setBalance", "hardhat_setBalance"), Param(address), Param(_amount))
def set_balance(ctx, account: bytes, value: int) -> bool:
    ctx.chain.set_balance(account, value)
    return True


@_alias(("anvil_setCode", "hardhat_setCode"), Param(address), Param(data))
def set_code(ctx, account: bytes, code: bytes) -> bool:
    ctx.chain.set_code(account, code)
    return True


def _storage_value(value: Any) -> int:
    if isinstance(value, str) and len(value) == 66:
        return int.from_bytes(hash32(value, "value"), "big")
    return quantity(value, "value")


@_alias(("anvil_setStorageAt", "hardhat_setStorageAt"), Param(address), Param(storage_slot),
        Param(_storage_value))
def set_storage_at(ctx, account: bytes, slot: int, value: int) -> bool:
    ctx.chain.set_storage_at(account, slot, value)
    return True


@_alias(("anvil_setNonce", "hardhat_setNonce"), Param(address), Param(uint64_or_number))
def set_nonce(ctx, account: bytes, nonce: int) -> bool:
    if nonce > UINT64_MAX:
        raise InvalidParams("nonce exceeds 2^64-1")
    ctx.chain.set_nonce(account, nonce)
    return True


@_alias(("anvil_impersonateAccount", "hardhat_impersonateAccount"), Param(address))
def impersonate(ctx, account: bytes) -> bool:
    ctx.chain.impersonate(account)
    return True


@_alias(("anvil_stopImpersonatingAccount", "hardhat_stopImpersonatingAccount"), Param(address))
def stop_impersonating(ctx, account: bytes) -> bool:
    ctx.chain.stop_impersonating(account)
    return True
