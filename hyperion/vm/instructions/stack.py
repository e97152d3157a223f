"""Stack instructions: POP, PUSH0..PUSH32, DUP1..16, SWAP1..16.

PUSHn handlers are made per occurrence by code analysis, with the
immediate value and the next pc bound in the closure, so executing a PUSH
is one append and one return.
"""

from __future__ import annotations


def pop(f, pc):
    f.stack.pop()
    return pc + 1


def push0(f, pc):
    f.stack.append(0)
    return pc + 1


def make_push(value: int, next_pc: int):
    def push(f, pc):
        f.stack.append(value)
        return next_pc

    return push


def make_dup(n: int):
    idx = -n

    def dup(f, pc):
        s = f.stack
        s.append(s[idx])
        return pc + 1

    dup.__name__ = f"dup{n}"
    return dup


def make_swap(n: int):
    idx = -n - 1

    def swap(f, pc):
        s = f.stack
        s[-1], s[idx] = s[idx], s[-1]
        return pc + 1

    swap.__name__ = f"swap{n}"
    return swap


DUPS = [make_dup(n) for n in range(1, 17)]
SWAPS = [make_swap(n) for n in range(1, 17)]
