"""Environment instructions (0x30-0x3f, 0x47, 0x49) and KECCAK256 (0x20).

The account-reading instructions come in two variants: the EIP-2929 ones
charge a cold or warm access themselves; the ``*_static`` ones (before
Berlin) cost a fixed amount that the instruction table carries as static
gas, so the handler only reads.
"""

from __future__ import annotations

from hyperion.primitives.keccak import keccak256
from hyperion.vm.exceptions import OutOfGas, ReturnDataOutOfBounds
from hyperion.vm.gas import COLD_ACCOUNT_ACCESS, COPY_WORD, KECCAK256_WORD, WARM_ACCESS
from hyperion.vm.memory import expand, padded_slice

ADDRESS_MASK = (1 << 160) - 1


def to_address(value: int) -> bytes:
    return (value & ADDRESS_MASK).to_bytes(20, "big")


def charge(f, cost: int) -> None:
    gas = f.gas - cost
    if gas < 0:
        raise OutOfGas()
    f.gas = gas


def charge_access(f, address: bytes) -> None:
    """EIP-2929 account access: cold 2600, warm 100."""
    gas = f.gas - (COLD_ACCOUNT_ACCESS if f.state.warm_address(address) else WARM_ACCESS)
    if gas < 0:
        raise OutOfGas()
    f.gas = gas


def keccak(f, pc):
    s = f.stack
    off = s.pop()
    size = s[-1]
    if size:
        charge(f, KECCAK256_WORD * ((size + 31) >> 5))
        end = off + size
        if end > len(f.memory):
            expand(f, end)
        s[-1] = int.from_bytes(keccak256(f.memory[off:end]), "big")
    else:
        s[-1] = 0xC5D2460186F7233C927E7DB2DCC703C0E500B653CA82273B7BFAD8045D85A470
    return pc + 1


def address(f, pc):
    f.stack.append(int.from_bytes(f.address, "big"))
    return pc + 1


def balance(f, pc):
    s = f.stack
    a = to_address(s[-1])
    charge_access(f, a)
    s[-1] = f.state.get_balance(a)
    return pc + 1


def balance_static(f, pc):
    """BALANCE before EIP-2929: the whole cost is static (20, 400, 700)."""
    s = f.stack
    s[-1] = f.state.get_balance(to_address(s[-1]))
    return pc + 1


def origin(f, pc):
    f.stack.append(int.from_bytes(f.ctx.origin, "big"))
    return pc + 1


def caller(f, pc):
    f.stack.append(int.from_bytes(f.caller, "big"))
    return pc + 1


def callvalue(f, pc):
    f.stack.append(f.value)
    return pc + 1


def calldataload(f, pc):
    s = f.stack
    off = s[-1]
    data = f.data
    if off >= len(data):
        s[-1] = 0
    else:
        chunk = data[off : off + 32]
        v = int.from_bytes(chunk, "big")
        if len(chunk) < 32:
            v <<= (32 - len(chunk)) << 3
        s[-1] = v
    return pc + 1


def calldatasize(f, pc):
    f.stack.append(len(f.data))
    return pc + 1


def _copy_to_memory(f, source: bytes, dest: int, off: int, size: int) -> None:
    charge(f, COPY_WORD * ((size + 31) >> 5))
    end = dest + size
    if end > len(f.memory):
        expand(f, end)
    f.memory[dest:end] = padded_slice(source, off, size)


def calldatacopy(f, pc):
    s = f.stack
    dest = s.pop()
    off = s.pop()
    size = s.pop()
    if size:
        _copy_to_memory(f, f.data, dest, off, size)
    return pc + 1


def codesize(f, pc):
    f.stack.append(len(f.code))
    return pc + 1


def codecopy(f, pc):
    s = f.stack
    dest = s.pop()
    off = s.pop()
    size = s.pop()
    if size:
        _copy_to_memory(f, f.code, dest, off, size)
    return pc + 1


def gasprice(f, pc):
    f.stack.append(f.ctx.gas_price)
    return pc + 1


def extcodesize(f, pc):
    s = f.stack
    a = to_address(s[-1])
    charge_access(f, a)
    s[-1] = len(f.state.get_code(a))
    return pc + 1


def extcodecopy(f, pc):
    s = f.stack
    a = to_address(s.pop())
    dest = s.pop()
    off = s.pop()
    size = s.pop()
    charge_access(f, a)
    if size:
        _copy_to_memory(f, f.state.get_code(a), dest, off, size)
    return pc + 1


def extcodesize_static(f, pc):
    s = f.stack
    s[-1] = len(f.state.get_code(to_address(s[-1])))
    return pc + 1


def extcodecopy_static(f, pc):
    s = f.stack
    a = to_address(s.pop())
    dest = s.pop()
    off = s.pop()
    size = s.pop()
    if size:
        _copy_to_memory(f, f.state.get_code(a), dest, off, size)
    return pc + 1


def returndatasize(f, pc):
    f.stack.append(len(f.return_data))
    return pc + 1


def returndatacopy(f, pc):
    s = f.stack
    dest = s.pop()
    off = s.pop()
    size = s.pop()
    if off + size > len(f.return_data):
        raise ReturnDataOutOfBounds()
    if size:
        charge(f, COPY_WORD * ((size + 31) >> 5))
        end = dest + size
        if end > len(f.memory):
            expand(f, end)
        f.memory[dest:end] = f.return_data[off : off + size]
    return pc + 1


def extcodehash(f, pc):
    s = f.stack
    a = to_address(s[-1])
    charge_access(f, a)
    st = f.state
    s[-1] = 0 if st.is_empty(a) else int.from_bytes(st.get_code_hash(a), "big")
    return pc + 1


def extcodehash_static(f, pc):
    s = f.stack
    a = to_address(s[-1])
    st = f.state
    s[-1] = 0 if st.is_empty(a) else int.from_bytes(st.get_code_hash(a), "big")
    return pc + 1


def selfbalance(f, pc):
    f.stack.append(f.state.get_balance(f.address))
    return pc + 1


def blobhash(f, pc):
    s = f.stack
    i = s[-1]
    hashes = f.ctx.blob_hashes
    s[-1] = int.from_bytes(hashes[i], "big") if i < len(hashes) else 0
    return pc + 1
