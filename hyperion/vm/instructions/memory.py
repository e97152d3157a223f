"""Memory instructions: MLOAD, MSTORE, MSTORE8, MSIZE, MCOPY.

Memory is one ``bytearray`` per frame; ``expand`` grows it and charges the
expansion, and is called only when an access reaches past its end.
"""

from __future__ import annotations

from hyperion.vm.gas import COPY_WORD
from hyperion.vm.instructions.gas import charge
from hyperion.vm.memory import expand


def mload(f, offset):
    end = offset + 32
    if end > len(f.memory):
        expand(f, end)
    return int.from_bytes(f.memory[offset:end], "big")


def mstore(f, offset, value):
    end = offset + 32
    if end > len(f.memory):
        expand(f, end)
    f.memory[offset:end] = value.to_bytes(32, "big")


def mstore8(f, offset, value):
    if offset >= len(f.memory):
        expand(f, offset + 1)
    f.memory[offset] = value & 0xFF


def msize(f):
    return len(f.memory)


def mcopy(f, dest, source, size):
    """EIP-5656: copy within memory; the regions may overlap."""
    if size:
        charge(f, COPY_WORD * ((size + 31) >> 5))
        end = max(dest, source) + size
        if end > len(f.memory):
            expand(f, end)
        f.memory[dest:dest + size] = f.memory[source:source + size]
