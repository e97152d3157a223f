"""EVM memory: one ``bytearray`` per frame, grown in 32-byte words."""

from __future__ import annotations

from hyperion.vm.exceptions import OutOfGas
from hyperion.vm.gas import MAX_MEMORY_END, MEMORY_WORD, memory_cost


def expand(f, end: int) -> None:
    """Grow ``f.memory`` to cover ``end`` bytes, charging the expansion gas.

    Callers check ``end > len(f.memory)`` first, so the common case (no
    growth) costs one comparison and no call.
    """
    if end > MAX_MEMORY_END:
        raise OutOfGas()
    mem = f.memory
    size = len(mem)
    old = (size + 31) >> 5  # words; memory_cost's formula written out (this runs on every growth)
    new = (end + 31) >> 5
    gas = f.gas - ((new - old) * MEMORY_WORD + (new * new >> 9) - (old * old >> 9))
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
    mem.extend(bytes((new << 5) - size))


def expansion_cost(f, end: int) -> int:
    """Gas that growing memory to cover ``end`` bytes would cost, without growing."""
    if end <= len(f.memory):
        return 0
    if end > MAX_MEMORY_END:
        return 1 << 64  # unpayable
    return memory_cost((end + 31) & ~31) - memory_cost(len(f.memory))


def padded_slice(data: bytes, offset: int, size: int) -> bytes:
    """data[offset:offset+size], zero-padded on the right (CALLDATACOPY & co.)."""
    if offset >= len(data):
        return bytes(size)
    chunk = data[offset : offset + size]
    if len(chunk) < size:
        return chunk + bytes(size - len(chunk))
    return chunk
