"""0x05 MODEXP: arbitrary-precision ``base ** exp % mod`` (EIP-198).

Gas follows EIP-198 (Byzantium), EIP-2565 (Berlin) or EIP-7883 (Osaka,
which also bounds every length to 1024 bytes, EIP-7823); ``GAS_RULES``
maps a fork's ``modexp_rule`` to its function. The three declared lengths
are 256-bit numbers taken from the input; gas is computed from them and
from at most the first 32 bytes of the exponent, so a huge declared length
never allocates anything: it simply prices the call out of reach (or, from
Osaka, fails it). Inputs shorter than declared are zero-padded on the right.
"""

from __future__ import annotations

from hyperion.vm.forks import MODEXP_EIP198, MODEXP_EIP2565, MODEXP_EIP7883

from ._util import padded_int, padded_slice
from .base import PrecompileError

MIN_GAS = 200  # EIP-2565
MIN_GAS_EIP7883 = 500
MAX_INPUT_LENGTH_EIP7823 = 1024
HEADER_SIZE = 96
# No gas limit can pay for operands this long (gas grows with length^2), so
# a larger declared length only reaches run() if the caller skipped gas().
MAX_PAYABLE_LENGTH = 1 << 32


def _lengths(data: bytes) -> tuple[int, int, int]:
    return padded_int(data, 0, 32), padded_int(data, 32, 32), padded_int(data, 64, 32)


def _iteration_count(data: bytes, base_len: int, exp_len: int, bytes_factor: int = 8) -> int:
    """The "adjusted exponent length", at least 1 (EIP-7883 counts 16 per byte beyond 32, not 8)."""
    head_len = min(exp_len, 32)
    exp_head = padded_int(data, HEADER_SIZE + base_len, head_len)
    if exp_len <= 32:
        count = max(exp_head.bit_length() - 1, 0)
    else:
        count = bytes_factor * (exp_len - 32) + max(exp_head.bit_length() - 1, 0)
    return max(count, 1)


def gas_eip198(data: bytes) -> int:
    """Byzantium's price: piecewise quadratic complexity / 20, no minimum."""
    base_len, exp_len, mod_len = _lengths(data)
    x = max(base_len, mod_len)
    if x <= 64:
        complexity = x * x
    elif x <= 1024:
        complexity = x * x // 4 + 96 * x - 3072
    else:
        complexity = x * x // 16 + 480 * x - 199680
    return complexity * _iteration_count(data, base_len, exp_len) // 20


def gas(data: bytes) -> int:
    """EIP-2565's price (Berlin..Prague)."""
    base_len, exp_len, mod_len = _lengths(data)
    words = (max(base_len, mod_len) + 7) // 8
    multiplication_complexity = words * words
    return max(MIN_GAS, multiplication_complexity * _iteration_count(data, base_len, exp_len) // 3)


def gas_eip7883(data: bytes) -> int:
    """Osaka: EIP-7823 bounds (a longer operand fails the call) and EIP-7883's price."""
    base_len, exp_len, mod_len = _lengths(data)
    if base_len > MAX_INPUT_LENGTH_EIP7823 or exp_len > MAX_INPUT_LENGTH_EIP7823 or mod_len > MAX_INPUT_LENGTH_EIP7823:
        raise PrecompileError("modexp operand longer than 1024 bytes (EIP-7823)")
    longest = max(base_len, mod_len)
    if longest <= 32:
        multiplication_complexity = 16
    else:
        words = (longest + 7) // 8
        multiplication_complexity = 2 * words * words
    return max(MIN_GAS_EIP7883, multiplication_complexity * _iteration_count(data, base_len, exp_len, 16))


GAS_RULES = {MODEXP_EIP198: gas_eip198, MODEXP_EIP2565: gas, MODEXP_EIP7883: gas_eip7883}


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
