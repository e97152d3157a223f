"""What a block does besides its transactions: system calls, withdrawals, requests.

- EIP-4788 (Cancun): before the transactions, the beacon-roots contract is
  called with the parent beacon block root; EIP-2935 (Prague): the history
  contract is called with the parent hash. Both calls are "unchecked": a
  missing contract or a failing call changes nothing and is not an error.
- EIP-4895 (Shanghai): after the transactions, each withdrawal credits its
  amount (in gwei) to its address, with no gas and no code run.
- EIP-7685 (Prague): then the requests are collected: EIP-6110 deposits
  from the deposit contract's logs, EIP-7002 withdrawal requests and
  EIP-7251 consolidation requests from "checked" system calls, which make
  the block invalid if the contract has no code or the call fails.

The block builder and the block importer both use these functions, so a
block the node builds is executed exactly as an imported one.
"""

from __future__ import annotations

import hashlib
from typing import Iterable, Optional, Sequence

from hyperion.execution.transaction import apply_transaction  # noqa: F401  (loads the VM in its working order)
from hyperion.vm.environment import BlockEnv
from hyperion.vm.frame import TxContext
from hyperion.vm.interpreter import SUCCESS, execute_call

SYSTEM_ADDRESS = bytes.fromhex("fffffffffffffffffffffffffffffffffffffffe")
SYSTEM_CALL_GAS = 30_000_000

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
WITHDRAWAL_REQUEST_ADDRESS = bytes.fromhex("00000961ef480eb55e80d19ad83579a64c007002")
WITHDRAWAL_REQUEST_CODE = bytes.fromhex(
    "3373fffffffffffffffffffffffffffffffffffffffe1460cb5760115f54807fffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffff146101f457600182026001905f5b5f82111560685781019083028483029004916001"
    "019190604d565b909390049250505036603814608857366101f457346101f4575f5260205ff35b34106101f45760015460"
    "0101600155600354806003026004013381556001015f35815560010160203590553360601b5f5260385f601437604c5fa0"
    "600101600355005b6003546002548082038060101160df575060105b5f5b8181146101835782810160030260040181604c"
    "02815460601b8152601401816001015481526020019060020154807fffffffffffffffffffffffffffffffff0000000000"
    "0000000000000000000000168252906010019060401c908160381c81600701538160301c81600601538160281c81600501"
    "538160201c81600401538160181c81600301538160101c81600201538160081c81600101535360010160e1565b91018092"
    "1461019557906002556101a0565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffff14156101cd57505f5b6001546002828201116101e25750505f6101e8565b01600290035b5f"
    "555f600155604c025ff35b5f5ffd"
)
CONSOLIDATION_REQUEST_ADDRESS = bytes.fromhex("0000bbddc7ce488642fb579f8b00f3a590007251")
CONSOLIDATION_REQUEST_CODE = bytes.fromhex(
    "3373fffffffffffffffffffffffffffffffffffffffe1460d35760115f54807fffffffffffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffff1461019a57600182026001905f5b5f82111560685781019083028483029004916001"
    "019190604d565b9093900492505050366060146088573661019a573461019a575f5260205ff35b341061019a5760015460"
    "0101600155600354806004026004013381556001015f358155600101602035815560010160403590553360601b5f526060"
    "5f60143760745fa0600101600355005b6003546002548082038060021160e7575060025b5f5b8181146101295782810160"
    "040260040181607402815460601b815260140181600101548152602001816002015481526020019060030154905260010160"
    "e9565b910180921461013b5790600255610146565b90505f6002555f6003555b5f54807fffffffffffffffffffffffffff"
    "ffffffffffffffffffffffffffffffffffffff141561017357505f5b6001546001828201116101885750505f61018e565b"
    "01600190035b5f555f6001556074025ff35b5f5ffd"
)

# EIP-6110: mainnet's deposit contract and its DepositEvent; other chains name theirs in the genesis config.
MAINNET_DEPOSIT_CONTRACT = bytes.fromhex("00000000219ab540356cbb839cbe05303d7705fa")
DEPOSIT_EVENT_TOPIC = bytes.fromhex("649bbc62d0e31342afea4e5cd82d4049e7e1ee912fc0889aa790803be39038c5")
DEPOSIT_REQUEST_TYPE = b"\x00"
WITHDRAWAL_REQUEST_TYPE = b"\x01"
CONSOLIDATION_REQUEST_TYPE = b"\x02"
# DepositEvent(bytes pubkey, bytes withdrawal_credentials, bytes amount, bytes signature, bytes index):
# five ABI offsets, then each field as (length word, data padded to 32 bytes).
_DEPOSIT_EVENT_LENGTH = 576
_DEPOSIT_FIELDS = ((160, 48), (256, 32), (320, 8), (384, 96), (512, 8))  # (offset, size) of each field
GWEI = 10**9


