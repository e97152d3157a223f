"""Extract precompile calls from state-test fixtures whose contract is a thin
wrapper: ``CALLDATACOPY`` the whole transaction data, call one precompile with
it, store the success flag in slot 0 (and, for most EIP-2537 tests, the
return size in slot 1 and keccak(returndata) in slot 2).

This lets the precompiles be checked against the official expected results
before the VM exists. Fixtures whose contract does anything else are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import orjson

FIXTURES = Path(__file__).resolve().parents[3].parent / "shared" / "fixtures"
STATE_TESTS = FIXTURES / "eest" / "state_tests"

_CALL = re.compile(
    r"^366000600037"  # CALLDATACOPY(0, 0, CALLDATASIZE)
    r"(?:60[0-9a-f]{2}|61[0-9a-f]{4})(?:60[0-9a-f]{2}|61[0-9a-f]{4})"  # retSize, retOffset
    r"36(?:6000){1,2}"  # argsSize = CALLDATASIZE, argsOffset 0, [value 0]
    r"60([0-9a-f]{2})"  # precompile address
    r"(5a|60[0-9a-f]{2}|61[0-9a-f]{4}|62[0-9a-f]{6}|63[0-9a-f]{8})"  # gas
    r"(f1|f2|f4|fa)6000(55)"  # CALL-like, then SSTORE(0, success)
)
_HASHES_RETURNDATA = "3d6001553d600060003e3d600020600255"


@dataclass(frozen=True)
class PrecompileCall:
    test_name: str
    fork: str
    address: int
    data: bytes
    call_gas: int  # upper bound on the gas the precompile receives
    success: bool
    returndata_hash: Optional[bytes]  # keccak of the output when the fixture records it
    returndata_size: Optional[int]


def _slot(storage: dict, key: str) -> int:
    value = storage.get(key) or storage.get("0x" + key[2:].zfill(64)) or "0x00"
    return int(value, 16)


def calls_in(path: Path) -> Iterator[PrecompileCall]:
    tests = orjson.loads(path.read_bytes())
    for name, test in tests.items():
        tx = test["transaction"]
        target = tx.get("to")
        if not target:
            continue
        code = test["pre"].get(target, {}).get("code", "0x")[2:]
        match = _CALL.match(code)
        if not match:
            continue
        address = int(match.group(1), 16)
        gas_push = match.group(2)
        # GAS opcode: everything left, which is at most the transaction gas limit
        call_gas = int(tx["gasLimit"][0], 16) if gas_push == "5a" else int(gas_push[2:], 16)
        records_hash = code[match.end() :].startswith(_HASHES_RETURNDATA)
        for fork_name, fork_posts in test["post"].items():
            for post in fork_posts:
                if post.get("expectException"):
                    continue
                storage = post["state"][target]["storage"]
                data = bytes.fromhex(tx["data"][post["indexes"]["data"]][2:])
                yield PrecompileCall(
                    test_name=name,
                    fork=fork_name,
                    address=address,
                    data=data,
                    call_gas=call_gas,
                    success=_slot(storage, "0x00") == 1,
                    returndata_hash=_slot(storage, "0x02").to_bytes(32, "big") if records_hash else None,
                    returndata_size=_slot(storage, "0x01") if records_hash else None,
                )
