"""Control flow: STOP, JUMP, JUMPI, PC, GAS, JUMPDEST, RETURN, REVERT, INVALID."""

from __future__ import annotations

from hyperion.vm.exceptions import Halt, InvalidJump, InvalidOpcode, Revert
from hyperion.vm.memory import expand




def stop(f, pc):
    raise Halt()


def jump(f, pc):
    dest = f.stack.pop()
    if dest not in f.jumpdests:
        raise InvalidJump()
    return dest


def jumpi(f, pc):
    s = f.stack
    dest = s.pop()
    if s.pop():
        if dest not in f.jumpdests:
            raise InvalidJump()
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
