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
from hyperion.vm.opspec import ENDS_BLOCK, IS_JUMPDEST, IS_PC, IS_PUSH, NEEDS_EXACT_GAS

_MAX_CACHED = 4096


class CodeAnalysis:
    __slots__ = ("handlers", "jumpdests", "ops", "blocks", "plain_jumpdests")

    def __init__(self, handlers, jumpdests, ops, blocks, plain_jumpdests):
        self.handlers = handlers  # pc -> handler (charge points wrapped)
        self.jumpdests = jumpdests  # valid JUMPDEST pc -> (gas, need, stack limit) a jump there charges
        self.ops = ops  # pc -> (opcode, spec, raw handler) for tracing
        self.blocks = blocks  # basic blocks, for inspection and the optimizer
        self.plain_jumpdests = plain_jumpdests  # same keys, nothing to charge (stepping tracer)


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


def _compose(first: tuple, second: tuple) -> tuple:
    """Stack/gas summary of block ``first`` followed by ``second``.

    A summary is (gas, need, growth, delta): static gas, stack items that
    must be present on entry, the highest height reached above the entry
    height, and the net height change.
    """
    gas_a, need_a, growth_a, delta_a = first
    gas_b, need_b, growth_b, delta_b = second
    return (
        gas_a + gas_b,
        max(need_a, need_b - delta_a),
        max(growth_a, delta_a + growth_b),
        delta_a + delta_b,
    )


def analyse_code(code: bytes, table) -> CodeAnalysis:
    """Decode ``code`` into handlers and charge points.

    Basic blocks are split at every JUMPDEST and after every instruction
    that ends straight-line code or reads the exact remaining gas. A block
    that is entered by falling through into a JUMPDEST is merged with the
    block before it (one charge covers both); entering it by a jump is
    charged by JUMP/JUMPI themselves, from the per-destination summary in
    ``jumpdests``. So runs of JUMPDESTs cost one charge, and a taken jump
    costs no extra call.
    """
    n = len(code)
    handlers = [stop] * (n + 33)
    ops = {}
    blocks = []  # (start, gas, need, growth, delta, starts_with_jumpdest, falls_through_mergeable, entered_by_fallthrough)
    block_start = -1
    gas = need = height = growth = 0
    starts_jd = False
    # How control reaches the next instruction when the previous one ends:
    # "start" (pc 0), "merge" (regular fall-through), "exact" (after an
    # exact-gas instruction or JUMPI: fall-through that needs its own
    # charge point), "jump" (only reachable by a jump).
    arrival = "start"
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
            if flags & IS_JUMPDEST and block_start >= 0:
                blocks.append((block_start, gas, need, growth, height, starts_jd, block_arrival))
                block_start = -1
                arrival = "merge"
        if block_start < 0:
            block_start = pc
            gas = need = height = growth = 0
            starts_jd = bool(spec is not None and flags & IS_JUMPDEST)
            block_arrival = arrival
        handlers[pc] = handler
        ops[pc] = (opcode, spec, handler)
        gas += cost
        if pops - height > need:
            need = pops - height
        height += pushes - pops
        if height > growth:
            growth = height
        if flags & (ENDS_BLOCK | NEEDS_EXACT_GAS):
            blocks.append((block_start, gas, need, growth, height, starts_jd, block_arrival))
            block_start = -1
            if opcode == 0x57 or not (flags & ENDS_BLOCK):
                arrival = "exact"  # JUMPI not taken, or after GAS/CALL/SSTORE...
            else:
                arrival = "jump"
        pc = next_pc
    if block_start >= 0:
        blocks.append((block_start, gas, need, growth, height, starts_jd, block_arrival))

    # Fix the arrival of each block (recorded when it was opened).
    # A block whose arrival is "merge" joins the chain of the block before.
    jumpdests: dict[int, tuple] = {}
    free = (0, 0, STACK_LIMIT)
    suffixes = [None] * len(blocks)
    # walk backwards composing suffix summaries along merge chains
    for i in range(len(blocks) - 1, -1, -1):
        start, bgas, bneed, bgrowth, bdelta, bjd, barrival = blocks[i]
        own = (bgas, bneed, bgrowth, bdelta)
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if nxt is not None and nxt[6] == "merge":
            suffixes[i] = _compose(own, suffixes[i + 1])
        else:
            suffixes[i] = own
    for i, (start, bgas, bneed, bgrowth, bdelta, bjd, barrival) in enumerate(blocks):
        sgas, sneed, sgrowth, _ = suffixes[i]
        summary = (sgas, sneed, STACK_LIMIT - sgrowth)
        if barrival == "merge":
            # reached by fall-through inside a chain (charged by the chain
            # head) or by a jump (charged by the jump)
            jumpdests[start] = summary
        elif barrival == "jump":
            if bjd:
                jumpdests[start] = summary
            # unreachable code otherwise: nothing to charge
        else:  # "start" or "exact": needs its own charge point
            if sgas or sneed or sgrowth:
                handlers[start] = _make_entry(handlers[start], sgas, sneed, STACK_LIMIT - sgrowth)
            if bjd:
                jumpdests[start] = free
    plain = {pc_: free for pc_ in jumpdests}
    return CodeAnalysis(handlers, jumpdests, ops, blocks, plain)


def analyse(ctx, code: bytes) -> CodeAnalysis:
    """Cached analysis of ``code`` under the context's fork (one cache per instruction table)."""
    cache = ctx.analysis_cache
    result = cache.get(code)
    if result is None:
        if len(cache) >= _MAX_CACHED:
            cache.clear()
        result = cache[code] = analyse_code(code, ctx.table)
    return result
