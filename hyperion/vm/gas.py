"""Gas constants and the cost formulas shared by several instructions."""

from __future__ import annotations

# Prices that never changed, and the EIP-2929 ones. Those that forks priced
# differently (SLOAD, BALANCE, CALL, SELFDESTRUCT, EXP per byte, refunds, ...)
# are fields of ``Fork``, bound into the handlers when a fork's table is built.

# Static tiers (Yellow Paper names)
ZERO = 0
JUMPDEST = 1
BASE = 2
VERY_LOW = 3
LOW = 5
MID = 8
HIGH = 10

EXP = 10
MEMORY_WORD = 3
KECCAK256 = 30
KECCAK256_WORD = 6
COPY_WORD = 3
BLOCKHASH = 20
LOG = 375
LOG_DATA = 8
LOG_TOPIC = 375
CREATE = 32000
CODE_DEPOSIT_BYTE = 200
NEW_ACCOUNT = 25000
CALL_VALUE = 9000
CALL_STIPEND = 2300
SELFDESTRUCT_NEW_ACCOUNT = 25000
INITCODE_WORD = 2
BLOBHASH = 3

# EIP-2929 / EIP-2200 / EIP-3529
COLD_SLOAD = 2100
COLD_ACCOUNT_ACCESS = 2600
WARM_ACCESS = 100
SSTORE_SET = 20000
SSTORE_UPDATE = 5000  # before EIP-2929
SSTORE_RESET = SSTORE_UPDATE - COLD_SLOAD  # 2900
SSTORE_SENTRY = CALL_STIPEND  # EIP-2200: fail if gas left <= 2300

# EIP-7702
PER_EMPTY_ACCOUNT_COST = 25000
PER_AUTH_BASE_COST = 12500

# Sizes
MAX_CODE_SIZE = 0x6000  # EIP-170
MAX_INITCODE_SIZE = 2 * MAX_CODE_SIZE  # EIP-3860
STACK_LIMIT = 1024
CALL_DEPTH_LIMIT = 1024

# Memory offsets beyond this cannot be paid for with any realistic gas
# limit (cost grows quadratically); treat them as out of gas up front.
MAX_MEMORY_END = 1 << 32


def memory_cost(size_in_bytes: int) -> int:
    """Total gas for a memory of this size (rounded up to words)."""
    words = (size_in_bytes + 31) >> 5
    return words * MEMORY_WORD + (words * words >> 9)


def call_gas_cap(gas_left: int) -> int:
    """EIP-150: all but one 64th of the remaining gas."""
    return gas_left - (gas_left >> 6)


def fake_exponential(factor: int, numerator: int, denominator: int) -> int:
    """EIP-4844's integer approximation of factor * e**(numerator/denominator)."""
    i = 1
    output = 0
    accumulator = factor * denominator
    while accumulator > 0:
        output += accumulator
        accumulator = (accumulator * numerator) // (denominator * i)
        i += 1
    return output // denominator


def blob_base_fee(excess_blob_gas: int, update_fraction: int) -> int:
    """Price of one unit of blob gas (EIP-4844, fork-specific fraction)."""
    return fake_exponential(1, excess_blob_gas, update_fraction)
