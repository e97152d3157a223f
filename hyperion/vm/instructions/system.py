"""System instructions: CREATE, CALL, CALLCODE, RETURN-less frame control,
DELEGATECALL, CREATE2, STATICCALL, SELFDESTRUCT."""

from __future__ import annotations

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.vm.exceptions import OutOfGas, WriteInStaticContext, Halt
from hyperion.vm.gas import (
    CALL_DEPTH_LIMIT,
    CALL_STIPEND,
    CALL_VALUE,
    COLD_ACCOUNT_ACCESS,
    INITCODE_WORD,
    KECCAK256_WORD,
    MAX_INITCODE_SIZE,
    NEW_ACCOUNT,
    SELFDESTRUCT_NEW_ACCOUNT,
    WARM_ACCESS,
    call_gas_cap,
)
from hyperion.vm.interpreter import SUCCESS, execute_call, execute_create
from hyperion.vm.memory import expand, expansion_cost
from hyperion.vm.instructions.environment import to_address

DELEGATION_PREFIX = b"\xef\x01\x00"
MAX_NONCE = 2**64 - 1


def delegation_target(code: bytes):
    """EIP-7702: the address a delegation designator points to, else None."""
    if len(code) == 23 and code[:3] == DELEGATION_PREFIX:
        return code[3:]
    return None


def _region_end(off1: int, size1: int, off2: int, size2: int) -> int:
    """Memory a CALL's input and output regions need (empty regions need none)."""
    end = off1 + size1 if size1 else 0
    if size2 and off2 + size2 > end:
        end = off2 + size2
    return end


def _resolve_code(f, address: bytes):
    """Code to run for a call to ``address`` and the extra access gas.

    Follows an EIP-7702 delegation designator one level when the fork has
    set-code transactions. Returns (code, code_address, extra_gas, delegated).
    """
    st = f.state
    code = st.get_code(address)
    if f.ctx.fork.has_set_code:
        target = delegation_target(code)
        if target is not None:
            extra = COLD_ACCOUNT_ACCESS if st.warm_address(target) else WARM_ACCESS
            return st.get_code(target), target, extra, True
    return code, address, 0, False


def _generic_call(f, kind: int):
    """kind: 0 CALL, 1 CALLCODE, 2 DELEGATECALL, 3 STATICCALL."""
    s = f.stack
    gas_requested = s.pop()
    to = to_address(s.pop())
    value = s.pop() if kind <= 1 else 0
    in_off = s.pop()
    in_size = s.pop()
    out_off = s.pop()
    out_size = s.pop()

    mem_end = _region_end(in_off, in_size, out_off, out_size)
    mem_cost = expansion_cost(f, mem_end)
    st = f.state
    extra = COLD_ACCOUNT_ACCESS if st.warm_address(to) else WARM_ACCESS
    code, code_address, delegation_cost, delegated = _resolve_code(f, to)
    extra += delegation_cost
    if value:
        extra += CALL_VALUE
        if kind == 0 and not st.is_alive(to):
            extra += NEW_ACCOUNT
    gas_left = f.gas
    if gas_left < extra + mem_cost:
        raise OutOfGas()
    sub_gas = min(gas_requested, call_gas_cap(gas_left - mem_cost - extra))
    gas_left -= extra + sub_gas
    if gas_left < 0:
        raise OutOfGas()
    f.gas = gas_left
    if kind == 0 and value and f.static:
        raise WriteInStaticContext()
    if mem_end > len(f.memory):
        expand(f, mem_end)
    if value:
        sub_gas += CALL_STIPEND

    f.return_data = b""
    if f.depth + 1 > CALL_DEPTH_LIMIT or (value and st.get_balance(f.address) < value):
        f.gas += sub_gas
        s.append(0)
        return
    data = bytes(f.memory[in_off : in_off + in_size]) if in_size else b""
    ctx = f.ctx
    if kind == 0:
        status, child_gas, output = execute_call(
            ctx, f.address, to, code_address, value, data, sub_gas, f.depth + 1, f.static, True, code, delegated
        )
    elif kind == 1:
        status, child_gas, output = execute_call(
            ctx, f.address, f.address, code_address, value, data, sub_gas, f.depth + 1, f.static, True, code, delegated
        )
    elif kind == 2:
        status, child_gas, output = execute_call(
            ctx, f.caller, f.address, code_address, f.value, data, sub_gas, f.depth + 1, f.static, False, code, delegated
        )
    else:
        status, child_gas, output = execute_call(
            ctx, f.address, to, code_address, 0, data, sub_gas, f.depth + 1, True, True, code, delegated
        )
    f.gas += child_gas
    f.return_data = output
    if out_size and output:
        n = min(out_size, len(output))
        f.memory[out_off : out_off + n] = output[:n]
    s.append(1 if status == SUCCESS else 0)


