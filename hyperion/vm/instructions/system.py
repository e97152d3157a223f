"""System instructions: CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2,
STATICCALL, SELFDESTRUCT.

Their pricing and account rules changed with almost every fork (EIP-150's
call gas cap, EIP-161's empty accounts, EIP-2929's access lists, EIP-3860's
initcode limit, EIP-6780, EIP-7702 delegations). ``make_call_handlers``,
``make_create_handlers`` and ``make_selfdestruct`` build a fork's variants
once, with its constants bound in, when its instruction table is built.
"""

from __future__ import annotations

from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.vm.exceptions import SUCCESS, Halt, OutOfGas, WriteInStaticContext
from hyperion.vm.forks import Fork
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
from hyperion.vm.instructions.environment import to_address
from hyperion.vm.memory import expand, expansion_cost

# The interpreter's entry points. CALL* and CREATE* recurse through them;
# hyperion.vm.interpreter binds them when it loads (it imports this module,
# so importing it back would be a cycle).
execute_call = execute_create = None


def bind_message_calls(call, create) -> None:
    """Called once by ``hyperion.vm.interpreter`` with its ``execute_call`` and ``execute_create``."""
    global execute_call, execute_create
    execute_call, execute_create = call, create


DELEGATION_PREFIX = b"\xef\x01\x00"
MAX_NONCE = 2**64 - 1

# TxContext.accounts: how a fork treats the accounts that calls and SELFDESTRUCT reach
# (CALL* and SELFDESTRUCT here, execute_call in the interpreter)
ACCOUNTS_CREATED_ON_TOUCH = 0  # Frontier..Tangerine Whistle: a call creates its target
ACCOUNTS_TOUCHED = 1  # Spurious Dragon..Gray Glacier: touched empty accounts are deleted (EIP-161)
ACCOUNTS_UNTOUCHED = 2  # Paris on: no empty account can exist (EIP-7523), nothing to track


def account_rule(fork: Fork) -> int:
    """The fork's ``ACCOUNTS_*`` rule."""
    if not fork.has_empty_account_cleanup:
        return ACCOUNTS_CREATED_ON_TOUCH
    return ACCOUNTS_UNTOUCHED if fork.is_proof_of_stake else ACCOUNTS_TOUCHED


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


CALL, CALLCODE, DELEGATECALL, STATICCALL = 0, 1, 2, 3


