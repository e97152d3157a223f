"""Message execution: run a call or a creation frame to completion.

``execute_call`` / ``execute_create`` are what the CALL*/CREATE* handlers
and the transaction layer use. Each opens one journal checkpoint; a failing
frame reverts it and rolls the transaction-wide logs, refunds and
deletions back to the marks taken at entry.
"""

from __future__ import annotations

from hyperion.vm import analysis as _analysis
from hyperion.vm.exceptions import (
    CodeSizeExceeded,
    ExceptionalHalt,
    Halt,
    InvalidContractPrefix,
    OutOfGas,
    PrecompileFailure,
    Revert,
)
from hyperion.vm.frame import Frame, TxContext
from hyperion.vm.gas import CODE_DEPOSIT_BYTE, MAX_CODE_SIZE
from hyperion.vm.precompiles.base import PrecompileError

SUCCESS = 1
REVERTED = 0
FAILED = -1


def _run(f: Frame) -> int:
    """Execute ``f.code``; return SUCCESS, REVERTED or FAILED."""
    code = f.code
    if not code:
        return SUCCESS
    analysis = _analysis.analyse(f.ctx, code)
    handlers = analysis.handlers
    f.jumpdests = analysis.jumpdests
    tracer = f.ctx.tracer
    pc = 0
    try:
        if tracer is None:
            while True:
                pc = handlers[pc](f, pc)
        else:
            return tracer.run(f, analysis)
    except Halt:
        return SUCCESS
    except Revert:
        return REVERTED
    except ExceptionalHalt as exc:
        f.gas = 0
        f.output = b""
        f.ctx.halt_reason = exc
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
    if transfer and value:
        state.set_balance(caller, state.get_balance(caller) - value)
        state.set_balance(address, state.get_balance(address) + value)

    precompile = None if disable_precompiles else ctx.precompiles.get(code_address)
    if precompile is not None:
        status, gas_left, output = _run_precompile(precompile, data, gas)
        if status == FAILED:
            ctx.halt_reason = PrecompileFailure()
    else:
        f = Frame(ctx, address, caller, value, data, code, gas, depth, static)
        status = _run(f)
        gas_left = f.gas
        output = f.output

    _settle(ctx, status, snapshot, log_mark, refund_mark, delete_mark)
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


def _run_precompile(precompile, data: bytes, gas: int) -> tuple[int, int, bytes]:
    try:
        cost = precompile.gas(data)
    except PrecompileError:
        return FAILED, 0, b""
    if cost > gas:
        return FAILED, 0, b""
    try:
        output = precompile.run(data)
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
    state.set_nonce(address, 1)
    if value:
        state.set_balance(caller, state.get_balance(caller) - value)
    state.set_balance(address, state.get_balance(address) + value)

    f = Frame(ctx, address, caller, value, b"", initcode, gas, depth, False)
    status = _run(f)
    output = f.output
    gas_left = f.gas
    if status == SUCCESS:
        deposit = CODE_DEPOSIT_BYTE * len(output)
        if (output and output[0] == 0xEF) or deposit > gas_left or len(output) > MAX_CODE_SIZE:
            ctx.halt_reason = (InvalidContractPrefix() if output and output[0] == 0xEF
                               else CodeSizeExceeded() if len(output) > MAX_CODE_SIZE else OutOfGas())
            status = FAILED
            gas_left = 0
            output = b""
        else:
            gas_left -= deposit
            state.set_code(address, output)
    _settle(ctx, status, snapshot, log_mark, refund_mark, delete_mark)
    if status == FAILED:
        output = b""
    if tracer is not None:
        tracer.on_exit(status, gas_left, output, None)
    return status, gas_left, output


__all__ = ["execute_call", "execute_create", "SUCCESS", "REVERTED", "FAILED"]
