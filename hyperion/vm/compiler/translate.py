"""Translate a trace of EVM code into one Python function.

A *trace* starts at an entry (pc 0, a JUMPDEST, or a continuation the
compiler chose) and follows the code as far as it is known at compile
time: it falls through JUMPIs and instructions that end a gas block,
follows static JUMPs (a PUSHed destination, also a return address pushed
earlier in the same trace), and ends at a dynamic jump, a halt, a
revisited pc or its size limit. A jump back to the trace's own entry is a
``continue`` of a ``while True`` loop.

Inside the function the EVM stack lives in Python locals: the translator
tracks a *virtual stack* of values (constants, locals, boolean tests not
yet turned into words, and items of the frame's stack ``s`` not read
yet), so PUSH, DUP, SWAP and POP emit no code; instructions whose inputs
are all constants are folded; each instruction's code comes from its
template (``template.Instruction.inline``), with the ``wrap`` mask
dropped where the operands' widths rule out overflow. At every exit the
virtual stack is written back to ``s`` with one slice assignment.

Gas and stack bounds are checked per *block*: at the entry, after every
instruction that reads the exact gas (GAS, CALL*, CREATE*, SSTORE) or
may halt on a check other than gas (LOG*, RETURNDATACOPY, TSTORE:
``opspec.MAY_HALT``) and after every conditional jump; a static jump
merges its destination into the current block. Charging a block up front
is exact for the reason code analysis gives (analysis.py): the only ways
out of a block before its end are exceptional halts, which consume all
gas anyway, and the halt reason is per-instruction execution's: a block
that cannot pay its charge runs per instruction (``stepping``), and no
check other than gas follows a dynamic charge inside a block.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from hyperion.vm.exceptions import OutOfGas
from hyperion.vm.gas import MAX_MEMORY_END, MEMORY_WORD, STACK_LIMIT, WARM_ACCESS, memory_cost
from hyperion.vm.instructions import memory as memory_instructions, storage as storage_instructions
from hyperion.vm.memory import expand
from hyperion.vm.opspec import (
    ENDS_BLOCK,
    ENDS_CHARGE,
    IS_DUP,
    IS_JUMP,
    IS_JUMPDEST,
    IS_JUMPI,
    IS_PUSH,
    IS_SWAP,
    NEEDS_EXACT_GAS,
)
from hyperion.vm.template import CHARGED, WORD_BITS

INLINE_STATEMENTS = 6  # templates with more statements are called, not inlined
# What a trace's size limit counts: an instruction is 1, a program's first use of a partial evaluation
# of a template for constant inputs (parsing and specializing its source: ~100x an instruction's
# translation when the process makes it) this much.
PARTIAL_COST = 128
PARTIAL_STATEMENTS = 12  # larger templates are not specialized for constant inputs
# A conditional jump whose fall-through reaches REVERT or INVALID within this many instructions, without
# a branch, is a check (``require``, Vyper's overflow and call-success checks): the trace follows the jump.
FAILURE_LOOKAHEAD = 64
_FAILING_OPCODES = frozenset({0xFD, 0xFE})  # REVERT, INVALID
_MEMORY_CHECK = re.compile(r"if (\d+|0x[0-9a-f]+) > len\(f_memory\):")
_CONSTANT_CHARGE = re.compile(r"charge\(f, (\d+|0x[0-9a-f]+)\)")
_READ_MEMORY = re.compile(r"([\w.]+) = read_memory\(f, (\d+|0x[0-9a-f]+), (\d+|0x[0-9a-f]+)\)")
# a line whose effect depends on memory's size or the gas left: a pending growth can no longer grow
_OBSERVES_MEMORY_OR_GAS = re.compile(r"len\(f_memory\)|f\.gas|\bf\b(?!\.)")
# ... except an inlined dynamic charge (template.CHARGED): it reads the gas only to fail out of gas, and
# charging a growth before it instead of after changes nothing else (only its cost expression counts)
_CHARGE_LINE = re.compile(rf"^{CHARGED}_\w+ = f\.gas - |^f\.gas = {CHARGED}_\w+$")
# Memory words stored at constant offsets are kept pending (``_Trace.pending``) rather than written:
_STORE_WORD = re.compile(r"f_memory\[(\d+|0x[0-9a-f]+):(\d+|0x[0-9a-f]+)\] = "
                         r"(\(?(?:[A-Za-z_]\w*|\d+|0x[0-9a-f]+)\)?\.to_bytes\(32\))")
_MEMORY_USE = re.compile(r"f_memory(?:\[(\d+|0x[0-9a-f]+):(\d+|0x[0-9a-f]+)\])?|\bf\.memory\b")
_SIZE_ONLY = re.compile(r"len\(f_memory\)|f_memory\.extend\(")
_PASSES_FRAME = re.compile(r"\bf\b(?!\.)")
_MAIN = 2  # the indent of a trace's straight line (branches are deeper)
# a line that may grow memory other than through need_memory (or hands the frame to code that may)
_MAY_GROW = re.compile(r"expand\(|f_memory\.extend|f_memory \+=|\bf\.memory\b|\bf\b(?!\.)")
# Words kept pending at most (each exit and block halt writes them all: this bounds the code it adds)
PENDING_WORDS = 8
# ``C.to_bytes(N)`` of a constant C: the bytes, as a literal
_CONSTANT_TO_BYTES = re.compile(r"(?<![\w.])(?:\((0x[0-9a-f]+|\d+)\)|(0x[0-9a-f]+))\.to_bytes\((\d+)\)")
_MSTORE = memory_instructions.mstore
_MLOAD = memory_instructions.mload
_SLOADS = (storage_instructions.sload, storage_instructions.sload_static)
_SSTORE = storage_instructions.sstore
# A trace ends its frame by returning one of these instead of a pc (``Program.run``): cheaper than
# raising Halt/Revert through the dispatcher into the caller. Halts in helpers still raise.
HALTED = -1
REVERTED_EXIT = -2
_FRAME_ENDS = {"raise Halt()": f"return {HALTED}", "raise Revert()": f"return {REVERTED_EXIT}"}


class Const:
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


class Local:
    __slots__ = ("name", "width", "depth")

    def __init__(self, name: str, width: int = WORD_BITS, depth: int = 0) -> None:
        self.name = name
        self.width = width
        self.depth = depth  # > 0: holds the entry stack's item at this depth (loaded from ``s``)


class Cond:
    """A 0/1 word kept as a Python boolean expression until something needs the word."""

    __slots__ = ("test",)

    def __init__(self, test: str) -> None:
        self.test = test


class Entry:
    """The item at ``depth`` (1 = top) of the frame's stack when the trace was entered, not read yet."""

    __slots__ = ("depth",)

    def __init__(self, depth: int) -> None:
        self.depth = depth


