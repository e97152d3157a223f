"""Control flow: STOP, JUMP, JUMPI, PC, GAS, JUMPDEST, RETURN, REVERT, INVALID.

JUMP and JUMPI are control flow for both tiers: the interpreter's handlers
below enter the destination's block (its static gas and stack bounds, from
code analysis); the compiler resolves static destinations at compile time
and checks dynamic ones against the same JUMPDEST rule.
"""

from __future__ import annotations

from hyperion.vm.exceptions import Halt, InvalidOpcode, Revert
from hyperion.vm.memory import expand
from hyperion.vm.stepping import halt_exactly


def stop():
    raise Halt()


def pc_(pc):
    return pc


def gas(f):
    """The gas left after this instruction (GAS ends its block, so charging is exact here)."""
    return f.gas


def jumpdest():
    """Marks a valid jump destination; does nothing."""


def read_memory(f, offset: int, size: int) -> bytes:
    """``size`` bytes of memory from ``offset``, growing (and charging for) memory first."""
    if not size:
        return b""
    end = offset + size
    if end > len(f.memory):
        expand(f, end)
    return bytes(f.memory[offset:end])


def return_(f, offset, size):
    f.output = read_memory(f, offset, size)
    raise Halt()


def revert(f, offset, size):
    f.output = read_memory(f, offset, size)
    raise Revert()


def invalid():
    raise InvalidOpcode()


# -- the interpreter's jumps ------------------------------------------------------------

def jump(f, pc):
    s = f.stack
    dest = s.pop()
    try:
        gas, need, limit = f.jumpdests[dest]
    except KeyError:  # invalid, or its chain is not built yet
        gas, need, limit = f.analysis.resolve_jump(dest)
    # Enter the destination block: its static gas and stack bounds (see analysis).
    g = f.gas - gas
    n = len(s)
    if g < 0 or n < need or n > limit:
        halt_exactly(f, dest, f.analysis)  # which instruction of the block halts, and why
    f.gas = g
    return dest


def jumpi(f, pc):
    s = f.stack
    dest = s.pop()
    if s.pop():
        try:
            gas, need, limit = f.jumpdests[dest]
        except KeyError:  # invalid, or its chain is not built yet
            gas, need, limit = f.analysis.resolve_jump(dest)
        g = f.gas - gas
        n = len(s)
        if g < 0 or n < need or n > limit:
            halt_exactly(f, dest, f.analysis)
        f.gas = g
        return dest
    return pc + 1
