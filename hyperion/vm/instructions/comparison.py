"""Comparison and bitwise instructions (0x10-0x1e)."""

from __future__ import annotations

from hyperion.vm.template import M, wrap

SIGN = 1 << 255
TWO256 = 1 << 256


def lt(a, b):
    return 1 if a < b else 0


def gt(a, b):
    return 1 if a > b else 0


def slt(a, b):
    """Signed less-than: flipping the sign bit maps two's complement order onto unsigned order."""
    return 1 if a ^ SIGN < b ^ SIGN else 0


def sgt(a, b):
    return 1 if a ^ SIGN > b ^ SIGN else 0


def eq(a, b):
    return 1 if a == b else 0


def iszero(a):
    return 1 if a == 0 else 0


def and_(a, b):
    return a & b


def or_(a, b):
    return a | b


def xor(a, b):
    return a ^ b


def not_(a):
    return a ^ M


def byte(i, x):
    """The ``i``-th byte of ``x``, counting from the most significant."""
    return x >> (248 - (i << 3)) & 0xFF if i < 32 else 0


def shl(shift, value):
    return wrap(value << shift) if shift < 256 else 0


def shr(shift, value):
    return value >> shift if shift < 256 else 0


def sar(shift, value):
    """Arithmetic shift right: the sign bit fills in from the left."""
    if value & SIGN:
        result = wrap(value - TWO256 >> shift) if shift < 256 else M
    else:
        result = value >> shift if shift < 256 else 0
    return result


def clz(value):
    """EIP-7939: number of leading zero bits of a 256-bit word (256 for zero)."""
    return 256 - value.bit_length()
