"""A compiled program: one code under one fork, its traces compiled as execution reaches them.

``Program.run(frame)`` is the compiled tier's loop: ``pc = fns[pc](f, s)``
over trace functions instead of instruction handlers. ``fns`` has a slot
per jump destination (index = pc) and per continuation (index = len(code)
+ pc, points a trace chose to stop at; the frame starts at continuation
0); an empty slot is filled by compiling the trace that starts there. A
jump slot whose pc is not a valid JUMPDEST gets a function that raises
InvalidJump, so a dynamic jump costs the dispatch and nothing more.

Traces are compiled once per program, when first entered: the work is
proportional to the code that runs. A trace inlines at most
``TRACE_LIMIT`` instructions; once a program has translated more than
``BUDGET_PER_BYTE`` instructions per byte of its code (traces overlap:
a JUMPDEST in the middle of one trace starts another), further traces
are single basic blocks, so an adversarial code costs at most a few
translations of each of its instructions.

Compiling is inline but bounded per transaction: a transaction (every
frame of it, every program) translates at most ``Program.tx_budget``
instructions, where a partial evaluation of a template new to the program
counts as ``translate.PARTIAL_COST`` (``ctx.compile_budget`` counts down). Once that is spent, a
frame that reaches a slot with no trace goes on in the interpreter
(``stepping.interpret_from``), and the slot stays empty for a later
transaction to compile. So the frame that makes a code hot
never stalls on compiling it: a 24 KB contract is compiled over several
transactions, each paying a bounded slice (``hyperion bench vm`` prints the
most one transaction spent).
"""

from __future__ import annotations

import linecache
import time
from functools import partial
from typing import Callable, Optional

from hyperion.vm.compiler.translate import HALTED, TraceSource, Translator
from hyperion.vm.exceptions import REVERTED, SUCCESS, Halt, InvalidJump, InvalidOpcode
from hyperion.vm.stepping import halt_exactly, interpret_from
from hyperion.vm.template import INLINE_GLOBALS, M

TRACE_LIMIT = 1500  # instructions per trace
BUDGET_PER_BYTE = 3  # translated instructions per byte of code before traces become single blocks
BUDGET_BASE = 4096
TX_BUDGET = 512  # translation cost a transaction may spend (instructions; Program.tx_budget, Tiers.configure)

BASE_NAMESPACE = {
    "M": M,
    "Halt": Halt,
    "InvalidJump": InvalidJump,
    "InvalidOpcode": InvalidOpcode,
    **INLINE_GLOBALS,
}


def _invalid_jump(f, s):
    raise InvalidJump()


