"""Stack instructions: POP, PUSH0..PUSH32, DUP1..16, SWAP1..16.

POP and PUSH0 are ordinary instructions. PUSHn, DUPn and SWAPn are stack
shape: the compiler resolves them at compile time (a constant, a copy or a
permutation of the values it tracks, no code at all), and the interpreter
runs the handlers made here from the same numbers ``n``: a PUSH handler is
made per occurrence by code analysis, with its value and next pc bound in.
"""

from __future__ import annotations


def pop(value):
    """Discard the top item."""


def push0():
    return 0


def make_push(value: int, next_pc: int):
    """PUSHn: push the immediate ``value`` (read by code analysis)."""

    def push(f, pc):
        f.stack.append(value)
        return next_pc

    return push


def make_dup(n: int):
    """DUPn: push a copy of the n-th item."""
    idx = -n

    def dup(f, pc):
        s = f.stack
        s.append(s[idx])
        return pc + 1

    dup.__name__ = f"dup{n}"
    return dup


def make_swap(n: int):
    """SWAPn: exchange the top item with the (n+1)-th."""
    idx = -n - 1

    def swap(f, pc):
        s = f.stack
        s[-1], s[idx] = s[idx], s[-1]
        return pc + 1

    swap.__name__ = f"swap{n}"
    return swap


DUPS = [make_dup(n) for n in range(1, 17)]
SWAPS = [make_swap(n) for n in range(1, 17)]
