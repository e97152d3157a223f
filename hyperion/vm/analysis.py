"""Code analysis, done once per (fork, code) and cached.

The analysis turns bytecode into a list of handlers indexed by pc and
splits it into basic blocks. A block's static gas and stack bounds are
checked once when the block is entered, not per instruction (evmone's
"advanced" scheme). This is exact: a block is straight-line code whose
only early exits are exceptional halts, which consume all gas anyway, and
every instruction that observes the remaining gas (GAS, CALL*, CREATE*,
SSTORE) ends its block, so it sees precisely what per-instruction charging
would leave. The optimizing compiler for hot contracts plugs in here:
it only has to produce a different handler list with the same semantics.
"""

from __future__ import annotations

from hyperion.vm.exceptions import InvalidOpcode, OutOfGas, StackOverflow, StackUnderflow
from hyperion.vm.gas import STACK_LIMIT
from hyperion.vm.instructions.control_flow import make_pc, stop
from hyperion.vm.instructions.stack import make_push
from hyperion.vm.opcodes import ENDS_BLOCK, IS_JUMPDEST, IS_PC, IS_PUSH, NEEDS_EXACT_GAS

_MAX_CACHED = 4096
_CACHES: dict[str, dict] = {}


class CodeAnalysis:
    __slots__ = ("handlers", "jumpdests", "ops", "blocks")

    def __init__(self, handlers, jumpdests, ops, blocks):
        self.handlers = handlers  # pc -> handler (block entries wrapped)
        self.jumpdests = jumpdests  # frozenset of valid JUMPDEST pcs
        self.ops = ops  # pc -> (opcode, spec, raw handler) for tracing
        self.blocks = blocks  # list of (start_pc, static_gas, min_stack, max_growth)


def _undefined(opcode: int):
    def undefined(f, pc):
        raise InvalidOpcode(f"invalid opcode 0x{opcode:02x}")

    return undefined


def _make_entry(handler, gas: int, need: int, limit: int):
    if need == 0:

        def entry(f, pc):
            g = f.gas - gas
            if g < 0:
                raise OutOfGas()
            f.gas = g
            if len(f.stack) > limit:
                raise StackOverflow()
            return handler(f, pc)

    else:

        def entry(f, pc):
            g = f.gas - gas
            if g < 0:
                raise OutOfGas()
            f.gas = g
            n = len(f.stack)
            if n < need:
                raise StackUnderflow()
            if n > limit:
                raise StackOverflow()
            return handler(f, pc)

    return entry


def analyse_code(code: bytes, table) -> CodeAnalysis:
    n = len(code)
    handlers = [stop] * (n + 33)
    ops = {}
    jumpdests = set()
    blocks = []
    block_start = -1
    gas = need = height = growth = 0
    pc = 0
    while pc < n:
        opcode = code[pc]
        spec = table[opcode]
        if spec is None:
            handler = _undefined(opcode)
            flags = ENDS_BLOCK
            cost = pops = pushes = 0
            next_pc = pc + 1
        else:
            flags = spec.flags
            cost = spec.gas
            pops = spec.pops
            pushes = spec.pushes
            next_pc = pc + 1
            if flags & IS_PUSH:
                size = opcode - 0x5F
                imm = code[pc + 1 : pc + 1 + size]
                value = int.from_bytes(imm, "big") << (8 * (size - len(imm)))
                next_pc = pc + 1 + size
                handler = make_push(value, next_pc)
            elif flags & IS_PC:
                handler = make_pc(pc)
            else:
                handler = spec.handler
            if flags & IS_JUMPDEST:
                jumpdests.add(pc)
                if block_start >= 0:
                    blocks.append((block_start, gas, need, growth))
                    block_start = -1
        if block_start < 0:
            block_start = pc
            gas = need = height = growth = 0
        handlers[pc] = handler
        ops[pc] = (opcode, spec, handler)
        gas += cost
        if pops - height > need:
            need = pops - height
        height += pushes - pops
        if height > growth:
            growth = height
        if flags & (ENDS_BLOCK | NEEDS_EXACT_GAS):
            blocks.append((block_start, gas, need, growth))
            block_start = -1
        pc = next_pc
    if block_start >= 0:
        blocks.append((block_start, gas, need, growth))
    for start, bgas, bneed, bgrowth in blocks:
        if bgas or bneed or bgrowth:
            handlers[start] = _make_entry(handlers[start], bgas, bneed, STACK_LIMIT - bgrowth)
    return CodeAnalysis(handlers, frozenset(jumpdests), ops, blocks)


def analyse(ctx, code: bytes) -> CodeAnalysis:
    """Cached analysis of ``code`` under the context's fork."""
    cache = _CACHES.get(ctx.fork.name)
    if cache is None:
        cache = _CACHES[ctx.fork.name] = {}
    result = cache.get(code)
    if result is None:
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        result = cache[code] = analyse_code(code, ctx.table)
    return result
