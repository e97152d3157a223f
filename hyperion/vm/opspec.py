"""What the instruction table holds per opcode, and the flags code analysis reads.

Kept apart from ``opcodes`` (which imports every instruction module) so that
the analysis, which the interpreter imports, does not depend on the
instructions: no import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

# flags
ENDS_BLOCK = 1  # control leaves straight-line code (jumps, halts)
NEEDS_EXACT_GAS = 2  # reads the precise remaining gas (GAS, CALL*, CREATE*, SSTORE)
IS_PUSH = 4
IS_JUMPDEST = 8
IS_PC = 16


@dataclass(frozen=True)
class OpSpec:
    name: str
    handler: Optional[Callable]
    gas: int
    pops: int
    pushes: int
    flags: int = 0
