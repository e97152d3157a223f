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
"""

from __future__ import annotations

from hyperion.vm.exceptions import Halt, InvalidOpcode, OutOfGas, StackOverflow, StackUnderflow
from hyperion.vm.gas import STACK_LIMIT


def halt_exactly(f, pc: int, analysis) -> None:
    """Run frame ``f`` from ``pc`` one instruction at a time until it halts; raises that halt."""
    f.jumpdests = analysis.plain_jumpdests  # every step charges itself: jumps charge nothing more
    op_at = analysis.op_at
    while True:
        entry = op_at(pc)
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
        pc = handler(f, pc)
