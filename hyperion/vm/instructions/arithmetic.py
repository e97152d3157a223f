"""Arithmetic instructions (0x01-0x0b). Words are Python ints in [0, 2**256)."""

from __future__ import annotations

from hyperion.vm.instructions.gas import charge
from hyperion.vm.template import M, wrap

SIGN = 1 << 255
TWO256 = 1 << 256

__all__ = ["M", "SIGN", "TWO256"]


def add(a, b):
    return wrap(a + b)


def mul(a, b):
    return wrap(a * b)


def sub(a, b):
    return wrap(a - b)


def div(a, b):
    return a // b if b else 0


def sdiv(a, b):
    """Signed division, rounding towards zero; -2**255 / -1 overflows back to -2**255."""
    x = a - TWO256 if a & SIGN else a
    y = b - TWO256 if b & SIGN else b
    q = abs(x) // abs(y) if y else 0
    if (x < 0) != (y < 0):
        q = -q
    return wrap(q)


def mod(a, b):
    return a % b if b else 0


def smod(a, b):
    """Signed modulo: the result takes the dividend's sign."""
    x = a - TWO256 if a & SIGN else a
    y = b - TWO256 if b & SIGN else b
    r = abs(x) % abs(y) if y else 0
    return wrap(-r if x < 0 else r)


def addmod(a, b, n):
    return (a + b) % n if n else 0


def mulmod(a, b, n):
    return (a * b) % n if n else 0


def exp(f, base, exponent, *, byte_gas):
    """EXP charges ``byte_gas`` per byte of the exponent (10, then 50 since EIP-160)."""
    if exponent:
        charge(f, byte_gas * ((exponent.bit_length() + 7) >> 3))
        result = pow(base, exponent, TWO256)
    else:
        result = 1
    return result


def signextend(b, x):
    """Extend the sign bit of the low ``b + 1`` bytes of ``x`` to the whole word."""
    if b < 31:
        bit = (b << 3) + 7
        mask = (1 << bit) - 1
        result = (x | ~mask) & M if x >> bit & 1 else x & mask
    else:
        result = x
    return result
