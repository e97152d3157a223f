"""Control flow: STOP, JUMP, JUMPI, PC, GAS, JUMPDEST, RETURN, REVERT, INVALID."""

from __future__ import annotations

from hyperion.vm.exceptions import Halt, InvalidOpcode, OutOfGas, Revert, StackOverflow, StackUnderflow
from hyperion.vm.memory import expand




def stop(f, pc):
    raise Halt()


def jump(f, pc):
    s = f.stack
    dest = s.pop()
    try:
        gas, need, limit = f.jumpdests[dest]
    except KeyError:  # invalid, or its chain is not built yet
        gas, need, limit = f.analysis.resolve_jump(dest)
    # Enter the destination block: its static gas and stack bounds (see analysis).
    g = f.gas - gas
    if g < 0:
        raise OutOfGas()
    f.gas = g
    n = len(s)
    if n < need:
        raise StackUnderflow()
    if n > limit:
        raise StackOverflow()
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
        if g < 0:
            raise OutOfGas()
        f.gas = g
        n = len(s)
        if n < need:
            raise StackUnderflow()
        if n > limit:
            raise StackOverflow()
        return dest
    return pc + 1


def make_pc(value: int):
    def pc_(f, pc):
        f.stack.append(value)
        return pc + 1

    return pc_


def gas(f, pc):
    f.stack.append(f.gas)
    return pc + 1


def jumpdest(f, pc):
    return pc + 1


def _output(f):
    s = f.stack
    off = s.pop()
    size = s.pop()
    if size:
        end = off + size
        if end > len(f.memory):
            expand(f, end)
        return bytes(f.memory[off:end])
    return b""


def return_(f, pc):
    f.output = _output(f)
    raise Halt()


def revert(f, pc):
    f.output = _output(f)
    raise Revert()


def invalid(f, pc):
    raise InvalidOpcode()
