"""0x04 IDENTITY: returns its input (15 gas + 3 per word)."""

from __future__ import annotations

from ._util import words


def gas(data: bytes) -> int:
    return 15 + 3 * words(len(data))


def run(data: bytes) -> bytes:
    return bytes(data)
