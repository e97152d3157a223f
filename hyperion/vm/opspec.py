"""What the instruction table holds per opcode, and the flags code analysis reads.

Kept apart from ``opcodes`` (which imports every instruction module) so that
the analysis, which the interpreter imports, does not depend on the
instructions: no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

# flags
ENDS_BLOCK = 1  # control leaves straight-line code (jumps, halts)
NEEDS_EXACT_GAS = 2  # reads the precise remaining gas (GAS, CALL*, CREATE*, SSTORE)
IS_PUSH = 4  # PUSH1..PUSH32: ``arg`` bytes of immediate data
IS_JUMPDEST = 8
IS_DUP = 16  # DUPn, n = ``arg``
IS_SWAP = 32  # SWAPn, n = ``arg``
IS_JUMP = 64  # JUMP
IS_JUMPI = 128  # JUMPI
# A run-time check other than gas can halt it (a write in a static call, return data out of
# bounds): set from the template (``Instruction.may_halt``). Like an instruction that reads the
# exact gas, it ends its charge block, so the static gas of the instructions after it is never
# taken before its check: a dynamic charge earlier in the block that fails only because of that
# gas would report "out of gas" where per-instruction execution reaches this halt.
MAY_HALT = 256
ENDS_CHARGE = NEEDS_EXACT_GAS | MAY_HALT  # the next instruction needs a charge point of its own


@dataclass(frozen=True)
class OpSpec:
    name: str
    handler: Optional[Callable]  # the interpreter's handler(f, pc) -> next pc (None for PUSHn: made per occurrence)
    gas: int  # static gas
    pops: int
    pushes: int
    flags: int = 0
    instruction: Any = None  # the semantics (template.Instruction); None for stack shape and jumps
    arg: int = 0  # n of PUSHn, DUPn, SWAPn
    probe: Optional[Callable] = None  # probe(f, pc): a check the compiled tier runs here (see opcodes.table_for)
