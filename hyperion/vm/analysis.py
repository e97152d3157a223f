"""Code analysis, done once per (fork, code) and cached.

The analysis turns bytecode into a list of handlers indexed by pc and
splits it into basic blocks. A block's static gas and stack bounds are
checked once when the block is entered, not per instruction (evmone's
"advanced" scheme). This is exact: a block is straight-line code whose
only early exits are exceptional halts, which consume all gas anyway, and
every instruction that observes the remaining gas (GAS, CALL*, CREATE*,
SSTORE) ends its block, so it sees precisely what per-instruction charging
would leave. The halt reason is exact too: a block whose charge fails runs
per instruction (``stepping``), and an instruction that may halt on a
check other than gas (``opspec.MAY_HALT``: LOG*, RETURNDATACOPY, TSTORE)
also ends its block, so no later instruction's static gas can make a
dynamic charge before that check fail first. The optimizing compiler for hot contracts plugs in here:
it only has to produce a different handler list with the same semantics.

The interpreter uses ``LazyCodeAnalysis``: up front it only finds the
valid JUMPDESTs (a C-speed scan for PUSH opcodes and JUMPDEST bytes); the
handlers of a *chain* (straight-line code from an entry point to the next
instruction that ends a block or reads the exact gas) are built when
execution first enters it, by falling into its head or jumping into it.
So the Python work of an analysis is proportional to the code that runs,
not to the code's size: a 48 KiB initcode that stops at its first byte
costs one chain, not 48 Ki decoded instructions (the eager analysis cost
~2 us per byte, which CREATE's per-word gas does not cover). Chains never
cross a multiple of ``SEGMENT`` bytes (the instruction that does starts a
new chain with its own charge point), which bounds the work one entry can
cause and keeps chain boundaries a property of the code alone, whatever
entry triggered the analysis. ``analyse_code`` is the eager analysis of
the same rules, kept for inspection and tests.
"""

from __future__ import annotations

import re

from hyperion.vm.compiler.tiering import TIERS, CodeEntry
from hyperion.vm.exceptions import InvalidJump, InvalidOpcode
from hyperion.vm.gas import STACK_LIMIT
from hyperion.vm.instructions import control_flow
from hyperion.vm.instructions.stack import make_push
from hyperion.vm.opspec import ENDS_BLOCK, ENDS_CHARGE, IS_JUMPDEST, IS_PUSH
from hyperion.vm.stepping import halt_exactly
from hyperion.vm.template import bind

_MAX_CACHED = 4096
stop = bind(control_flow.stop).handler  # what runs past the end of the code


class CodeAnalysis:
    __slots__ = ("handlers", "jumpdests", "ops", "blocks", "plain_jumpdests")

    def __init__(self, handlers, jumpdests, ops, blocks, plain_jumpdests):
        self.handlers = handlers  # pc -> handler (charge points wrapped)
        self.jumpdests = jumpdests  # valid JUMPDEST pc -> (gas, need, stack limit) a jump there charges
        self.ops = ops  # pc -> (opcode, spec, raw handler) for tracing
        self.blocks = blocks  # basic blocks, for inspection and the optimizer
        self.plain_jumpdests = plain_jumpdests  # same keys, nothing to charge (stepping tracer)

    def op_at(self, pc: int):
        """(opcode, spec, raw handler) of the instruction at ``pc``, None past the end."""
        return self.ops.get(pc)

    def resolve_jump(self, dest: int) -> tuple:
        """Called when ``jumpdests`` lacks ``dest``: here every valid one is present."""
        raise InvalidJump()


def _undefined(opcode: int):
    def undefined(f, pc):
        raise InvalidOpcode(f"invalid opcode 0x{opcode:02x}")

    return undefined


def _make_entry(handler, gas: int, need: int, limit: int):
    """``handler`` preceded by its block's charge; a failed charge finds the exact halt (``stepping``)."""
    if need == 0:

        def entry(f, pc):
            g = f.gas - gas
            if g < 0 or len(f.stack) > limit:
                halt_exactly(f, pc, f.analysis)
            f.gas = g
            return handler(f, pc)

    else:

        def entry(f, pc):
            g = f.gas - gas
            n = len(f.stack)
            if g < 0 or n < need or n > limit:
                halt_exactly(f, pc, f.analysis)
            f.gas = g
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
        if flags & (ENDS_BLOCK | ENDS_CHARGE):
            blocks.append((block_start, gas, need, growth, height, starts_jd, block_arrival))
            block_start = -1
            if opcode == 0x57 or not (flags & ENDS_BLOCK):
                arrival = "exact"  # JUMPI not taken, or after GAS/CALL/SSTORE/LOG...
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


# -- lazy analysis ------------------------------------------------------------------

