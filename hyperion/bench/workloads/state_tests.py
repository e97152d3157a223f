"""Workloads from state-test-format benchmark files (ipsilon/evm-benchmarks).

Each file holds one or more tests ``{name: {env, pre, transaction, ...}}``
whose transaction lists several ``data`` variants (e.g. blake2b over an
empty input and over 8415 zero bytes). Every data variant becomes its own
workload, named ``<test>/<label>`` after the file's ``_info.labels`` (or
the variant index when unlabelled): the variants measure different code
paths, and picking only the heaviest would hide the cheap-call overhead.
The files have a single ``gas`` and ``value`` variant; the first one is used.

The fixtures were filled for London; they run here under a post-merge fork
(Cancun by default), so DIFFICULTY is dropped in favour of PREVRANDAO
(``currentRandom``). The transactions are re-signed with EIP-155 from the
file's ``secretKey`` so all workloads share one signing path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hyperion.bench.workloads.model import AccountSpec, BlockSpec, Workload, WorkloadError
from hyperion.bench.workloads.signing import address_of_key, sign_legacy_transaction


def _hex_int(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise WorkloadError(f"{what}: expected a hex string, got {type(value).__name__}")
    try:
        return int(value, 16) if value not in ("", "0x") else 0
    except ValueError:
        raise WorkloadError(f"{what}: not a hex integer: {value!r}") from None


def _hex_bytes(value: Any, what: str, length: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise WorkloadError(f"{what}: expected a hex string, got {type(value).__name__}")
    text = value[2:] if value.startswith(("0x", "0X")) else value
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise WorkloadError(f"{what}: not hex bytes: {value[:40]!r}") from None
    if length is not None and len(data) != length:
        raise WorkloadError(f"{what}: expected {length} bytes, got {len(data)}")
    return data


def _parse_pre(pre: Any, where: str) -> dict[bytes, AccountSpec]:
    if not isinstance(pre, dict):
        raise WorkloadError(f"{where}: 'pre' must be an object")
    accounts: dict[bytes, AccountSpec] = {}
    for address_hex, account in pre.items():
        what = f"{where}: pre[{address_hex}]"
        if not isinstance(account, dict):
            raise WorkloadError(f"{what} must be an object")
        storage_raw = account.get("storage", {})
        if not isinstance(storage_raw, dict):
            raise WorkloadError(f"{what}.storage must be an object")
        storage = {
            _hex_int(k, f"{what}.storage key"): _hex_int(v, f"{what}.storage value")
            for k, v in storage_raw.items()
        }
        accounts[_hex_bytes(address_hex, what, 20)] = AccountSpec(
            nonce=_hex_int(account.get("nonce", "0x00"), f"{what}.nonce"),
            balance=_hex_int(account.get("balance", "0x00"), f"{what}.balance"),
            code=_hex_bytes(account.get("code", "0x"), f"{what}.code"),
            storage={k: v for k, v in storage.items() if v},
        )
    return accounts


def _parse_env(env: Any, where: str) -> BlockSpec:
    if not isinstance(env, dict):
        raise WorkloadError(f"{where}: 'env' must be an object")
    try:
        return BlockSpec(
            coinbase=_hex_bytes(env["currentCoinbase"], f"{where}: currentCoinbase", 20),
            number=_hex_int(env["currentNumber"], f"{where}: currentNumber"),
            timestamp=_hex_int(env["currentTimestamp"], f"{where}: currentTimestamp"),
            gas_limit=_hex_int(env["currentGasLimit"], f"{where}: currentGasLimit"),
            base_fee=_hex_int(env.get("currentBaseFee", "0x00"), f"{where}: currentBaseFee"),
            prev_randao=_hex_int(
                env.get("currentRandom", "0x00"), f"{where}: currentRandom"
            ).to_bytes(32, "big"),
        )
    except KeyError as missing:
        raise WorkloadError(f"{where}: env lacks {missing}") from None


def _first(values: Any, what: str) -> Any:
    if not isinstance(values, list) or not values:
        raise WorkloadError(f"{what} must be a non-empty list")
    return values[0]


def workloads_from_test(name: str, test: Any, where: str) -> list[Workload]:
    """Turn one state test into one workload per ``data`` variant."""
    if not isinstance(test, dict):
        raise WorkloadError(f"{where}: test {name!r} must be an object")
    for key in ("env", "pre", "transaction"):
        if key not in test:
            raise WorkloadError(f"{where}: test {name!r} lacks {key!r}")
    pre = _parse_pre(test["pre"], where)
    block = _parse_env(test["env"], where)
    tx = test["transaction"]
    if not isinstance(tx, dict):
        raise WorkloadError(f"{where}: 'transaction' must be an object")
    try:
        private_key = _hex_bytes(tx["secretKey"], f"{where}: secretKey", 32)
        data_variants = tx["data"]
    except KeyError as missing:
        raise WorkloadError(f"{where}: transaction lacks {missing}") from None
    if "sender" in tx and _hex_bytes(tx["sender"], f"{where}: sender", 20) != address_of_key(
        private_key
    ):
        raise WorkloadError(f"{where}: secretKey does not belong to the sender")
    gas_limit = _hex_int(_first(tx.get("gasLimit"), f"{where}: gasLimit"), f"{where}: gasLimit")
    value = _hex_int(_first(tx.get("value", ["0x00"]), f"{where}: value"), f"{where}: value")
    gas_price = _hex_int(tx.get("gasPrice", "0x00"), f"{where}: gasPrice")
    nonce = _hex_int(tx.get("nonce", "0x00"), f"{where}: nonce")
    to_hex = tx.get("to", "")
    to = _hex_bytes(to_hex, f"{where}: to", 20) if to_hex else None
    if not isinstance(data_variants, list) or not data_variants:
        raise WorkloadError(f"{where}: transaction.data must be a non-empty list")
    labels = test.get("_info", {}).get("labels", {}) if isinstance(test.get("_info"), dict) else {}

    workloads = []
    for index, data_hex in enumerate(data_variants):
        label = str(labels.get(str(index), index))
        data = _hex_bytes(data_hex, f"{where}: data[{index}]")
        signed = sign_legacy_transaction(
            private_key,
            nonce=nonce,
            gas_price=gas_price,
            gas_limit=gas_limit,
            to=to,
            value=value,
            data=data,
            chain_id=block.chain_id,
        )
        workloads.append(
            Workload(
                name=f"{name}/{label}",
                description=f"{where} data variant {index} ({label})",
                pre=pre,
                block=block,
                transactions=(signed,),
            )
        )
    return workloads


def load_benchmark_file(path: Path) -> list[Workload]:
    """All workloads of one state-test-format benchmark file."""
    try:
        document = json.loads(Path(path).read_bytes())
    except OSError as error:
        raise WorkloadError(f"{path}: cannot read ({error.strerror or error})") from None
    except json.JSONDecodeError as error:
        raise WorkloadError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(document, dict) or not document:
        raise WorkloadError(f"{path}: expected a non-empty object of tests")
    workloads = []
    for name, test in document.items():
        workloads.extend(workloads_from_test(name, test, Path(path).name))
    return workloads


def load_benchmark_dir(directory: Path) -> list[Workload]:
    """Workloads of every ``*.json`` under ``directory`` (recursively), in path order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise WorkloadError(f"benchmark directory not found: {directory}")
    workloads = []
    for path in sorted(directory.rglob("*.json")):
        workloads.extend(load_benchmark_file(path))
    return workloads