def _is_growth(line: str, following: str) -> bool:
    """``if C > len(f_memory):`` then ``expand(f, C)``: growth to a constant size (``need_memory``)."""
    match = _MEMORY_CHECK.fullmatch(line)
    return match is not None and following.strip() == f"expand(f, {match.group(1)})"


def _constant_bytes(match: re.Match) -> str:
    value = int(match.group(1) or match.group(2), 0)
    size = int(match.group(3))
    if value.bit_length() > 8 * size:
        return match.group(0)  # it raises at run time
    data = value.to_bytes(size, "big")
    rest = data.lstrip(b"\0")
    if len(rest) == size:
        return repr(data)
    return f"(b'\\0' * {size - len(rest)}{f' + {rest!r}' if rest else ''})"  # folded by Python's compiler


def literal(value: int) -> str:
    return str(value) if value < 256 else hex(value)


class _Block:
    """A charge point: static gas and stack bounds of the code up to the next one."""

    __slots__ = ("indent", "gas", "pulled", "height", "lines", "pc", "write_back", "growths")

    def __init__(self, indent: int, pulled: int, height: int, pc: int, write_back: list[str]) -> None:
        self.indent = indent
        self.gas = 0
        self.growths: list = []  # growths from a known size: their cost joins ``gas`` when the block closes
        self.pulled = pulled  # entry items read by the end of the block
        self.height = height  # highest stack height above the entry's
        self.lines: list[tuple[int, str]] = []
        self.pc = pc  # where the block starts
        self.write_back = write_back  # the code that writes the virtual stack back to ``s`` at the start


class _Growth:
    """Memory growth to a constant size, inline: the cost of the size reached is computed here,
    that of the current size at run time. ``end`` may still be raised (``_Trace.need_memory``).
    From a ``base`` size known at compile time (a frame's first trace) the whole cost is static
    gas of the block (``cost``) and the growth a constant append."""

    __slots__ = ("indent", "end", "base")

    def __init__(self, indent: int, end: int, base: Optional[int] = None) -> None:
        self.indent = indent
        self.end = end
        self.base = base

    @property
    def size(self) -> int:
        return ((self.end + 31) >> 5) << 5

    def cost(self) -> int:
        return memory_cost(self.size) - memory_cost(self.base)

    def lines(self) -> list[tuple[int, str]]:
        size = self.size
        i = self.indent
        if self.base is not None:
            return [(i, f"f_memory += b'\\0' * {size - self.base}")]
        return [
            (i, f"if {size} > len(f_memory):"),
            (i + 1, "mw = len(f_memory) + 31 >> 5"),
            (i + 1, f"mg = f.gas - ({memory_cost(size)} - mw * {MEMORY_WORD} - (mw * mw >> 9))"),
            (i + 1, "if mg < 0:"),
            (i + 2, "raise OutOfGas()"),
            (i + 1, "f.gas = mg"),
            (i + 1, f"f_memory += b'\\0' * ({size} - len(f_memory))"),  # (cheaper than extend(bytes(...)))
        ]


