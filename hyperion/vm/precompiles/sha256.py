"""0x02 SHA256 (60 gas + 12 per 32-byte word)."""

from __future__ import annotations

from Crypto.Hash import SHA256

from ._util import words


def gas(data: bytes) -> int:
    return 60 + 12 * words(len(data))


def run(data: bytes) -> bytes:
    return SHA256.new(data).digest()
