"""0x03 RIPEMD160 (600 gas + 120 per word); the 20-byte digest is left-padded to 32."""

from __future__ import annotations

from Crypto.Hash import RIPEMD160

from ._util import words


def gas(data: bytes) -> int:
    return 600 + 120 * words(len(data))


def run(data: bytes) -> bytes:
    return bytes(12) + RIPEMD160.new(data).digest()
