"""Deposit transactions derived from L1: user deposits and the L1-attributes deposit.

User deposits come from the Portal's ``TransactionDeposited(from, to,
version, opaqueData)`` logs, OP Stack layout (version 0, ``opaqueData =
mint(32) ‖ value(32) ‖ gasLimit(8) ‖ isCreation(1) ‖ data``). A log that
does not parse is skipped with a log line (derivation must never stop on
L1 data). The first transaction of every L2 block is the L1-attributes
deposit from the depositor system account to the ``L1Block`` predeploy,
which records the block's L1 origin; a block's origin is read back from it.
Source hashes follow the OP deposit spec, so every deposit is unique.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable, Optional

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import DepositTransaction

log = logging.getLogger("hyperion.rollup.deposits")

DEPOSITOR_ACCOUNT = bytes.fromhex("deaddeaddeaddeaddeaddeaddeaddeaddead0001")
L1_BLOCK_ADDRESS = bytes.fromhex("4200000000000000000000000000000000000015")
MESSAGE_PASSER_ADDRESS = bytes.fromhex("4200000000000000000000000000000000000016")
L1_INFO_GAS = 1_000_000
TRANSACTION_DEPOSITED = keccak256(b"TransactionDeposited(address,address,uint256,bytes)")
DEPOSIT_VERSION_0 = 0
ALIAS_OFFSET = 0x1111000000000000000000000000000000001111

_L1_INFO_TYPES = ["uint64", "uint64", "uint256", "bytes32", "uint64", "bytes32", "uint256", "uint32", "uint32"]
SET_L1_BLOCK_VALUES = keccak256(
    ("setL1BlockValues(" + ",".join(_L1_INFO_TYPES) + ")").encode())[:4]

USER_DEPOSIT_DOMAIN = (0).to_bytes(32, "big")
L1_INFO_DEPOSIT_DOMAIN = (1).to_bytes(32, "big")


def apply_alias(address: bytes) -> bytes:
    """The L2 address of an L1 contract (OP address aliasing)."""
    return ((int.from_bytes(address, "big") + ALIAS_OFFSET) % 2**160).to_bytes(20, "big")


def user_deposit_source_hash(l1_block_hash: bytes, log_index: int) -> bytes:
    return keccak256(USER_DEPOSIT_DOMAIN + keccak256(l1_block_hash + log_index.to_bytes(32, "big")))


def l1_info_source_hash(l1_block_hash: bytes, sequence_number: int) -> bytes:
    return keccak256(L1_INFO_DEPOSIT_DOMAIN + keccak256(l1_block_hash + sequence_number.to_bytes(32, "big")))


class InvalidDepositLog(ValueError):
    """A Portal log that does not describe a deposit."""


def deposit_from_log(topics: list[bytes], data: bytes, block_hash: bytes, log_index: int) -> DepositTransaction:
    """The deposit transaction of one ``TransactionDeposited`` log."""
    if len(topics) != 4 or topics[0] != TRANSACTION_DEPOSITED:
        raise InvalidDepositLog("not a TransactionDeposited log")
    if any(len(t) != 32 for t in topics) or topics[1][:12] != bytes(12) or topics[2][:12] != bytes(12):
        raise InvalidDepositLog("malformed from/to topics")
    version = int.from_bytes(topics[3], "big")
    if version != DEPOSIT_VERSION_0:
        raise InvalidDepositLog(f"unknown deposit version {version}")
    try:
        (opaque,) = abi_decode(["bytes"], data, strict=True)
    except Exception as exc:
        raise InvalidDepositLog(f"opaqueData is not ABI bytes: {exc}") from None
    if len(opaque) < 73:
        raise InvalidDepositLog(f"opaqueData is {len(opaque)} bytes, shorter than 73")
    mint = int.from_bytes(opaque[0:32], "big")
    value = int.from_bytes(opaque[32:64], "big")
    gas = int.from_bytes(opaque[64:72], "big")
    creation = opaque[72]
    if creation > 1:
        raise InvalidDepositLog(f"isCreation byte is {creation}, not 0 or 1")
    to = None if creation else topics[2][12:]
    return DepositTransaction(user_deposit_source_hash(block_hash, log_index), topics[1][12:], to, mint, value,
                              gas, False, bytes(opaque[73:]))


def user_deposits(logs: Iterable[dict], portal: bytes, block_hash: bytes) -> list[DepositTransaction]:
    """Deposits of one L1 block from its logs (``address``, ``topics``, ``data``, ``logIndex``, ``blockHash``
    as bytes/ints), in log order; logs of other contracts or blocks are ignored, malformed ones skipped."""
    deposits = []
    for entry in sorted(logs, key=lambda e: e["logIndex"]):
        if entry["address"] != portal or entry.get("removed"):
            continue
        if entry["blockHash"] != block_hash:
            raise ValueError("deposit log from another block (L1 reorg while reading)")
        topics = entry["topics"]
        if not topics or topics[0] != TRANSACTION_DEPOSITED:
            continue
        try:
            deposits.append(deposit_from_log(topics, entry["data"], block_hash, entry["logIndex"]))
        except InvalidDepositLog as exc:
            log.warning("skipping malformed deposit log block=0x%s index=%d: %s", block_hash.hex(),
                        entry["logIndex"], exc)
    return deposits


@dataclass(frozen=True, slots=True)
class L1Info:
    """What the L1-attributes deposit records about a block's L1 origin."""

    number: int
    timestamp: int
    base_fee: int
    hash: bytes
    sequence_number: int
    batcher_hash: bytes
    blob_base_fee: int


def l1_info_deposit(info: L1Info) -> DepositTransaction:
    data = SET_L1_BLOCK_VALUES + abi_encode(_L1_INFO_TYPES, [
        info.number, info.timestamp, info.base_fee, info.hash, info.sequence_number, info.batcher_hash,
        info.blob_base_fee, 0, 0])
    return DepositTransaction(l1_info_source_hash(info.hash, info.sequence_number), DEPOSITOR_ACCOUNT,
                              L1_BLOCK_ADDRESS, 0, 0, L1_INFO_GAS, False, data)


def parse_l1_info(tx) -> Optional[L1Info]:
    """The L1 origin recorded by a block's first transaction, or None if it is not an L1-attributes deposit."""
    if (tx.type != 0x7E or tx.from_address != DEPOSITOR_ACCOUNT or tx.to != L1_BLOCK_ADDRESS
            or tx.data[:4] != SET_L1_BLOCK_VALUES):
        return None
    try:
        values = abi_decode(_L1_INFO_TYPES, tx.data[4:], strict=True)
    except Exception:
        return None
    number, timestamp, base_fee, block_hash, sequence, batcher, blob_fee, _s1, _s2 = values
    return L1Info(number, timestamp, base_fee, bytes(block_hash), sequence, bytes(batcher), blob_fee)