class TraceSource:
    """The result of translating one trace."""

    __slots__ = ("name", "pc", "source", "instructions", "cost", "globals")

    def __init__(self, name: str, pc: int, source: str, instructions: int, cost: int, globals_: dict) -> None:
        self.name = name
        self.pc = pc
        self.source = source
        self.instructions = instructions  # EVM instructions translated
        self.cost = cost  # the work it took, in instructions (see PARTIAL_COST)
        self.globals = globals_  # names the source needs, beyond the program's namespace


class Translator:
    """Translates traces of one code under one instruction table."""

    def __init__(self, code: bytes, table: tuple, is_jumpdest: Callable[[int], bool], namespace: dict,
                 *, comments: bool = False) -> None:
        self.code = code
        self.table = table
        self.is_jumpdest = is_jumpdest
        self.namespace = namespace  # shared by every trace of the program; conflicting names are not inlined
        self.comments = comments
        self.n = len(code)
        self.functions: dict = {}  # Instruction -> name of its direct function
        # partial evaluations this program used: the first use of each counts PARTIAL_COST (whether
        # or not the process had made it before, so that what compiles when is the program's own
        # history: a fuzzer's reproducer compiles the same in a fresh process)
        self.partials: set = set()

    def function_name(self, ins) -> str:
        """A global name for ``ins``'s direct function, unique within the program."""
        name = self.functions.get(ins)
        if name is None:
            name = f"op_{ins.name}" if not ins.fixed else f"op_{ins.name}_{len(self.functions)}"
            self.functions[ins] = name
        return name

    def entry_index(self, pc: int) -> int:
        """The dispatcher index that enters ``pc``: JUMPDESTs by jump, other points as continuations."""
        return pc if self.is_jumpdest(pc) else self.n + pc

    # -- one trace -------------------------------------------------------------------
    def translate(self, entry: int, limit: int, inline_jumps: bool = True) -> TraceSource:
        """The trace starting at ``entry``, of a cost at most about ``limit`` (instructions, and
        ``PARTIAL_COST`` per partial evaluation new to the program; it may pass the limit by one
        instruction). Without
        ``inline_jumps`` the trace stops at jumps and JUMPDESTs (one basic block)."""
        return _Trace(self, entry, limit, inline_jumps).run()