def make_call_handlers(fork: Fork) -> dict[int, object]:
    """opcode -> handler for CALL, CALLCODE and, where the fork has them,
    DELEGATECALL and STATICCALL."""
    access_lists = fork.has_access_lists  # EIP-2929: cold/warm instead of a flat price
    flat_price = fork.gas_call
    gas_cap = fork.has_call_gas_cap  # EIP-150
    charge_dead_only = fork.has_empty_account_cleanup  # EIP-161: new-account gas only for value to a dead account
    delegations = fork.has_set_code  # EIP-7702

    def generic_call(f, kind: int):
        s = f.stack
        gas_requested = s.pop()
        to = to_address(s.pop())
        value = s.pop() if kind <= CALLCODE else 0
        in_off = s.pop()
        in_size = s.pop()
        out_off = s.pop()
        out_size = s.pop()

        mem_end = _region_end(in_off, in_size, out_off, out_size)
        mem_cost = expansion_cost(f, mem_end)
        st = f.state
        if access_lists:
            extra = COLD_ACCOUNT_ACCESS if st.warm_address(to) else WARM_ACCESS
        else:
            extra = flat_price
        code = st.get_code(to)
        code_address = to
        delegated = False
        if delegations:
            target = delegation_target(code)
            if target is not None:
                extra += COLD_ACCOUNT_ACCESS if st.warm_address(target) else WARM_ACCESS
                code = st.get_code(target)
                code_address = target
                delegated = True
        if value:
            extra += CALL_VALUE
        if kind == CALL:
            if charge_dead_only:
                if value and not st.is_alive(to):
                    extra += NEW_ACCOUNT
            elif not st.account_exists(to):
                extra += NEW_ACCOUNT
        gas_left = f.gas
        if gas_cap:
            if gas_left < extra + mem_cost:
                raise OutOfGas()
            sub_gas = min(gas_requested, call_gas_cap(gas_left - mem_cost - extra))
        else:
            sub_gas = gas_requested  # before EIP-150 the caller must afford exactly what it asks
        gas_left -= extra + sub_gas
        if gas_left < mem_cost:
            raise OutOfGas()
        f.gas = gas_left
        if kind == CALL and value and f.static:
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
        if kind == CALL:
            status, child_gas, output = execute_call(
                ctx, f.address, to, code_address, value, data, sub_gas, f.depth + 1, f.static, True, code, delegated
            )
        elif kind == CALLCODE:
            status, child_gas, output = execute_call(
                ctx, f.address, f.address, code_address, value, data, sub_gas, f.depth + 1, f.static, True, code,
                delegated,
            )
        elif kind == DELEGATECALL:
            status, child_gas, output = execute_call(
                ctx, f.caller, f.address, code_address, f.value, data, sub_gas, f.depth + 1, f.static, False, code,
                delegated,
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
        generic_call(f, CALL)
        return pc + 1

    def callcode(f, pc):
        generic_call(f, CALLCODE)
        return pc + 1

    def delegatecall(f, pc):
        generic_call(f, DELEGATECALL)
        return pc + 1

    def staticcall(f, pc):
        generic_call(f, STATICCALL)
        return pc + 1

    handlers = {0xF1: call, 0xF2: callcode}
    if fork.has_delegatecall:
        handlers[0xF4] = delegatecall
    if fork.has_static_call:
        handlers[0xFA] = staticcall
    return handlers


def make_create_handlers(fork: Fork) -> dict[int, object]:
    """opcode -> handler for CREATE and, from Constantinople, CREATE2."""
    initcode_limit = fork.has_initcode_limit  # EIP-3860: size limit and per-word gas
    gas_cap = fork.has_call_gas_cap  # EIP-150: the child gets all but one 64th

    def generic_create(f, value: int, off: int, size: int, salt):
        words = (size + 31) >> 5
        cost = INITCODE_WORD * words if initcode_limit else 0
        if salt is not None:
            cost += KECCAK256_WORD * words
        if cost:
            gas = f.gas - cost
            if gas < 0:
                raise OutOfGas()
            f.gas = gas
        if size:
            if off + size > len(f.memory):
                expand(f, off + size)
            if initcode_limit and size > MAX_INITCODE_SIZE:
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

        child_gas = call_gas_cap(f.gas) if gas_cap else f.gas
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
        generic_create(f, value, off, size, None)
        return pc + 1

    def create2(f, pc):
        s = f.stack
        value = s.pop()
        off = s.pop()
        size = s.pop()
        salt = s.pop()
        generic_create(f, value, off, size, salt)
        return pc + 1

    handlers = {0xF0: create}
    if fork.has_create2:
        handlers[0xF5] = create2
    return handlers


def make_selfdestruct(fork: Fork):
    """SELFDESTRUCT of ``fork``; its static part (0, then 5000) is in the table."""
    access_lists = fork.has_access_lists
    charges_new_account = fork.has_call_gas_cap  # EIP-150 introduced the new-account charge
    charge_dead_only = fork.has_empty_account_cleanup  # EIP-161: only when value goes to a dead account
    refund = fork.selfdestruct_refund  # until EIP-3529
    same_tx_only = fork.has_selfdestruct_same_tx_only  # EIP-6780
    accounts = account_rule(fork)

    def selfdestruct(f, pc):
        beneficiary = to_address(f.stack.pop())
        st = f.state
        cost = COLD_ACCOUNT_ACCESS if access_lists and st.warm_address(beneficiary) else 0
        me = f.address
        balance = st.get_balance(me)
        if charges_new_account:
            if charge_dead_only:
                if balance and not st.is_alive(beneficiary):
                    cost += SELFDESTRUCT_NEW_ACCOUNT
            elif not st.account_exists(beneficiary):
                cost += SELFDESTRUCT_NEW_ACCOUNT
        gas = f.gas - cost
        if gas < 0:
            raise OutOfGas()
        f.gas = gas
        if f.static:
            raise WriteInStaticContext()
        ctx = f.ctx
        if refund and me not in ctx.to_delete:
            ctx.refund += refund
        if balance:
            st.set_balance(me, 0)
            st.set_balance(beneficiary, st.get_balance(beneficiary) + balance)
        elif accounts == ACCOUNTS_CREATED_ON_TOUCH:
            st.set_balance(beneficiary, st.get_balance(beneficiary))  # creates it
        if accounts == ACCOUNTS_TOUCHED and st.account_exists(beneficiary) and st.is_empty(beneficiary):
            st.touch(beneficiary)
        if not same_tx_only or st.was_created(me):
            # EIP-6780 (Cancun): only a contract created in this transaction is
            # deleted; before it, every SELFDESTRUCT deletes (and burns a
            # balance sent to itself).
            st.set_balance(me, 0)
            ctx.to_delete.append(me)
        raise Halt()

    return selfdestruct
