"""Comparison and bitwise instructions (0x10-0x1d)."""

from __future__ import annotations

M = (1 << 256) - 1
SIGN = 1 << 255


def lt(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] = 1 if a < s[-1] else 0
    return pc + 1


def gt(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] = 1 if a > s[-1] else 0
    return pc + 1


def slt(f, pc):
    s = f.stack
    a = s.pop() ^ SIGN
    s[-1] = 1 if a < (s[-1] ^ SIGN) else 0
    return pc + 1


def sgt(f, pc):
    s = f.stack
    a = s.pop() ^ SIGN
    s[-1] = 1 if a > (s[-1] ^ SIGN) else 0
    return pc + 1


def eq(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] = 1 if a == s[-1] else 0
    return pc + 1


def iszero(f, pc):
    s = f.stack
    s[-1] = 0 if s[-1] else 1
    return pc + 1


def and_(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] &= a
    return pc + 1


def or_(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] |= a
    return pc + 1


def xor(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] ^= a
    return pc + 1


def not_(f, pc):
    s = f.stack
    s[-1] ^= M
    return pc + 1


def byte(f, pc):
    s = f.stack
    i = s.pop()
    s[-1] = (s[-1] >> (248 - (i << 3))) & 0xFF if i < 32 else 0
    return pc + 1


def shl(f, pc):
    s = f.stack
    shift = s.pop()
    s[-1] = (s[-1] << shift) & M if shift < 256 else 0
    return pc + 1


def shr(f, pc):
    s = f.stack
    shift = s.pop()
    s[-1] = s[-1] >> shift if shift < 256 else 0
    return pc + 1


def sar(f, pc):
    s = f.stack
    shift = s.pop()
    v = s[-1]
    if v & SIGN:
        s[-1] = ((v - (1 << 256)) >> shift) & M if shift < 256 else M
    else:
        s[-1] = v >> shift if shift < 256 else 0
    return pc + 1


def clz(f, pc):
    """EIP-7939: number of leading zero bits of a 256-bit word (256 for zero)."""
    s = f.stack
    s[-1] = 256 - s[-1].bit_length()
    return pc + 1