SEGMENT = 1024  # bytes; no chain crosses a multiple of this
_PUSH_OPCODE = re.compile(rb"[\x60-\x7f]")
_JUMPDEST_BYTE = re.compile(rb"\x5b")
_OFFSETS = bytes(range(33))
_FREE = (0, 0, STACK_LIMIT)
_JUMPI = 0x57
# how control can reach the head of a chain
_START, _EXACT, _JUMP, _MERGE = 0, 1, 2, 3


class LazyCodeAnalysis:
    """The interpreter's analysis of one code, built as execution reaches it.

    ``handlers`` starts as ``_enter`` everywhere (``stop`` past the end);
    falling into a chain head through it builds that chain's handlers. A
    jump to a JUMPDEST not yet in ``jumpdests`` comes to ``resolve_jump``,
    which checks the destination and builds the chain that contains it.
    Which bytes are PUSH data (what makes a JUMPDEST valid) is found by a
    forward scan that goes only as far as a jump needs. Block-level gas
    charging is the eager analysis's (see the module docstring), chain by
    chain.
    """

    __slots__ = ("code", "table", "handlers", "jumpdests", "push_offset", "analysed", "_pushes", "_next_push",
                 "_data_end", "_scanned", "_ops", "_plain")

    def __init__(self, code: bytes, table) -> None:
        n = len(code)
        self.code = code
        self.table = table
        self.handlers = [self._enter] * n + [stop] * 33
        self.jumpdests: dict[int, tuple] = {}
        self.analysed: set[int] = set()  # chain heads done
        # push_offset[i]: for a byte of PUSH data, its distance from the PUSH opcode; 0 otherwise.
        # Final for every i <= _scanned.
        self.push_offset = bytearray(n)
        self._pushes = _PUSH_OPCODE.finditer(code)
        self._next_push = next(self._pushes, None)
        self._data_end = 0
        self._scanned = -1
        self._ops: dict[int, tuple] = {}
        self._plain = None

    def _scan_to(self, position: int) -> None:
        """Mark the PUSH data of every PUSH that starts before ``position``."""
        if position <= self._scanned:
            return
        offsets = self.push_offset
        code = self.code
        n = len(code)
        pushes = self._pushes
        match = self._next_push
        end = self._data_end
        while match is not None:
            at = match.start()
            if at >= position:
                break
            if at >= end:  # not inside an earlier PUSH's data
                end = at + code[at] - 0x5E
                last = end if end < n else n
                offsets[at + 1 : last] = _OFFSETS[1 : last - at]
            match = next(pushes, None)
        self._next_push = match
        self._data_end = end
        self._scanned = position

    def is_jumpdest(self, pc: int) -> bool:
        """Whether ``pc`` is a valid jump destination: a JUMPDEST that is not PUSH data."""
        if not 0 <= pc < len(self.code) or self.code[pc] != 0x5B:
            return False
        self._scan_to(pc)
        return not self.push_offset[pc]

    # -- entry points -------------------------------------------------------
    def _enter(self, f, pc):
        """Handler of an instruction whose chain was not built yet: only a chain
        head is reached this way (by falling through into it, or at pc 0)."""
        self._build_chain(pc, _START if pc == 0 else _EXACT)
        return self.handlers[pc](f, pc)

    def resolve_jump(self, dest: int) -> tuple:
        """(gas, need, stack limit) a jump to ``dest`` charges; builds its chain on first use."""
        if not self.is_jumpdest(dest):
            raise InvalidJump()
        head = self._head_of(dest)
        self._build_chain(head, self._arrival(head))
        return self.jumpdests[dest]

    @property
    def plain_jumpdests(self) -> dict:
        """Every valid JUMPDEST with nothing to charge (the stepping tracer charges per step)."""
        if self._plain is None:
            code = self.code
            self._scan_to(len(code))
            offsets = self.push_offset
            self._plain = {m.start(): _FREE for m in _JUMPDEST_BYTE.finditer(code) if not offsets[m.start()]}
        return self._plain

    def op_at(self, pc: int):
        """(opcode, spec, raw handler) of the instruction at ``pc`` (an instruction boundary), None past the end."""
        entry = self._ops.get(pc)
        if entry is None and pc < len(self.code):
            opcode = self.code[pc]
            spec = self.table[opcode]
            entry = self._ops[pc] = (opcode, spec, self._decode(pc, opcode, spec)[0])
        return entry

    def charges_itself(self, pc: int) -> bool:
        """Whether the handler at ``pc`` charges its chain when entered by falling through into it
        (a chain head after a JUMPI, GAS, CALL, a MAY_HALT instruction or a segment boundary)."""
        return pc < len(self.code) and self._arrival(pc) in (_START, _EXACT)

    # -- chains -------------------------------------------------------------
    def _arrival(self, pc: int) -> int:
        """How control reaches ``pc`` from the instruction before it."""
        if pc == 0:
            return _START
        self._scan_to(pc)
        previous = pc - 1 - self.push_offset[pc - 1]
        if previous // SEGMENT != pc // SEGMENT:
            return _EXACT  # a segment boundary: a charge point of its own
        opcode = self.code[previous]
        spec = self.table[opcode]
        if spec is None or (spec.flags & ENDS_BLOCK and opcode != _JUMPI):
            return _JUMP  # reachable by a jump only
        if spec.flags & ENDS_CHARGE or opcode == _JUMPI:
            return _EXACT
        return _MERGE

    def _head_of(self, pc: int) -> int:
        """The first instruction of the chain ``pc`` belongs to."""
        offsets = self.push_offset
        while self._arrival(pc) == _MERGE:
            pc = pc - 1 - offsets[pc - 1]
        return pc

    def _decode(self, pc: int, opcode: int, spec):
        """(handler, next pc, flags) of one instruction."""
        if spec is None:
            return _undefined(opcode), pc + 1, ENDS_BLOCK
        flags = spec.flags
        if flags & IS_PUSH:
            size = opcode - 0x5F
            imm = self.code[pc + 1 : pc + 1 + size]
            next_pc = pc + 1 + size
            return make_push(int.from_bytes(imm, "big") << (8 * (size - len(imm))), next_pc), next_pc, flags
        return spec.handler, pc + 1, flags

    def _build_chain(self, head: int, arrival: int) -> None:
        """Decode the chain that starts at ``head`` and install its handlers and jump summaries."""
        if head in self.analysed:
            return
        code = self.code
        table = self.table
        n = len(code)
        decoded = []  # (pc, handler)
        blocks = []  # [start, gas, need, growth, delta, starts_with_jumpdest]
        block = None
        pc = head
        while pc < n:
            opcode = code[pc]
            spec = table[opcode]
            handler, next_pc, flags = self._decode(pc, opcode, spec)
            if spec is None:
                cost = pops = pushes = 0
            else:
                cost, pops, pushes = spec.gas, spec.pops, spec.pushes
            if block is None or (flags & IS_JUMPDEST and spec is not None):
                block = [pc, 0, 0, 0, 0, spec is not None and bool(flags & IS_JUMPDEST)]
                blocks.append(block)
            decoded.append((pc, handler))
            block[1] += cost
            if pops - block[4] > block[2]:
                block[2] = pops - block[4]
            block[4] += pushes - pops
            if block[4] > block[3]:
                block[3] = block[4]
            if flags & (ENDS_BLOCK | ENDS_CHARGE) or next_pc // SEGMENT != pc // SEGMENT:
                break
            pc = next_pc
        # each block is charged for the rest of the chain from it (a fall-through merges them)
        suffixes = [None] * len(blocks)
        after = None
        for i in range(len(blocks) - 1, -1, -1):
            own = tuple(blocks[i][1:5])
            after = suffixes[i] = own if after is None else _compose(own, after)
        handlers = self.handlers
        jumpdests = self.jumpdests
        for at, handler in decoded[1:]:
            handlers[at] = handler
        for block, (gas, need, growth, _) in zip(blocks[1:], suffixes[1:]):
            jumpdests[block[0]] = (gas, need, STACK_LIMIT - growth)  # these start with a JUMPDEST
        if not blocks:  # an empty chain: the head is the end of the code
            self.analysed.add(head)
            return
        gas, need, growth, _ = suffixes[0]
        head_handler = decoded[0][1]
        starts_with_jumpdest = blocks[0][5]
        if arrival in (_START, _EXACT):
            # reached by falling through: it charges itself (and a jump there charges nothing more)
            if gas or need or growth:
                head_handler = _make_entry(head_handler, gas, need, STACK_LIMIT - growth)
            handlers[head] = head_handler
            if starts_with_jumpdest:
                jumpdests[head] = _FREE
        else:
            handlers[head] = head_handler
            if starts_with_jumpdest:
                jumpdests[head] = (gas, need, STACK_LIMIT - growth)
        self.analysed.add(head)


def analyse(ctx, code: bytes) -> LazyCodeAnalysis:
    """Cached analysis of ``code`` under the context's fork (one cache per instruction table)."""
    return code_entry(ctx, code).analysis


def code_entry(ctx, code: bytes):
    """The code cache's entry for ``code`` under the context's fork: analysis, runs, compiled program."""
    entry = ctx.analysis_cache.get(code)
    if entry is None:
        entry = new_code_entry(ctx.analysis_cache, ctx.table, code)
    return entry


def new_code_entry(cache: dict, table: tuple, code: bytes):
    """Add ``code`` to the code cache of ``table`` (bounded: a full cache starts over)."""
    if len(cache) >= _MAX_CACHED:
        TIERS.forget(list(cache.values()))
        cache.clear()
    entry = cache[code] = CodeEntry(code, table, LazyCodeAnalysis(code, table))
    return entry
