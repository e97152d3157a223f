"""Arithmetic instructions (0x01-0x0b). Values are Python ints in [0, 2**256)."""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas

M = (1 << 256) - 1
SIGN = 1 << 255
TWO256 = 1 << 256


def add(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] = (a + s[-1]) & M
    return pc + 1


def mul(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] = (a * s[-1]) & M
    return pc + 1


def sub(f, pc):
    s = f.stack
    a = s.pop()
    s[-1] = (a - s[-1]) & M
    return pc + 1


def div(f, pc):
    s = f.stack
    a = s.pop()
    b = s[-1]
    s[-1] = a // b if b else 0
    return pc + 1


def sdiv(f, pc):
    s = f.stack
    a = s.pop()
    b = s[-1]
    if b == 0:
        s[-1] = 0
        return pc + 1
    if a & SIGN:
        a -= TWO256
    if b & SIGN:
        b -= TWO256
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    s[-1] = q & M
    return pc + 1


def mod(f, pc):
    s = f.stack
    a = s.pop()
    b = s[-1]
    s[-1] = a % b if b else 0
    return pc + 1


def smod(f, pc):
    s = f.stack
    a = s.pop()
    b = s[-1]
    if b == 0:
        s[-1] = 0
        return pc + 1
    if a & SIGN:
        a -= TWO256
    if b & SIGN:
        b -= TWO256
    r = abs(a) % abs(b)
    s[-1] = (-r if a < 0 else r) & M
    return pc + 1


def addmod(f, pc):
    s = f.stack
    a = s.pop()
    b = s.pop()
    n = s[-1]
    s[-1] = (a + b) % n if n else 0
    return pc + 1


def mulmod(f, pc):
    s = f.stack
    a = s.pop()
    b = s.pop()
    n = s[-1]
    s[-1] = (a * b) % n if n else 0
    return pc + 1


def make_exp(byte_gas: int):
    """EXP charging ``byte_gas`` per byte of the exponent (10, then 50 since EIP-160)."""

    def exp(f, pc):
        s = f.stack
        base = s.pop()
        exponent = s[-1]
        if exponent:
            cost = byte_gas * ((exponent.bit_length() + 7) >> 3)
            gas = f.gas - cost
            if gas < 0:
                raise OutOfGas()
            f.gas = gas
            s[-1] = pow(base, exponent, TWO256)
        else:
            s[-1] = 1
        return pc + 1

    return exp



def signextend(f, pc):
    s = f.stack
    b = s.pop()
    x = s[-1]
    if b < 31:
        bit = (b << 3) + 7
        mask = (1 << bit) - 1
        if x >> bit & 1:
            s[-1] = (x | ~mask) & M
        else:
            s[-1] = x & mask
    return pc + 1
