"""Per-instruction execution: the reference that block charging falls back to.

Both tiers charge a block's static gas and check its stack bounds once, on
entry. When that check fails, some instruction of the block halts the frame
exceptionally, but which one and why (out of gas, stack underflow, return
data out of bounds, a write in a static call, ...) is decided by running
the block the way the Yellow Paper and geth do: one instruction at a time,
stack bounds first, then static gas, then the instruction itself. The
halt reason is observable (``eth_call``'s error, a receipt's failure
reason in traces), so the fast paths hand their failures to
``halt_exactly``, which always ends the frame with the exception
per-instruction execution raises. Anything the instructions it runs do
before that (memory, logs, transient storage) dies with the frame.

``interpret_from`` hands a frame from the compiled tier to the interpreter
at any instruction (when a transaction has spent its compile budget).
"""

from __future__ import annotations

from hyperion.vm.exceptions import Halt, InvalidOpcode, OutOfGas, StackOverflow, StackUnderflow
from hyperion.vm.gas import STACK_LIMIT


def step(f, pc: int, analysis) -> int:
    """Run the instruction at ``pc`` alone (stack bounds, static gas, the instruction); the next pc.
    Jumps charge nothing more only while ``f.jumpdests`` is ``analysis.plain_jumpdests``."""
    entry = analysis.op_at(pc)
    if entry is None:
        raise Halt()  # past the end of the code: STOP
    opcode, spec, handler = entry
    if spec is None:
        raise InvalidOpcode(f"invalid opcode 0x{opcode:02x}")
    n = len(f.stack)
    if n < spec.pops:
        raise StackUnderflow()
    if n - spec.pops + spec.pushes > STACK_LIMIT:
        raise StackOverflow()
    if f.gas < spec.gas:
        raise OutOfGas()
    f.gas -= spec.gas
    return handler(f, pc)


def halt_exactly(f, pc: int, analysis) -> None:
    """Run frame ``f`` from ``pc`` one instruction at a time until it halts; raises that halt."""
    f.jumpdests = analysis.plain_jumpdests  # every step charges itself: jumps charge nothing more
    f.analysis = analysis
    while True:
        pc = step(f, pc, analysis)


def interpret_from(f, pc: int, analysis) -> None:
    """Run frame ``f`` to its end in the interpreter, from ``pc``, where nothing of the code from
    ``pc`` on has been charged yet. The interpreter charges a chain of blocks at its head or at a
    jump into it: steps run one at a time up to the next JUMPDEST (charged as a jump there would
    be) or chain head (which charges itself), then the interpreter's handlers take over."""
    f.jumpdests = analysis.plain_jumpdests
    f.analysis = analysis
    while True:
        if analysis.is_jumpdest(pc):
            summary = analysis.jumpdests.get(pc) or analysis.resolve_jump(pc)
            gas, need, limit = summary
            g = f.gas - gas
            n = len(f.stack)
            if g < 0 or n < need or n > limit:
                halt_exactly(f, pc, analysis)
            f.gas = g
            break
        if analysis.charges_itself(pc):
            break
        pc = step(f, pc, analysis)
    f.jumpdests = analysis.jumpdests
    handlers = analysis.handlers
    while True:
        pc = handlers[pc](f, pc)