def call(f, pc):
    _generic_call(f, 0)
    return pc + 1


def callcode(f, pc):
    _generic_call(f, 1)
    return pc + 1


def delegatecall(f, pc):
    _generic_call(f, 2)
    return pc + 1


def staticcall(f, pc):
    _generic_call(f, 3)
    return pc + 1


def _generic_create(f, value: int, off: int, size: int, salt):
    words = (size + 31) >> 5
    cost = INITCODE_WORD * words
    if salt is not None:
        cost += KECCAK256_WORD * words
    gas = f.gas - cost
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
    if size:
        if off + size > len(f.memory):
            expand(f, off + size)
        if size > MAX_INITCODE_SIZE:
            raise OutOfGas()
        initcode = bytes(f.memory[off : off + size])
    else:
        initcode = b""
    st = f.state
    sender = f.address
    if salt is None:
        new_address = keccak256(rlp.encode([sender, st.get_nonce(sender)]))[12:]
    else:
        new_address = keccak256(b"\xff" + sender + salt.to_bytes(32, "big") + keccak256(initcode))[12:]

    child_gas = call_gas_cap(f.gas)
    f.gas -= child_gas
    if f.static:
        raise WriteInStaticContext()
    f.return_data = b""
    s = f.stack
    nonce = st.get_nonce(sender)
    if st.get_balance(sender) < value or nonce == MAX_NONCE or f.depth + 1 > CALL_DEPTH_LIMIT:
        f.gas += child_gas
        s.append(0)
        return
    st.warm_address(new_address)
    if st.get_nonce(new_address) or st.get_code(new_address) or st.has_storage(new_address):
        st.set_nonce(sender, nonce + 1)
        s.append(0)
        return
    st.set_nonce(sender, nonce + 1)
    status, gas_left, output = execute_create(f.ctx, sender, new_address, value, initcode, child_gas, f.depth + 1)
    f.gas += gas_left
    if status == SUCCESS:
        s.append(int.from_bytes(new_address, "big"))
    else:
        f.return_data = output
        s.append(0)


def create(f, pc):
    s = f.stack
    value = s.pop()
    off = s.pop()
    size = s.pop()
    _generic_create(f, value, off, size, None)
    return pc + 1


def create2(f, pc):
    s = f.stack
    value = s.pop()
    off = s.pop()
    size = s.pop()
    salt = s.pop()
    _generic_create(f, value, off, size, salt)
    return pc + 1


def selfdestruct(f, pc):
    beneficiary = to_address(f.stack.pop())
    st = f.state
    cost = COLD_ACCOUNT_ACCESS if st.warm_address(beneficiary) else 0
    me = f.address
    balance = st.get_balance(me)
    if balance and not st.is_alive(beneficiary):
        cost += SELFDESTRUCT_NEW_ACCOUNT
    gas = f.gas - cost
    if gas < 0:
        raise OutOfGas()
    f.gas = gas
    if f.static:
        raise WriteInStaticContext()
    if balance:
        st.set_balance(me, 0)
        st.set_balance(beneficiary, st.get_balance(beneficiary) + balance)
    if not f.ctx.fork.has_selfdestruct_same_tx_only or st.was_created(me):
        # EIP-6780 (Cancun): only a contract created in this transaction is
        # deleted; before it, every SELFDESTRUCT deletes (and burns a
        # balance sent to itself).
        st.set_balance(me, 0)
        f.ctx.to_delete.append(me)
    raise Halt()
