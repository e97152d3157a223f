"""Message execution: run a call or a creation frame to completion.

``execute_call`` / ``execute_create`` are what the CALL*/CREATE* handlers
and the transaction layer use. Each opens one journal checkpoint; a failing
frame reverts it and rolls the transaction-wide logs, refunds and
deletions back to the marks taken at entry.
"""

from __future__ import annotations

from hyperion.vm import analysis as _analysis
from hyperion.vm.compiler.tiering import TIERS
from hyperion.vm.exceptions import (
    FAILED,
    REVERTED,
    SUCCESS,
    CodeSizeExceeded,
    ExceptionalHalt,
    Halt,
    InvalidContractPrefix,
    OutOfGas,
    PrecompileFailure,
    Revert,
)
from hyperion.vm.frame import Frame, TxContext
from hyperion.vm.gas import CODE_DEPOSIT_BYTE
from hyperion.vm.instructions import system as _system
from hyperion.vm.instructions.system import ACCOUNTS_CREATED_ON_TOUCH, ACCOUNTS_TOUCHED
from hyperion.vm.precompiles.base import PrecompileError

RIPEMD160_ADDRESS = (3).to_bytes(20, "big")


def _run(f: Frame, ctx: TxContext, tracer) -> int:
    """Execute ``f.code`` (not empty) in transaction ``ctx``; return SUCCESS, REVERTED or FAILED.

    A code runs in the interpreter until it is hot, then compiled
    (``compiler.tiering``); a traced execution always runs in the interpreter.
    """
    entry = _analysis.code_entry(ctx, f.code)
    try:
        if tracer is None:
            program = TIERS.program_for(entry)
            if program is not None:
                return program.run(f)  # SUCCESS, REVERTED, or an exception as the handlers raise
            analysis = entry.analysis
            handlers = analysis.handlers
            f.jumpdests = analysis.jumpdests
            f.analysis = analysis
            pc = 0
            while True:
                pc = handlers[pc](f, pc)
        else:
            analysis = entry.analysis
            f.jumpdests = analysis.jumpdests
            f.analysis = analysis
            return tracer.run(f, analysis)
    except Halt:
        return SUCCESS
    except Revert:
        return REVERTED
    except ExceptionalHalt as exc:
        f.gas = 0
        f.output = b""
        ctx.halt_reason = exc
        if tracer is not None:
            tracer.on_fault(f, exc)
        return FAILED


def execute_call(
    ctx: TxContext,
    caller: bytes,
    address: bytes,
    code_address: bytes,
    value: int,
    data: bytes,
    gas: int,
    depth: int,
    static: bool,
    transfer: bool,
    code: bytes,
    disable_precompiles: bool = False,
) -> tuple[int, int, bytes]:
    """Run a message call; returns (status, gas_left, output)."""
    state = ctx.state
    snapshot = state.snapshot()
    log_mark = len(ctx.logs)
    refund_mark = ctx.refund
    delete_mark = len(ctx.to_delete)
    tracer = ctx.tracer
    if tracer is not None:
        tracer.on_enter("CALL", caller, address, value, data, gas, depth)
    accounts = ctx.accounts
    if accounts == ACCOUNTS_CREATED_ON_TOUCH and not state.account_exists(address):
        state.set_balance(address, 0)  # before EIP-161 a call creates its target
    if transfer and value:
        state.set_balance(caller, state.get_balance(caller) - value)
        state.add_balance(address, value)

    precompile = None if disable_precompiles else ctx.precompiles.get(code_address)
    if precompile is not None:
        status, gas_left, output = _run_precompile(precompile, data, gas, state)
        if status == FAILED:
            ctx.halt_reason = PrecompileFailure()
    elif code:
        f = Frame(ctx, address, caller, value, data, code, gas, depth, static)
        status = _run(f, ctx, tracer)
        gas_left = f.gas
        output = f.output
    else:  # no code: the call succeeds at once with all of its gas
        status, gas_left, output = SUCCESS, gas, b""

    if accounts == ACCOUNTS_TOUCHED:
        # EIP-161: a call that succeeds touches its target; an empty touched
        # account is deleted at the end of the transaction. The touch of the
        # RIPEMD-160 precompile survives a failing call (a consensus quirk
        # from mainnet block 2675119, kept by the execution specs). An account that ran its own
        # code still has it (code goes only at the transaction's end): it cannot be empty.
        if (status == SUCCESS and not (code and code_address == address) and state.account_exists(address)
                and state.is_empty(address)):
            state.touch(address)
        if address == RIPEMD160_ADDRESS:
            ctx.ripemd_touched = True
    if status == SUCCESS:  # (_settle, written out: this is every call's path)
        state.commit(snapshot)
    else:
        state.revert(snapshot)
        del ctx.logs[log_mark:]
        ctx.refund = refund_mark
        del ctx.to_delete[delete_mark:]
    if tracer is not None:
        tracer.on_exit(status, gas_left, output, None)
    return status, gas_left, output


