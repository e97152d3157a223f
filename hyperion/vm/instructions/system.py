"""System instructions: CREATE, CALL, CALLCODE, DELEGATECALL, CREATE2,
STATICCALL, SELFDESTRUCT.

Their pricing and account rules changed with almost every fork (EIP-150's
call gas cap, EIP-161's empty accounts, EIP-2929's access lists, EIP-3860's
initcode limit, EIP-6780, EIP-7702 delegations). Each instruction takes
its fork's rules as one constant (``call_rules``, ``create_rules``,
``selfdestruct_rules``), bound when the fork's instruction table is built;
the shared work is done by ``message_call``, ``create_contract`` and
``self_destruct``.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

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
from hyperion.vm.instructions.gas import charge
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


class CallRules(NamedTuple):
    access_lists: bool  # EIP-2929: cold/warm instead of a flat price
    flat_price: int  # the call's price before EIP-2929 (40, then 700)
    gas_cap: bool  # EIP-150: the callee gets at most all but one 64th
    charge_dead_only: bool  # EIP-161: new-account gas only for value sent to a dead account
    delegations: bool  # EIP-7702


def call_rules(fork: Fork) -> CallRules:
    return CallRules(fork.has_access_lists, fork.gas_call, fork.has_call_gas_cap, fork.has_empty_account_cleanup,
                     fork.has_set_code)


def message_call(f, rules: CallRules, kind: int, gas_requested: int, address: int, value: int, in_offset: int,
                 in_size: int, out_offset: int, out_size: int) -> int:
    """CALL, CALLCODE, DELEGATECALL and STATICCALL: price the call, run it, copy its output; 1 on success."""
    to = to_address(address)
    mem_end = _region_end(in_offset, in_size, out_offset, out_size)
    mem_cost = expansion_cost(f, mem_end) if mem_end > len(f.memory) else 0  # (most calls need no growth)
    st = f.state
    if rules.access_lists:
        extra = COLD_ACCOUNT_ACCESS if st.warm_address(to) else WARM_ACCESS
    else:
        extra = rules.flat_price
    code = st.get_code(to)
    code_address = to
    delegated = False
    if rules.delegations:
        target = delegation_target(code)
        if target is not None:
            extra += COLD_ACCOUNT_ACCESS if st.warm_address(target) else WARM_ACCESS
            code = st.get_code(target)
            code_address = target
            delegated = True
    if value:
        extra += CALL_VALUE
    if kind == CALL:
        if rules.charge_dead_only:
            if value and not st.is_alive(to):
                extra += NEW_ACCOUNT
        elif not st.account_exists(to):
            extra += NEW_ACCOUNT
    gas_left = f.gas
    if rules.gas_cap:
        if gas_left < extra + mem_cost:
            raise OutOfGas()
        cap = gas_left - mem_cost - extra
        cap -= cap >> 6  # gas.call_gas_cap (EIP-150), written out on every call's path
        sub_gas = gas_requested if gas_requested < cap else cap
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
        return 0
    data = bytes(f.memory[in_offset : in_offset + in_size]) if in_size else b""
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
        if len(output) <= out_size:
            f.memory[out_offset : out_offset + len(output)] = output
        else:
            f.memory[out_offset : out_offset + out_size] = output[:out_size]
    return 1 if status == SUCCESS else 0


def call(f, gas, address, value, in_offset, in_size, out_offset, out_size, *, rules):
    return message_call(f, rules, CALL, gas, address, value, in_offset, in_size, out_offset, out_size)


def callcode(f, gas, address, value, in_offset, in_size, out_offset, out_size, *, rules):
    return message_call(f, rules, CALLCODE, gas, address, value, in_offset, in_size, out_offset, out_size)


def delegatecall(f, gas, address, in_offset, in_size, out_offset, out_size, *, rules):
    return message_call(f, rules, DELEGATECALL, gas, address, 0, in_offset, in_size, out_offset, out_size)


def staticcall(f, gas, address, in_offset, in_size, out_offset, out_size, *, rules):
    return message_call(f, rules, STATICCALL, gas, address, 0, in_offset, in_size, out_offset, out_size)


class CreateRules(NamedTuple):
    initcode_limit: bool  # EIP-3860: size limit and per-word gas
    gas_cap: bool  # EIP-150: the child gets all but one 64th


def create_rules(fork: Fork) -> CreateRules:
    return CreateRules(fork.has_initcode_limit, fork.has_call_gas_cap)


def create_contract(f, rules: CreateRules, value: int, offset: int, size: int, salt: Optional[int]) -> int:
    """CREATE (``salt`` None) and CREATE2: the new contract's address as a word, 0 on failure."""
    words = (size + 31) >> 5
    cost = INITCODE_WORD * words if rules.initcode_limit else 0
    if salt is not None:
        cost += KECCAK256_WORD * words
    if cost:
        charge(f, cost)
    if size:
        if offset + size > len(f.memory):
            expand(f, offset + size)
        if rules.initcode_limit and size > MAX_INITCODE_SIZE:
            raise OutOfGas()
        initcode = bytes(f.memory[offset : offset + size])
    else:
        initcode = b""
    st = f.state
    sender = f.address
    if salt is None:
        new_address = keccak256(rlp.encode([sender, st.get_nonce(sender)]))[12:]
    else:
        new_address = keccak256(b"\xff" + sender + salt.to_bytes(32, "big") + keccak256(initcode))[12:]

    child_gas = call_gas_cap(f.gas) if rules.gas_cap else f.gas
    f.gas -= child_gas
    if f.static:
        raise WriteInStaticContext()
    f.return_data = b""
    nonce = st.get_nonce(sender)
    if st.get_balance(sender) < value or nonce == MAX_NONCE or f.depth + 1 > CALL_DEPTH_LIMIT:
        f.gas += child_gas
        return 0
    st.warm_address(new_address)
    if st.get_nonce(new_address) or st.get_code(new_address) or st.has_storage(new_address):
        st.set_nonce(sender, nonce + 1)
        return 0
    st.set_nonce(sender, nonce + 1)
    status, gas_left, output = execute_create(f.ctx, sender, new_address, value, initcode, child_gas, f.depth + 1)
    f.gas += gas_left
    if status == SUCCESS:
        return int.from_bytes(new_address, "big")
    f.return_data = output
    return 0