class Program:
    """The compiled form of ``code`` under one instruction table."""

    compile_seconds_total = 0.0  # CPU time spent compiling traces in this process
    tx_budget = TX_BUDGET

    __slots__ = ("code", "table", "analysis", "fns", "namespace", "translator", "n", "translated", "budget",
                 "traces", "compile_seconds", "code_hash", "runs", "cut", "retried", "__weakref__")

    def __init__(self, code: bytes, table: tuple, analysis) -> None:
        self.code = code
        self.table = table
        self.analysis = analysis  # the interpreter's LazyCodeAnalysis of the same code: its JUMPDEST rule
        n = self.n = len(code)
        self.fns: list = [None] * (2 * n + 1)
        self.namespace = dict(BASE_NAMESPACE)
        self.namespace["halt"] = partial(halt_exactly, analysis=analysis)  # a block that cannot complete
        self.translator = Translator(code, table, analysis.is_jumpdest, self.namespace)
        self.translated = 0
        self.budget = BUDGET_PER_BYTE * n + BUDGET_BASE
        self.traces: dict[int, TraceSource] = {}  # index -> source, for inspection
        self.compile_seconds = 0.0
        self.code_hash = None
        self.runs = 0
        self.cut: list[int] = []  # slots whose trace a transaction's compile budget cut short
        self.retried: dict[int, int] = {}  # slot -> instructions of the last trace cut there

    def run(self, f) -> int:
        """Execute frame ``f`` to its end: SUCCESS or REVERTED where a trace ends it (it returns
        ``HALTED`` or ``REVERTED_EXIT`` instead of a pc), else it raises Halt, Revert or an
        ExceptionalHalt like the interpreter (helpers, the interpreter hand-off)."""
        fns = self.fns
        s = f.stack
        pc = self.n  # the continuation at pc 0
        if self.cut:
            self.retry_cut(f.ctx)
        while True:
            fn = fns[pc]
            if fn is None:
                fn = self.build(pc, f.ctx)
                if fn is None:  # this transaction's compile budget is spent: the interpreter goes on
                    interpret_from(f, pc if pc < self.n else pc - self.n, self.analysis)
            pc = fn(f, s)
            if pc < 0:
                return SUCCESS if pc == HALTED else REVERTED

    def build(self, index: int, ctx=None) -> Optional[Callable]:
        """Compile (or find) the trace for dispatcher slot ``index`` and install it; None when
        it needs compiling and transaction ``ctx`` has spent its compile budget (no ``ctx``:
        no budget)."""
        n = self.n
        fns = self.fns
        if index < n:
            if not self.analysis.is_jumpdest(index):
                fns[index] = _invalid_jump
                return _invalid_jump
            pc = index
            other = n + pc
        else:
            pc = index - n
            other = pc if pc < n and self.analysis.is_jumpdest(pc) else None
        if other is not None and fns[other] is not None:
            fns[index] = fns[other]
            return fns[index]
        limit = None
        if ctx is not None:
            limit = ctx.compile_budget
            if limit is None:
                limit = Program.tx_budget
            if limit <= 0:
                return None
        fn = self.compile_trace(pc, limit)
        if ctx is not None:
            trace = self.traces[pc]
            ctx.compile_budget = limit - trace.cost
            if trace.cost >= limit and trace.instructions > self.retried.get(index, 0):
                self.cut.append(index)  # compiled again later: see retry_cut
                self.retried[index] = trace.instructions
        fns[index] = fn
        if other is not None:
            fns[other] = fn
        return fn

    def retry_cut(self, ctx) -> None:
        """Empty the slots of traces the compile budget cut short, so that they compile again,
        whole, when next entered: a trace that stops where a transaction's budget ran out costs
        every later run a dispatch and a trace entry there. Done in a transaction that has not
        compiled yet (its whole budget bounds the new trace as usual); the partial evaluations
        the last try paid for are free now, so it goes further, and a slot is tried again only
        while its trace grows (at most ``TRACE_LIMIT`` instructions)."""
        if ctx.compile_budget is not None:
            return
        n = self.n
        fns = self.fns
        for index in self.cut:
            pc = index if index < n else index - n
            slots = (pc, n + pc) if pc < n and self.analysis.is_jumpdest(pc) else (index,)
            for slot in slots:  # a JUMPDEST's trace fills its jump slot and its continuation slot
                fns[slot] = None
                self.retried[slot] = self.retried[index]
        self.cut.clear()

    def compile_trace(self, pc: int, limit: Optional[int] = None) -> Callable:
        """Translate and load the trace at ``pc``, at most ``limit`` instructions long."""
        start = time.process_time()
        inline = self.translated < self.budget
        size = TRACE_LIMIT if inline else 64
        trace = self.translator.translate(pc, size if limit is None else min(size, limit), inline_jumps=inline)
        self.translated += trace.instructions
        fn = self.load(trace)
        self.traces[pc] = trace
        spent = time.process_time() - start
        self.compile_seconds += spent
        Program.compile_seconds_total += spent
        return fn

    def load(self, trace: TraceSource) -> Callable:
        namespace = self.namespace
        namespace.update(trace.globals)
        filename = f"<metisvm trace {trace.name} of {self.code_hash_hex()[:10]}>"
        linecache.cache[filename] = (len(trace.source), None, trace.source.splitlines(True), filename)
        local: dict = {}
        exec(compile(trace.source, filename, "exec"), namespace, local)
        return local[trace.name]

    def code_hash_hex(self) -> str:
        if self.code_hash is None:
            from hyperion.primitives.keccak import keccak256

            self.code_hash = keccak256(self.code)
        return self.code_hash.hex()

    def compile_all(self) -> None:
        """Compile the start and every JUMPDEST (for ``vm compile`` and warming)."""
        n = self.n
        self.build(n)
        for pc in range(n):
            if self.code[pc] == 0x5B and self.analysis.is_jumpdest(pc) and self.fns[pc] is None:
                self.build(pc)

    @property
    def size(self) -> int:
        """What the program weighs in the code cache (its code's size)."""
        return self.n


def show(code: bytes, table: tuple, analysis, entries=None) -> str:
    """The readable source of the traces from ``entries`` (default: the start and every JUMPDEST)."""
    translator = Translator(code, table, analysis.is_jumpdest, dict(BASE_NAMESPACE), comments=True)
    if entries is None:
        entries = [0] + [pc for pc in range(len(code)) if code[pc] == 0x5B and analysis.is_jumpdest(pc) and pc]
    parts = []
    for pc in entries:
        parts.append(translator.translate(pc, TRACE_LIMIT).source)
    return "\n\n".join(parts)