def _settle(ctx: TxContext, status: int, snapshot: int, log_mark: int, refund_mark: int, delete_mark: int) -> None:
    """Keep a successful frame's effects; otherwise undo its state changes and roll the
    transaction-wide logs, refund and self-destructs back to the marks taken at entry."""
    if status == SUCCESS:
        ctx.state.commit(snapshot)
    else:
        ctx.state.revert(snapshot)
        del ctx.logs[log_mark:]
        ctx.refund = refund_mark
        del ctx.to_delete[delete_mark:]


def _run_precompile(precompile, data: bytes, gas: int, state) -> tuple[int, int, bytes]:
    extra = (state,) if precompile.needs_state else ()
    try:
        cost = precompile.gas(data, *extra)
    except PrecompileError:
        return FAILED, 0, b""
    if cost > gas:
        return FAILED, 0, b""
    try:
        output = precompile.run(data, *extra)
    except PrecompileError:
        return FAILED, 0, b""
    return SUCCESS, gas - cost, output


def execute_create(
    ctx: TxContext,
    caller: bytes,
    address: bytes,
    value: int,
    initcode: bytes,
    gas: int,
    depth: int,
) -> tuple[int, int, bytes]:
    """Run a contract creation whose address was already checked for collisions.

    Returns (status, gas_left, output); on success the output is the
    deployed code, on revert it is the revert data.
    """
    state = ctx.state
    snapshot = state.snapshot()
    log_mark = len(ctx.logs)
    refund_mark = ctx.refund
    delete_mark = len(ctx.to_delete)
    tracer = ctx.tracer
    if tracer is not None:
        tracer.on_enter("CREATE", caller, address, value, initcode, gas, depth)
    state.mark_created(address)
    fork = ctx.fork
    if fork.has_empty_account_cleanup:
        state.set_nonce(address, 1)  # EIP-161: contracts start at nonce 1
    if value:
        state.set_balance(caller, state.get_balance(caller) - value)
    state.set_balance(address, state.get_balance(address) + value)

    if initcode:
        f = Frame(ctx, address, caller, value, b"", initcode, gas, depth, False)
        status = _run(f, ctx, tracer)
        output = f.output
        gas_left = f.gas
    else:
        status, gas_left, output = SUCCESS, gas, b""
    if status == SUCCESS:
        deposit = CODE_DEPOSIT_BYTE * len(output)
        if (
            (output and output[0] == 0xEF and fork.rejects_ef_code)  # EIP-3541
            or (fork.max_code_size and len(output) > fork.max_code_size)  # EIP-170
            or (deposit > gas_left and fork.has_homestead_rules)  # EIP-2
        ):
            if output and output[0] == 0xEF and fork.rejects_ef_code:
                ctx.halt_reason = InvalidContractPrefix()
            elif fork.max_code_size and len(output) > fork.max_code_size:
                ctx.halt_reason = CodeSizeExceeded()
            else:
                ctx.halt_reason = OutOfGas()
            status = FAILED
            gas_left = 0
            output = b""
        elif deposit > gas_left:
            output = b""  # Frontier: the contract is created without code
        else:
            gas_left -= deposit
            state.set_code(address, output)
    _settle(ctx, status, snapshot, log_mark, refund_mark, delete_mark)
    if status == FAILED:
        output = b""
    if tracer is not None:
        tracer.on_exit(status, gas_left, output, None)
    return status, gas_left, output


# CALL* and CREATE* recurse into this module: it hands them its entry points,
# so that the instruction set never imports the interpreter back.
_system.bind_message_calls(execute_call, execute_create)

__all__ = ["execute_call", "execute_create", "SUCCESS", "REVERTED", "FAILED"]
