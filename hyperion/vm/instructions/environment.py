"""Environment instructions (0x30-0x3f, 0x47, 0x49) and KECCAK256 (0x20).

The account-reading instructions come in two variants: the EIP-2929 ones
charge a cold or warm access themselves; the ``*_static`` ones (before
Berlin) cost a fixed amount that the instruction table carries as static
gas, so the instruction only reads.
"""

from __future__ import annotations

from hyperion.primitives.keccak import keccak256
from hyperion.vm.exceptions import ReturnDataOutOfBounds
from hyperion.vm.gas import COPY_WORD, KECCAK256_WORD
from hyperion.vm.instructions.gas import charge, charge_access
from hyperion.vm.memory import expand
from hyperion.vm.template import inline_helper

ADDRESS_MASK = (1 << 160) - 1
EMPTY_KECCAK = 0xC5D2460186F7233C927E7DB2DCC703C0E500B653CA82273B7BFAD8045D85A470

__all__ = ["charge", "charge_access", "to_address"]


def to_address(value: int) -> bytes:
    return (value & ADDRESS_MASK).to_bytes(20, "big")


@inline_helper
def copy_to_memory(f, source: bytes, dest: int, offset: int, size: int) -> None:
    """CALLDATACOPY & co.: ``size`` bytes of ``source`` from ``offset`` (zero-padded) to memory at ``dest``."""
    if size:
        charge(f, COPY_WORD * ((size + 31) >> 5))
        end = dest + size
        if end > len(f.memory):
            expand(f, end)
        f.memory[dest:end] = source[offset:offset + size].ljust(size, b"\0")  # zero-padded past the end


def keccak(f, offset, size):
    if size:
        charge(f, KECCAK256_WORD * ((size + 31) >> 5))
        end = offset + size
        if end > len(f.memory):
            expand(f, end)
        result = int.from_bytes(keccak256(f.memory[offset:end]), "big")
    else:
        result = EMPTY_KECCAK
    return result


def address(f):
    return int.from_bytes(f.address, "big")


def balance(f, address):
    a = to_address(address)
    charge_access(f, a)
    return f.state.get_balance(a)


def balance_static(f, address):
    """BALANCE before EIP-2929: the whole cost is static (20, 400, 700)."""
    return f.state.get_balance(to_address(address))


def origin(f):
    return int.from_bytes(f.ctx.origin, "big")


def caller(f):
    return int.from_bytes(f.caller, "big")


def callvalue(f):
    return f.value


def calldataload(f, offset):
    """32 bytes of call data from ``offset``, zero-padded past its end."""
    return int.from_bytes(f.data[offset:offset + 32].ljust(32, b"\0"), "big")


def calldatasize(f):
    return len(f.data)


def calldatacopy(f, dest, offset, size):
    copy_to_memory(f, f.data, dest, offset, size)


def codesize(f):
    return len(f.code)


def codecopy(f, dest, offset, size):
    copy_to_memory(f, f.code, dest, offset, size)


def gasprice(f):
    return f.ctx.gas_price


def extcodesize(f, address):
    a = to_address(address)
    charge_access(f, a)
    return len(f.state.get_code(a))


def extcodesize_static(f, address):
    return len(f.state.get_code(to_address(address)))


def extcodecopy(f, address, dest, offset, size):
    a = to_address(address)
    charge_access(f, a)
    if size:
        copy_to_memory(f, f.state.get_code(a), dest, offset, size)


def extcodecopy_static(f, address, dest, offset, size):
    if size:
        copy_to_memory(f, f.state.get_code(to_address(address)), dest, offset, size)


def returndatasize(f):
    return len(f.return_data)


def returndatacopy(f, dest, offset, size):
    """Charged (copy and memory) before the bounds check, as in the execution specs: when both
    fail, the halt is out of gas."""
    if size:
        charge(f, COPY_WORD * ((size + 31) >> 5))
        end = dest + size
        if end > len(f.memory):
            expand(f, end)
    if offset + size > len(f.return_data):
        raise ReturnDataOutOfBounds()
    if size:
        f.memory[dest:end] = f.return_data[offset:offset + size]


def extcodehash(f, address):
    a = to_address(address)
    charge_access(f, a)
    return 0 if f.state.is_empty(a) else int.from_bytes(f.state.get_code_hash(a), "big")


def extcodehash_static(f, address):
    a = to_address(address)
    return 0 if f.state.is_empty(a) else int.from_bytes(f.state.get_code_hash(a), "big")


def selfbalance(f):
    return f.state.get_balance(f.address)


def blobhash(f, index):
    hashes = f.ctx.blob_hashes
    return int.from_bytes(hashes[index], "big") if index < len(hashes) else 0
