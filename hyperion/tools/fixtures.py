"""Reading the JSON test fixtures of ethereum/tests and execution-spec-tests.

Fixture values are hex strings ("0x01", "0x" for empty bytes); this module
turns them into ints, bytes and account specs and reports anything malformed
as a ``FixtureError`` that names the offending field, so a runner can mark
one case failed and go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import orjson


class FixtureError(ValueError):
    """A fixture file is unreadable or a field in it is malformed."""


class LfsPointer(FixtureError):
    """The file is a Git-LFS pointer: the fixture's content is not present.
    Runners report it as skipped, never as a pass or a malformed fixture."""


LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
LFS_SKIP_REASON = "LFS pointer, content not present"


def load_json(path: Path) -> Any:
    """Parse a fixture file; unreadable or invalid JSON raises FixtureError,
    a Git-LFS pointer file raises LfsPointer."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FixtureError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw.startswith(LFS_POINTER_PREFIX):
        raise LfsPointer(f"{path}: {LFS_SKIP_REASON}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise FixtureError(f"invalid JSON in {path}: {exc}") from None


def parse_int(value: Any, what: str) -> int:
    """A non-negative integer given as "0x.." hex, a decimal string or a JSON number."""
    if isinstance(value, bool):
        raise FixtureError(f"{what}: expected an integer, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise FixtureError(f"{what}: negative value {value}")
        return value
    if not isinstance(value, str):
        raise FixtureError(f"{what}: expected an integer, got {type(value).__name__}")
    text = value.strip()
    try:
        if text[:2] in ("0x", "0X"):
            return int(text[2:], 16) if len(text) > 2 else 0
        if text.isdigit():
            return int(text)
    except ValueError:
        pass
    raise FixtureError(f"{what}: not a hex or decimal integer: {value!r}")


def parse_bytes(value: Any, what: str, length: Optional[int] = None) -> bytes:
    """Bytes given as a "0x.." hex string, optionally of an exact length."""
    if not isinstance(value, str):
        raise FixtureError(f"{what}: expected a hex string, got {type(value).__name__}")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise FixtureError(f"{what}: bad hex string {value[:80]!r}") from None
    if length is not None and len(data) != length:
        raise FixtureError(f"{what}: expected {length} bytes, got {len(data)}")
    return data


def parse_word(value: Any, what: str) -> bytes:
    """A 32-byte word that fixtures may write as a shorter hex number."""
    number = parse_int(value, what)
    if number >= 1 << 256:
        raise FixtureError(f"{what}: does not fit in 32 bytes")
    return number.to_bytes(32, "big")


def parse_address(value: Any, what: str) -> bytes:
    return parse_bytes(value, what, 20)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """One account of a fixture's ``pre`` or expected post ``state``."""

    nonce: int
    balance: int
    code: bytes
    storage: dict[int, int]


def parse_account(fields: Any, what: str) -> AccountSpec:
    if not isinstance(fields, dict):
        raise FixtureError(f"{what}: expected an object, got {type(fields).__name__}")
    raw_storage = fields.get("storage", {})
    if not isinstance(raw_storage, dict):
        raise FixtureError(f"{what}.storage: expected an object")
    storage = {}
    for key, value in raw_storage.items():
        slot_value = parse_int(value, f"{what}.storage[{key}]")
        if slot_value:  # a zero slot is the same as an absent one
            storage[parse_int(key, f"{what}.storage key")] = slot_value
    return AccountSpec(
        nonce=parse_int(fields.get("nonce", 0), f"{what}.nonce"),
        balance=parse_int(fields.get("balance", 0), f"{what}.balance"),
        code=parse_bytes(fields.get("code", "0x"), f"{what}.code"),
        storage=storage,
    )


def parse_alloc(alloc: Any, what: str) -> dict[bytes, AccountSpec]:
    """An address -> account map such as a state test's ``pre``."""
    if not isinstance(alloc, dict):
        raise FixtureError(f"{what}: expected an object of accounts")
    return {
        parse_address(address, f"{what} address"): parse_account(fields, f"{what}[{address}]")
        for address, fields in alloc.items()
    }
