"""Why a frame stops.

``ExceptionalHalt`` and its subclasses consume all gas of the frame and undo
its state changes. ``Revert`` undoes the state but returns the unused gas
and the output. Normal halts (STOP/RETURN/SELFDESTRUCT) raise ``Halt``; the
interpreter uses exceptions for these because they happen once per frame,
which keeps the per-opcode path free of checks.
"""

# How a frame ended, as ``execute_call`` / ``execute_create`` report it.
SUCCESS = 1
REVERTED = 0
FAILED = -1


class VMError(Exception):
    """Base class of everything that ends a frame early."""


class Halt(VMError):
    """Normal end of a frame (STOP, RETURN, SELFDESTRUCT)."""


class Revert(VMError):
    """REVERT: state changes undone, remaining gas returned, output kept."""


class ExceptionalHalt(VMError):
    """Any failure that consumes all gas of the frame."""


class OutOfGas(ExceptionalHalt):
    pass


class StackUnderflow(ExceptionalHalt):
    pass


class StackOverflow(ExceptionalHalt):
    pass


class InvalidJump(ExceptionalHalt):
    pass


class InvalidOpcode(ExceptionalHalt):
    pass


class WriteInStaticContext(ExceptionalHalt):
    pass


class ReturnDataOutOfBounds(ExceptionalHalt):
    pass


class InvalidContractPrefix(ExceptionalHalt):
    """EIP-3541: deployed code must not start with 0xEF."""


class CodeSizeExceeded(ExceptionalHalt):
    """EIP-170: deployed code larger than 24576 bytes."""


class PrecompileFailure(ExceptionalHalt):
    """A precompile refused its input."""


class AddressCollision(ExceptionalHalt):
    """Contract creation at an address that already has code, nonce or storage."""
