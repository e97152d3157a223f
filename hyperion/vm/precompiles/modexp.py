"""0x05 MODEXP: arbitrary-precision ``base ** exp % mod`` (EIP-198).

Gas follows EIP-2565. The three declared lengths are 256-bit numbers taken
from the input; gas is computed from them and from at most the first 32
bytes of the exponent, so a huge declared length never allocates anything:
it simply prices the call out of reach. Inputs shorter than declared are
zero-padded on the right.
"""

from __future__ import annotations

from ._util import padded_int, padded_slice
from .base import PrecompileError

MIN_GAS = 200
HEADER_SIZE = 96
# No gas limit can pay for operands this long (gas grows with length^2), so
# a larger declared length only reaches run() if the caller skipped gas().
MAX_PAYABLE_LENGTH = 1 << 32


def _lengths(data: bytes) -> tuple[int, int, int]:
    return padded_int(data, 0, 32), padded_int(data, 32, 32), padded_int(data, 64, 32)


def _iteration_count(data: bytes, base_len: int, exp_len: int) -> int:
    """EIP-2565's "adjusted exponent length", at least 1."""
    head_len = min(exp_len, 32)
    exp_head = padded_int(data, HEADER_SIZE + base_len, head_len)
    if exp_len <= 32:
        count = max(exp_head.bit_length() - 1, 0)
    else:
        count = 8 * (exp_len - 32) + max(exp_head.bit_length() - 1, 0)
    return max(count, 1)


def gas(data: bytes) -> int:
    base_len, exp_len, mod_len = _lengths(data)
    words = (max(base_len, mod_len) + 7) // 8
    multiplication_complexity = words * words
    return max(MIN_GAS, multiplication_complexity * _iteration_count(data, base_len, exp_len) // 3)


def run(data: bytes) -> bytes:
    base_len, exp_len, mod_len = _lengths(data)
    if mod_len == 0:
        # Nothing to return; the base and exponent are never read (they may
        # declare absurd sizes that the gas formula does not price).
        return b""
    if max(base_len, exp_len, mod_len) > MAX_PAYABLE_LENGTH:
        raise PrecompileError("modexp operand length exceeds any payable size")
    base = padded_int(data, HEADER_SIZE, base_len)
    exponent = int.from_bytes(padded_slice(data, HEADER_SIZE + base_len, exp_len), "big")
    modulus = padded_int(data, HEADER_SIZE + base_len + exp_len, mod_len)
    if modulus == 0:
        return bytes(mod_len)
    return pow(base, exponent, modulus).to_bytes(mod_len, "big")