class SystemCallError(Exception):
    """A checked system call could not run (``rule`` names what went wrong, EEST's vocabulary)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


def _run_system_call(state, env: BlockEnv, contract: bytes, code: bytes, data: bytes) -> tuple[bool, bytes]:
    """One call from SYSTEM_ADDRESS: no gas charged, no value, outside any transaction (EIP-4788 rules)."""
    state.begin_transaction()
    ctx = TxContext(state, env, env.fork, SYSTEM_ADDRESS, 0)
    status, _gas_left, output = execute_call(ctx, SYSTEM_ADDRESS, contract, contract, 0, data, SYSTEM_CALL_GAS, 0,
                                             False, False, code)
    state.end_transaction()
    return status == SUCCESS, output


def system_call(state, env: BlockEnv, contract: bytes, data: bytes) -> None:
    """An unchecked system call: nothing happens when the contract has no code, a failure is ignored."""
    code = state.get_code(contract)
    if code:
        _run_system_call(state, env, contract, code, data)


def checked_system_call(state, env: BlockEnv, contract: bytes, data: bytes = b"") -> bytes:
    """A checked system call (EIP-7002/7251): its output; SystemCallError if there is no code or it fails."""
    code = state.get_code(contract)
    if not code:
        raise SystemCallError("SYSTEM_CONTRACT_EMPTY", f"system contract 0x{contract.hex()} has no code")
    success, output = _run_system_call(state, env, contract, code, data)
    if not success:
        raise SystemCallError("SYSTEM_CONTRACT_CALL_FAILED", f"system contract 0x{contract.hex()} call failed")
    return output


def pre_block_calls(state, env: BlockEnv, parent_hash: bytes, beacon_root: Optional[bytes]) -> None:
    """The system calls before the first transaction (EIP-4788 from Cancun, EIP-2935 from Prague)."""
    fork = env.fork
    if fork.has_beacon_root:
        system_call(state, env, BEACON_ROOTS_ADDRESS, beacon_root or b"\x00" * 32)
    if fork.has_history_storage:
        system_call(state, env, HISTORY_STORAGE_ADDRESS, parent_hash)


def apply_withdrawals(state, withdrawals: Iterable) -> None:
    """EIP-4895: credit each withdrawal; an account left empty (amount 0) is removed, as EIP-161 does."""
    for withdrawal in withdrawals:
        address = withdrawal.address
        state.set_balance(address, state.get_balance(address) + withdrawal.amount * GWEI)
        if state.account_exists(address) and state.is_empty(address):
            state.destroy_account(address)


def deposit_request(data: bytes) -> bytes:
    """The EIP-6110 request of one DepositEvent log; SystemCallError if the layout is not the contract's."""
    if len(data) != _DEPOSIT_EVENT_LENGTH:
        raise SystemCallError("INVALID_DEPOSIT_EVENT_LAYOUT", f"deposit event data is {len(data)} bytes, not 576")
    parts = []
    for index, (offset, size) in enumerate(_DEPOSIT_FIELDS):
        if int.from_bytes(data[32 * index: 32 * index + 32], "big") != offset:
            raise SystemCallError("INVALID_DEPOSIT_EVENT_LAYOUT", f"deposit event field {index} has a wrong offset")
        if int.from_bytes(data[offset: offset + 32], "big") != size:
            raise SystemCallError("INVALID_DEPOSIT_EVENT_LAYOUT", f"deposit event field {index} has a wrong size")
        parts.append(data[offset + 32: offset + 32 + size])
    return b"".join(parts)


def collect_requests(state, env: BlockEnv, logs: Iterable, deposit_contract: Optional[bytes]) -> list[bytes]:
    """EIP-7685: the block's requests (type byte + data), in type order, empty ones left out."""
    deposits = b""
    if deposit_contract is not None:
        deposits = b"".join(deposit_request(log.data) for log in logs
                            if log.address == deposit_contract and log.topics and log.topics[0] == DEPOSIT_EVENT_TOPIC)
    requests = []
    if deposits:
        requests.append(DEPOSIT_REQUEST_TYPE + deposits)
    withdrawals = checked_system_call(state, env, WITHDRAWAL_REQUEST_ADDRESS)
    if withdrawals:
        requests.append(WITHDRAWAL_REQUEST_TYPE + withdrawals)
    consolidations = checked_system_call(state, env, CONSOLIDATION_REQUEST_ADDRESS)
    if consolidations:
        requests.append(CONSOLIDATION_REQUEST_TYPE + consolidations)
    return requests


def requests_hash(requests: Sequence[bytes]) -> bytes:
    """EIP-7685: sha256 over the sha256 of each request (type byte + data)."""
    outer = hashlib.sha256()
    for request in requests:
        outer.update(hashlib.sha256(request).digest())
    return outer.digest()


__all__ = [
    "BEACON_ROOTS_ADDRESS", "BEACON_ROOTS_CODE", "CONSOLIDATION_REQUEST_ADDRESS", "CONSOLIDATION_REQUEST_CODE",
    "DEPOSIT_EVENT_TOPIC", "HISTORY_SERVE_WINDOW", "HISTORY_STORAGE_ADDRESS", "HISTORY_STORAGE_CODE",
    "MAINNET_DEPOSIT_CONTRACT", "SYSTEM_ADDRESS", "SYSTEM_CALL_GAS", "SystemCallError", "WITHDRAWAL_REQUEST_ADDRESS",
    "WITHDRAWAL_REQUEST_CODE", "apply_withdrawals", "checked_system_call", "collect_requests", "deposit_request",
    "pre_block_calls", "requests_hash", "system_call",
]
