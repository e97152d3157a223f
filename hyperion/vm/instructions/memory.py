"""Memory instructions: MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY."""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas
from hyperion.vm.gas import COPY_WORD
from hyperion.vm.memory import expand


def mload(f, pc):
    s = f.stack
    off = s[-1]
    mem = f.memory
    end = off + 32
    if end > len(mem):
        expand(f, end)
    s[-1] = int.from_bytes(mem[off:end], "big")
    return pc + 1


def mstore(f, pc):
    s = f.stack
    off = s.pop()
    value = s.pop()
    mem = f.memory
    end = off + 32
    if end > len(mem):
        expand(f, end)
    mem[off:end] = value.to_bytes(32, "big")
    return pc + 1


def mstore8(f, pc):
    s = f.stack
    off = s.pop()
    value = s.pop()
    mem = f.memory
    if off >= len(mem):
        expand(f, off + 1)
    mem[off] = value & 0xFF
    return pc + 1


def msize(f, pc):
    f.stack.append(len(f.memory))
    return pc + 1


def mcopy(f, pc):
    s = f.stack
    dst = s.pop()
    src = s.pop()
    size = s.pop()
    if size:
        gas = f.gas - COPY_WORD * ((size + 31) >> 5)
        if gas < 0:
            raise OutOfGas()
        f.gas = gas
        end = max(dst, src) + size
        mem = f.memory
        if end > len(mem):
            expand(f, end)
        mem[dst : dst + size] = mem[src : src + size]
    return pc + 1