def create(f, value, offset, size, *, rules):
    return create_contract(f, rules, value, offset, size, None)


def create2(f, value, offset, size, salt, *, rules):
    return create_contract(f, rules, value, offset, size, salt)


class SelfdestructRules(NamedTuple):
    access_lists: bool
    charges_new_account: bool  # EIP-150 introduced the new-account charge
    charge_dead_only: bool  # EIP-161: only when value goes to a dead account
    refund: int  # until EIP-3529
    same_tx_only: bool  # EIP-6780
    accounts: int  # account_rule(fork)


def selfdestruct_rules(fork: Fork) -> SelfdestructRules:
    return SelfdestructRules(fork.has_access_lists, fork.has_call_gas_cap, fork.has_empty_account_cleanup,
                             fork.selfdestruct_refund, fork.has_selfdestruct_same_tx_only, account_rule(fork))


def self_destruct(f, rules: SelfdestructRules, beneficiary_word: int) -> None:
    """Send the balance to the beneficiary and schedule the deletion; the static part (0, then 5000) is in the table."""
    beneficiary = to_address(beneficiary_word)
    st = f.state
    cost = COLD_ACCOUNT_ACCESS if rules.access_lists and st.warm_address(beneficiary) else 0
    me = f.address
    balance = st.get_balance(me)
    if rules.charges_new_account:
        if rules.charge_dead_only:
            if balance and not st.is_alive(beneficiary):
                cost += SELFDESTRUCT_NEW_ACCOUNT
        elif not st.account_exists(beneficiary):
            cost += SELFDESTRUCT_NEW_ACCOUNT
    charge(f, cost)
    if f.static:
        raise WriteInStaticContext()
    ctx = f.ctx
    if rules.refund and me not in ctx.to_delete:
        ctx.refund += rules.refund
    if balance:
        st.set_balance(me, 0)
        st.set_balance(beneficiary, st.get_balance(beneficiary) + balance)
    elif rules.accounts == ACCOUNTS_CREATED_ON_TOUCH:
        st.set_balance(beneficiary, st.get_balance(beneficiary))  # creates it
    if rules.accounts == ACCOUNTS_TOUCHED and st.account_exists(beneficiary) and st.is_empty(beneficiary):
        st.touch(beneficiary)
    if not rules.same_tx_only or st.was_created(me):
        # EIP-6780 (Cancun): only a contract created in this transaction is
        # deleted; before it, every SELFDESTRUCT deletes (and burns a
        # balance sent to itself).
        st.set_balance(me, 0)
        ctx.to_delete.append(me)


def selfdestruct(f, beneficiary, *, rules):
    self_destruct(f, rules, beneficiary)
    raise Halt()