class _Trace:
    def __init__(self, translator: Translator, entry: int, limit: int, inline_jumps: bool) -> None:
        self.t = translator
        self.code = translator.code
        self.table = translator.table
        self.entry = entry
        self.limit = limit
        self.inline_jumps = inline_jumps
        self.lines: list = []  # (indent, text) or _Block
        self.indent = _MAIN
        self.vs: list = []  # the virtual stack above the entry's unread items, bottom first
        self.pulled = 0  # entry items brought into vs
        self.loaded: dict[int, Local] = {}  # depth -> local holding that entry item
        self.frame_attrs: dict[str, str] = {}
        self.globals: dict = {}
        self.uses_n = False
        self.loops = False
        self.low = 0  # stack height (n) proven at least this
        self.high = STACK_LIMIT  # ... and at most this
        self.block: Optional[_Block] = None
        self.count = 0  # instructions translated
        self.cost = 0  # what the limit counts (see PARTIAL_COST)
        self.memory_known = 0  # memory is at least this long from here on (see need_memory)
        # memory is exactly that long (rounded to words): in the trace that starts a frame (pc 0, not a
        # JUMPDEST: no jump enters it), until something grows memory other than need_memory
        self.exact_memory = entry == 0 and not translator.is_jumpdest(0)
        self.growth: Optional[_Growth] = None  # the current block's last growth, while it may grow
        self.words: dict[int, object] = {}  # memory offset -> the word this trace stored there
        # memory offset -> the 32 bytes (an expression) this trace stored there and has not written yet
        self.pending: dict[int, str] = {}
        self.computed: dict[tuple, object] = {}  # (instruction, operand atoms) -> its value (CSE)
        # storage key (atom) -> the value an SLOAD of this trace read, while nothing since can have
        # written storage (SSTORE, calls and creates end their charge block: ENDS_CHARGE)
        self.slots: dict[str, object] = {}

    # -- emission helpers -------------------------------------------------------------
    def emit(self, text: str) -> None:
        if self.exact_memory and _MAY_GROW.search(text):
            self.exact_memory = False
        if self.indent == _MAIN and (self.pending or "f_memory[" in text) and not text.startswith((" ", "#")):
            text = self.memory_effects(text)
            if text is None:
                return
        if ".to_bytes(" in text:
            text = _CONSTANT_TO_BYTES.sub(_constant_bytes, text)
        if self.growth is not None and _OBSERVES_MEMORY_OR_GAS.search(_CHARGE_LINE.sub("", text)):
            self.growth = None  # what this line does depends on memory's size or the gas left
        self.lines.append((self.indent, text))

    # -- memory words not written yet --------------------------------------------------
    # A word stored at a constant offset (MSTORE, after its growth) is kept as an expression in
    # ``pending``; a read of whole pending words uses the expressions, and the words are written
    # where something else may see memory: before a line that reads or writes memory other than
    # whole pending words, hands the frame to a helper or call, or leaves the straight line in
    # a way that may need them (every exit to another trace, a block's halt, which runs per
    # instruction from the block's start: the pending words of then go with its write-back). A
    # frame that ends (STOP, RETURN, REVERT, or an exceptional halt) discards its memory, so a
    # word nothing read by then is never written.
    def memory_effects(self, text: str) -> Optional[str]:
        """``text`` (a line of the straight line) with reads of pending words replaced by their
        bytes, after writing the pending words it may see; None if it was a store kept pending."""
        pending = self.pending
        store = _STORE_WORD.fullmatch(text)
        if store and int(store.group(2), 0) - int(store.group(1), 0) == 32 \
                and int(store.group(2), 0) <= self.memory_known:
            offset = int(store.group(1), 0)
            self.write_words([at for at in pending if at != offset and at < offset + 32 and offset < at + 32])
            if offset not in pending and len(pending) >= PENDING_WORDS:
                self.write_words([next(iter(pending))])  # the oldest
            pending[offset] = store.group(3)
            return None
        if _PASSES_FRAME.search(text):
            self.write_words(list(pending))
            return text
        for use in _MEMORY_USE.finditer(_SIZE_ONLY.sub("", text)):
            if use.group(1) is None:  # memory as a whole, or a region not known here
                self.write_words(list(pending))
                return text
        out = []
        last = 0
        for use in _MEMORY_USE.finditer(text):
            if use.group(1) is None:
                continue  # its size
            start, end = int(use.group(1), 0), int(use.group(2), 0)
            words = [at for at in pending if at < end and start < at + 32]
            after = text[use.end():].lstrip()
            stored = after.startswith("=") and not after.startswith("==")
            whole = list(range(start, end, 32)) if end - start == 32 * len(words) else None
            if not stored and whole and whole == sorted(words):
                begin, finish = use.start(), use.end()
                if text[begin - 6:begin] == "bytes(" and text[finish:finish + 1] == ")" \
                        and not re.match(r"\w", text[begin - 7:begin - 6]):
                    begin, finish = begin - 6, finish + 1  # bytes of bytes: the bytes
                out.append(text[last:begin])
                out.append(pending[start] if len(whole) == 1 else f"({' + '.join(pending[at] for at in whole)})")
                last = finish
            else:
                self.write_words(words)
        out.append(text[last:])
        return "".join(out)

    def write_words(self, offsets: list) -> None:
        """Write the pending words at ``offsets`` into memory here (in the straight line: no longer pending)."""
        for offset in sorted(offsets):
            self.lines.append((self.indent, self.word_store(offset)))
            del self.pending[offset]

    def word_store(self, offset: int) -> str:
        return _CONSTANT_TO_BYTES.sub(_constant_bytes, f"f_memory[{offset}:{offset + 32}] = {self.pending[offset]}")

    def write_back_memory(self) -> None:
        """At an exit: write every pending word (they stay pending for the straight line)."""
        for offset in sorted(self.pending):
            self.lines.append((self.indent, self.word_store(offset)))

    def open_block(self, pc: int) -> None:
        lines, indent = self.lines, self.indent
        self.lines, self.indent = [], 0
        self.materialize()  # emits nothing but the write-back (it reads what is there, loads nothing)
        write_back = [text for _, text in self.lines]
        self.lines, self.indent = lines, indent
        block = _Block(indent, self.pulled, len(self.vs) - self.pulled, pc, write_back)
        self.lines.append(block)
        self.growth = None
        self.block = block

    def close_block(self) -> None:
        self.growth = None
        block = self.block
        if block is None:
            return
        self.block = None
        block.gas += sum(growth.cost() for growth in block.growths)
        i = block.indent
        failures = []
        if block.gas:
            block.lines.append((i, f"g = f.gas - {block.gas}"))
            failures.append("g < 0")
        if block.pulled > self.low:
            failures.append(f"n < {block.pulled}")
            self.low = block.pulled
            self.uses_n = True
        bound = STACK_LIMIT - block.height
        if bound < self.high:
            failures.append(f"n > {bound}")
            self.high = bound
            self.uses_n = True
        if failures:
            # The block cannot complete: per-instruction execution from its start finds the
            # instruction that halts and why (vm/stepping.py), on the stack as it is there.
            block.lines.append((i, f"if {' or '.join(failures)}:"))
            block.lines += [(i + 1, text) for text in block.write_back]
            block.lines.append((i + 1, f"halt(f, {block.pc})"))
        if block.gas:
            block.lines.append((i, "f.gas = g"))

    def note_height(self) -> None:
        block = self.block
        height = len(self.vs) - self.pulled
        if height > block.height:
            block.height = height

    def frame_attr(self, name: str) -> str:
        local = self.frame_attrs.get(name)
        if local is None:
            local = self.frame_attrs[name] = f"f_{name}"
        return local

    # -- the virtual stack ------------------------------------------------------------
    def need(self, count: int) -> None:
        """Make the top ``count`` items visible in vs, pulling entry items as needed."""
        vs = self.vs
        while len(vs) < count:
            self.pulled += 1
            vs.insert(0, Entry(self.pulled))
        if self.pulled > self.block.pulled:
            self.block.pulled = self.pulled

    def pop(self):
        self.need(1)
        return self.vs.pop()

    def load(self, value) -> str:
        """An atom (name or literal) for ``value``, reading an entry item into a local on first use."""
        if isinstance(value, Const):
            return literal(value.value)
        if isinstance(value, Local):
            return value.name
        if isinstance(value, Cond):
            return f"(1 if {value.test} else 0)"
        depth = value.depth
        local = self.loaded.get(depth)
        if local is None:
            local = self.loaded[depth] = Local(f"s{depth}", WORD_BITS, depth)
            self.emit(f"s{depth} = s[-{depth}]")
        vs = self.vs
        for i, item in enumerate(vs):
            if item is value:
                vs[i] = local
        return local.name

    @staticmethod
    def width(value) -> int:
        if isinstance(value, Const):
            return value.value.bit_length()
        if isinstance(value, Local):
            return value.width
        if isinstance(value, Cond):
            return 1
        return WORD_BITS

    def materialize(self) -> None:
        """Write the virtual stack back to ``s`` and the pending memory words to memory (at an
        exit; vs and pending are left as they are)."""
        self.write_back_memory()
        vs = list(self.vs)
        c = self.pulled
        while vs and c:
            bottom = vs[0]
            if (isinstance(bottom, Entry) and bottom.depth == c) or (isinstance(bottom, Local) and bottom.depth == c):
                vs.pop(0)
                c -= 1
            else:
                break
        if not vs and not c:
            return

        atoms = [self.exit_atom(v) for v in vs]
        if c == 0:
            self.emit(f"s.append({atoms[0]})" if len(atoms) == 1 else f"s.extend(({', '.join(atoms)}))")
        elif not atoms:
            self.emit("del s[-1]" if c == 1 else f"del s[-{c}:]")
        elif len(atoms) == c and not any(a.startswith("s[") for a in atoms):
            for i, a in enumerate(atoms):
                depth = c - i
                value = vs[i]
                if isinstance(value, (Entry, Local)) and getattr(value, "depth", 0) == depth:
                    continue  # still in place
                self.emit(f"s[-{depth}] = {a}")
        else:
            self.emit(f"s[-{c}:] = ({', '.join(atoms)}{',' if len(atoms) == 1 else ''})")

    # -- exits ------------------------------------------------------------------------
    def exit_atom(self, value) -> str:
        """An atom for ``value`` in exit code, which may sit in a branch: an entry item
        not loaded yet is read as ``s[-depth]`` (valid until the write-back)."""
        if isinstance(value, Entry):
            local = self.loaded.get(value.depth)
            return local.name if local is not None else f"s[-{value.depth}]"
        return self.load(value)

    def exit_to(self, dest) -> None:
        """Leave for jump destination ``dest`` (a value): check it, write the stack back, return."""
        if isinstance(dest, Const):
            target = dest.value
            if not self.t.is_jumpdest(target):
                self.emit("raise InvalidJump()")
                return
            self.materialize()
            if target == self.entry:
                self.loops = True
                self.emit("continue")
            else:
                self.emit(f"return {literal(target)}")
            return
        name = self.exit_atom(dest)
        if name.startswith("s["):
            self.emit(f"d = {name}")
            name = "d"
        self.emit(f"if {name} >= {self.t.n}:")
        self.emit("    raise InvalidJump()")
        self.materialize()
        self.emit(f"return {name}")

    def leave_at(self, pc: int) -> None:
        """Leave for ``pc`` reached in straight line (a continuation, or the entry again)."""
        self.materialize()
        if pc == self.entry:
            self.loops = True
            self.emit("continue")
        else:
            self.emit(f"return {literal(self.t.entry_index(pc))}")

    # -- the walk -----------------------------------------------------------------------
    def run(self) -> None:
        code = self.code
        table = self.table
        n = len(code)
        visited = set()
        pc = self.entry
        self.open_block(pc)
        while True:
            if pc >= n:
                self.close_block()
                self.emit(f"return {HALTED}")  # running off the end is STOP
                break
            if pc != self.entry and (pc in visited or self.cost >= self.limit):
                self.close_block()
                self.leave_at(pc)
                break
            if pc in visited:  # back at the entry by falling through
                self.close_block()
                self.leave_at(pc)
                break
            visited.add(pc)
            self.count += 1
            self.cost += 1
            opcode = code[pc]
            spec = table[opcode]
            if self.t.comments:
                self.emit(f"# {pc:04x} {spec.name if spec else f'0x{opcode:02x} (undefined)'}")
            if spec is None:
                self.close_block()
                self.emit(f"raise InvalidOpcode('invalid opcode 0x{opcode:02x}')")
                break
            self.block.gas += spec.gas
            if spec.probe is not None:
                self.probe(spec, pc)
            flags = spec.flags
            if flags & IS_PUSH:
                size = spec.arg
                imm = code[pc + 1 : pc + 1 + size]
                self.vs.append(Const(int.from_bytes(imm, "big") << (8 * (size - len(imm)))))
                self.note_height()
                pc += 1 + size
                continue
            if flags & IS_DUP:
                self.need(spec.arg)
                self.vs.append(self.vs[-spec.arg])
                self.note_height()
                pc += 1
                continue
            if flags & IS_SWAP:
                self.need(spec.arg + 1)
                vs = self.vs
                vs[-1], vs[-1 - spec.arg] = vs[-1 - spec.arg], vs[-1]
                pc += 1
                continue
            if flags & IS_JUMP:
                dest = self.pop()
                if isinstance(dest, Const) and self.inline_jumps and self.t.is_jumpdest(dest.value) \
                        and dest.value != self.entry and dest.value not in visited and self.cost < self.limit:
                    pc = dest.value  # a static jump: continue there, in the same block
                    continue
                self.close_block()
                self.exit_to(dest)
                break
            if flags & IS_JUMPI:
                dest = self.pop()
                cond = self.pop()
                if isinstance(cond, Const):
                    if not cond.value:
                        pc += 1  # never taken
                        continue
                    if isinstance(dest, Const) and self.inline_jumps and self.t.is_jumpdest(dest.value) \
                            and dest.value != self.entry and dest.value not in visited and self.cost < self.limit:
                        pc = dest.value
                        continue
                    self.close_block()
                    self.exit_to(dest)
                    break
                test = cond.test if isinstance(cond, Cond) else self.load(cond)
                if isinstance(dest, Const) and self.inline_jumps and self.t.is_jumpdest(dest.value) \
                        and dest.value != self.entry and dest.value not in visited and self.cost < self.limit \
                        and self.fails_soon(pc + 1):
                    # ``require``/``assert``: the fall-through reverts; the trace follows the jump
                    self.close_block()
                    self.emit(f"if not ({test}):")
                    self.indent += 1
                    self.leave_at(pc + 1)
                    self.indent -= 1
                    pc = dest.value
                    self.open_block(pc)
                    continue
                self.close_block()
                self.emit(f"if {test}:")
                self.indent += 1
                self.exit_to(dest)
                self.indent -= 1
                pc += 1
                if not self.inline_jumps and pc < n and code[pc] == 0x5B:
                    self.leave_at(pc)
                    break
                self.open_block(pc)
                continue
            # an instruction with a template
            self.instruction(spec, pc)
            if flags & ENDS_BLOCK:
                self.close_block()
                break
            pc += 1
            if flags & ENDS_CHARGE:
                self.close_block()
                self.open_block(pc)
            elif not self.inline_jumps and pc < n and code[pc] == 0x5B:
                self.close_block()
                self.leave_at(pc)
                break
        self.close_block()
        return self.finish()

    def fails_soon(self, pc: int) -> bool:
        """Whether the code from ``pc`` ends in REVERT, INVALID or an undefined opcode within
        ``FAILURE_LOOKAHEAD`` instructions without a branch (the failing side of a check);
        ``PUSH dest; JUMP`` to a JUMPDEST is followed (a shared revert routine)."""
        code, table = self.code, self.table
        pushed = None
        for _ in range(FAILURE_LOOKAHEAD):
            if pc >= len(code):
                return False  # STOP
            opcode = code[pc]
            spec = table[opcode]
            if spec is None or opcode in _FAILING_OPCODES:
                return True
            flags = spec.flags
            if flags & IS_JUMP and pushed is not None and self.t.is_jumpdest(pushed):
                pc, pushed = pushed + 1, None
                continue
            if flags & (ENDS_BLOCK | IS_JUMP | IS_JUMPI):
                return False
            if flags & IS_PUSH:
                pushed = int.from_bytes(code[pc + 1:pc + 1 + spec.arg], "big")
                pc += 1 + spec.arg
            else:
                pushed = None
                pc += 1
        return False

    def emit_lines(self, lines: list[str], merge_charges: bool = True) -> None:
        """Emit a template's lines. A constant ``charge(f, C)`` joins the block's static gas (exact
        for the reason block charging is, unless the instruction reads the exact gas:
        ``merge_charges`` False). Memory growth to a constant size goes through ``need_memory``,
        and ``X = read_memory(f, C, S)`` becomes a slice of memory made big enough there."""
        if self.pending and any(
                line.startswith(" ") and (_PASSES_FRAME.search(line) or _MEMORY_USE.search(_SIZE_ONLY.sub("", line)))
                and not (k and _is_growth(lines[k - 1], line)) for k, line in enumerate(lines)):
            self.write_words(list(self.pending))  # a branch of the template may see memory
        i = 0
        while i < len(lines):
            line = lines[i]
            if merge_charges:
                charge = _CONSTANT_CHARGE.fullmatch(line)
                if charge:
                    self.block.gas += int(charge.group(1), 0)
                    i += 1
                    continue
            if i + 1 < len(lines) and _is_growth(line, lines[i + 1]):
                match = _MEMORY_CHECK.fullmatch(line)
                self.need_memory(int(match.group(1), 0))
                i += 2
                continue
            read = _READ_MEMORY.fullmatch(line)
            if read:
                offset, size = int(read.group(2), 0), int(read.group(3), 0)
                if not size:
                    self.emit(f"{read.group(1)} = b''")
                else:
                    self.need_memory(offset + size)
                    self.emit(f"{read.group(1)} = bytes({self.frame_attr('memory')}[{offset}:{offset + size}])")
                i += 1
                continue
            stripped = line.lstrip()
            if stripped in _FRAME_ENDS:  # STOP, RETURN, REVERT: the frame ends
                line = line[:len(line) - len(stripped)] + _FRAME_ENDS[stripped]
            self.emit(line)
            i += 1

    def need_memory(self, end: int) -> None:
        """Make memory at least ``end`` bytes long here (charging the growth). After a growth,
        memory is that long for the rest of the trace (it never shrinks), so a growth to no more
        is dropped; a larger one raises the block's last growth if nothing since has looked at
        memory's size or the gas (``_OBSERVES_MEMORY_OR_GAS``): the cost of growing in steps is the
        cost of growing once to the largest size, and a growth that cannot be paid is out of gas
        either way (the reason block charging is exact)."""
        if end <= self.memory_known:
            return
        base = ((self.memory_known + 31) >> 5) << 5 if self.exact_memory else None
        self.memory_known = end
        if self.growth is not None:
            self.growth.end = end
            return
        if end > MAX_MEMORY_END:
            self.emit(f"expand(f, {end})")  # out of gas
            self.globals["expand"] = expand
            return
        self.frame_attr("memory")
        self.globals["OutOfGas"] = OutOfGas
        self.growth = _Growth(self.indent, end, base)
        if base is not None:
            self.block.growths.append(self.growth)
        self.lines.append(self.growth)

    def probe(self, spec, pc: int) -> None:
        name = f"probe_{spec.name.lower()}"
        self.globals[name] = spec.probe
        self.emit(f"{name}(f, {pc})")

    def instruction(self, spec, pc: int) -> None:
        ins = spec.instruction
        operands = [self.pop() for _ in range(ins.pops)]
        self.note_height()
        fn = ins.fn
        if fn is _SSTORE and isinstance(operands[0], (Const, Local)) and self.load(operands[0]) in self.slots:
            if self.store_known(ins, operands, pc):
                return
        if spec.flags & ENDS_CHARGE:
            self.slots = {}
        slot = None
        if fn in _SLOADS and isinstance(operands[0], (Const, Local)):
            slot = self.load(operands[0])
            known = self.slots.get(slot)
            if known is not None:  # read earlier in this trace: the same value, and the slot is warm
                if fn is _SLOADS[0]:
                    self.block.gas += WARM_ACCESS  # EIP-2929: what a warm SLOAD charges
                self.vs.append(known)
                self.note_height()
                return
        if fn is _MLOAD and isinstance(operands[0], Const) and operands[0].value in self.words:
            self.vs.append(self.words[operands[0].value])  # the word this trace stored there
            self.note_height()
            return
        if ins.writes_memory:
            if fn is _MSTORE and isinstance(operands[0], Const):
                offset = operands[0].value
                self.words = {at: v for at, v in self.words.items() if at + 32 <= offset or at >= offset + 32}
                self.words[offset] = operands[1]
            else:
                self.words = {}
        if ins.pure and all(isinstance(v, Const) for v in operands):
            args = [v.value for v in operands] + ([pc] if ins.uses_pc else [])
            try:
                value = ins.direct(*args)
            except Exception:  # it raises at run time: emit it
                pass
            else:
                if ins.pushes:
                    self.vs.append(Const(value))
                    self.note_height()
                return
        if ins.pure and ins.negates_input and isinstance(operands[0], Cond):
            self.vs.append(Cond(f"not ({operands[0].test})"))
            self.note_height()
            return
        if ins.statement_count <= PARTIAL_STATEMENTS and any(
                branch and isinstance(v, Const) for v, branch in zip(operands, ins.branch_inputs)):
            # a constant that a branch tests: resolve the branch at compile time
            values = tuple(v.value if branch and isinstance(v, Const) else None
                           for v, branch in zip(operands, ins.branch_inputs))
            if (ins, values) not in self.t.partials:  # its first use in this program
                self.t.partials.add((ins, values))
                self.cost += PARTIAL_COST
            ins = ins.partial(values)
            operands = [v for v, value in zip(operands, values) if value is None]
        atoms = tuple(self.load(v) if used else "None" for v, used in zip(operands, ins.used_inputs))
        key = None
        if ins.invariant:
            key = (ins, atoms)
            known = self.computed.get(key)
            if known is not None:  # the same instruction on the same values earlier in this trace
                self.vs.append(known)
                self.note_height()
                return
        name = f"v_{pc:x}"
        inline = ins.statement_count <= INLINE_STATEMENTS and self.adopt_globals(ins)
        if inline:
            widths = tuple(self.width(v) for v in operands)
            lines, result, test = ins.inline(atoms, f"{pc:x}", self.frame_attr, pc, ins.needs_mask(widths))
            self.emit_lines(lines, merge_charges=not spec.flags & NEEDS_EXACT_GAS)
            if result is None:
                return
            if not lines and result in atoms:  # the result is one of the inputs, unchanged
                value = operands[atoms.index(result)]
            elif test is not None and ins.pure:
                value = Cond(test)
            else:
                self.emit(f"{name} = {result}")
                value = Local(name, ins.result_width(widths))
            if key is not None:
                self.computed[key] = value
            if slot is not None and isinstance(value, Local):
                self.slots[slot] = value
            self.vs.append(value)
        else:
            function = self.t.function_name(ins)
            self.globals[function] = ins.direct
            args = (["f"] if ins.uses_frame else []) + list(atoms) + ([str(pc)] if ins.uses_pc else [])
            call = f"{function}({', '.join(args)})"
            if not ins.pushes:
                self.emit(call)
                return
            self.emit(f"{name} = {call}")
            self.vs.append(Local(name, WORD_BITS))
        self.note_height()

    def store_known(self, ins, operands: list, pc: int) -> bool:
        """SSTORE to a slot this trace has read (``slots``): the template inline, with the slot's
        current value the one read, and warm (the read warmed it), instead of asking the state
        again. False (nothing emitted) where the template's lines are not the expected ones."""
        key, new = operands
        key_atom = self.load(key)
        known = self.slots[key_atom]
        if not self.adopt_globals(ins):
            return False
        suffix = f"{pc:x}"
        lines, _, _ = ins.inline((key_atom, self.load(new)), suffix, self.frame_attr, pc)
        state, key_text = rf"\(?state_{suffix}\)?", re.escape(key_atom)  # (_fill parenthesizes "9.")
        read = re.compile(rf"current_{suffix} = {state}\.get_storage\(address_{suffix}, {key_text}\)")
        warm = re.compile(rf"cost_{suffix} = \d+ if {state}\.warm_slot\(address_{suffix}, {key_text}\) else 0")
        if sum(1 for line in lines if read.fullmatch(line)) != 1 or sum(1 for line in lines if warm.fullmatch(line)) > 1:
            return False
        lines = [f"current_{suffix} = {self.load(known)}" if read.fullmatch(line)
                 else f"cost_{suffix} = 0" if warm.fullmatch(line) else line for line in lines]
        self.emit_lines(lines, merge_charges=False)
        # after it the slot holds the new value (a halt would have ended the trace)
        self.slots = {key_atom: new} if isinstance(new, (Const, Local)) else {}
        self.note_height()
        return True

    def adopt_globals(self, ins) -> bool:
        """Make the names ``ins`` uses available to the trace; False on a clash (then call it)."""
        namespace = self.t.namespace
        wanted = {}
        for name in ins.globals_used:
            if name not in ins.namespace:
                continue  # a builtin
            value = ins.namespace[name]
            present = namespace.get(name, self.globals.get(name, value))
            if present is not value:
                return False
            wanted[name] = value
        self.globals.update(wanted)
        return True

    # -- the function ---------------------------------------------------------------------
    def finish(self) -> TraceSource:
        entry = self.entry
        name = "start" if entry == 0 and not self.t.is_jumpdest(0) else f"at_{entry:x}"
        out = [f"def {name}(f, s):"]
        for attr, local in self.frame_attrs.items():
            out.append(f"    {local} = f.{attr}")
        body_indent = 2
        if self.loops:
            out.append("    while True:")
        else:
            body_indent = 1
        pad = "    "
        shift = 2 - body_indent
        if self.uses_n:
            out.append(pad * body_indent + "n = len(s)")
        for item in self.lines:
            if isinstance(item, (_Block, _Growth)):
                for indent, text in (item.lines if isinstance(item, _Block) else item.lines()):
                    out.append(pad * (indent - shift) + text)
            else:
                indent, text = item
                out.append(pad * (indent - shift) + text)
        source = "\n".join(out) + "\n"
        return TraceSource(name, entry, source, self.count, self.cost, self.globals)
