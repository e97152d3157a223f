"""Dynamic tiering: interpret a code until it is hot, then run it compiled.

Every code the VM runs has a ``CodeEntry`` in its fork's code cache (one
per instruction table, see ``frame.fork_tables``): the interpreter's lazy
analysis, how often the code ran, and its compiled ``Program`` once it has
one. A code is compiled when it has run ``threshold`` times in the
interpreter (0: the first time; None: never). Compiling is cheap to start
(a program compiles each trace when execution first enters it) and
bounded per transaction (``Program.tx_budget`` instructions; code not
compiled yet runs per instruction meanwhile), so it happens inline, on
the frame that crossed the threshold, and later ones.

Compiled programs live in one LRU cache bounded by the total size of
their codes (``cache_bytes``); evicting a program drops its compiled
traces (a hot code compiles again on its next run). A node saves the
codes of the most recently used programs at shutdown and compiles them at
its next start (``compiler.hot``), so a restart does not send its hot
contracts back to the interpreter.

Tracing (a tracer on the transaction) always uses the interpreter.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Iterable, Optional

from hyperion.vm.compiler.program import Program

DEFAULT_THRESHOLD = 2
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
THRESHOLD_ENV = "HYPERION_VM_COMPILE_THRESHOLD"  # "never", or an integer
BUDGET_ENV = "HYPERION_VM_COMPILE_BUDGET"  # "unlimited", or an integer >= 1 (Program.tx_budget)
UNLIMITED = 1 << 62


class CodeEntry:
    """One code under one instruction table: analysis, run count, compiled program."""

    __slots__ = ("code", "table", "analysis", "runs", "program")

    def __init__(self, code: bytes, table: tuple, analysis) -> None:
        self.code = code
        self.table = table
        self.analysis = analysis
        self.runs = 0
        self.program: Optional[Program] = None


def _int_from_env(name: str, default, minimum: int, words: tuple, word_value):
    """``$name`` as an integer >= ``minimum``, or ``word_value`` for one of ``words`` (the first is
    the one error messages name); ``default`` when unset."""
    text = os.environ.get(name, "").strip().lower()
    if not text:
        return default
    if text in words:
        return word_value
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"${name} must be '{words[0]}' or an integer >= {minimum}, not {text!r}") from None
    if value < minimum:
        raise ValueError(f"${name} must be >= {minimum}")
    return value


def _threshold_from_env() -> Optional[int]:
    return _int_from_env(THRESHOLD_ENV, DEFAULT_THRESHOLD, 0, ("never", "off", "none", "interpreter"), None)


def _budget_from_env() -> Optional[int]:
    return _int_from_env(BUDGET_ENV, None, 1, ("unlimited",), UNLIMITED)


class Tiers:
    """The tiering policy and the cache of compiled programs (one per process)."""

    def __init__(self) -> None:
        self.threshold: Optional[int] = _threshold_from_env()
        budget = _budget_from_env()
        if budget is not None:
            Program.tx_budget = budget
        self.cache_bytes = DEFAULT_CACHE_BYTES
        self._lru: OrderedDict = OrderedDict()  # CodeEntry -> size
        self._recent: Optional[CodeEntry] = None  # the most recently used entry (the last of _lru)
        self._bytes = 0
        self._lock = threading.Lock()
        self.enabled = True  # False: interpret everything (the bench's interpreter column)
        self.compiled = 0  # programs created
        self.evicted = 0

    def configure(self, threshold: Optional[int] = -1, cache_bytes: Optional[int] = None,
                  tx_budget: Optional[int] = None) -> None:
        """Set the threshold (None: never compile; leave out to keep it), the cache bound and the
        instructions one transaction may translate."""
        if tx_budget is not None:
            if tx_budget < 1:
                raise ValueError("the compile budget per transaction must be >= 1 instruction")
            Program.tx_budget = tx_budget
        if threshold != -1:
            if threshold is not None and threshold < 0:
                raise ValueError("the compile threshold must be >= 0 (or None: never)")
            self.threshold = threshold
        if cache_bytes is not None:
            if cache_bytes < 0:
                raise ValueError("the code cache size must be >= 0")
            self.cache_bytes = cache_bytes
            with self._lock:
                self._evict()

    def program_for(self, entry: CodeEntry) -> Optional[Program]:
        """``entry``'s program if it has one or just became hot enough for one."""
        program = entry.program
        if not self.enabled:
            return None
        if program is not None:
            if entry is not self._recent:  # (a contract called again and again: nothing to reorder)
                try:
                    self._lru.move_to_end(entry)
                except KeyError:  # evicted by another thread meanwhile
                    pass
                self._recent = entry
            return program
        threshold = self.threshold
        if threshold is None or entry.runs < threshold:
            entry.runs += 1
            return None
        return self.compile(entry)

    def compile(self, entry: CodeEntry) -> Program:
        program = Program(entry.code, entry.table, entry.analysis)
        program.runs = entry.runs
        size = program.size
        with self._lock:
            if entry.program is None:
                entry.program = program
                self._lru[entry] = size
                self._recent = entry
                self._bytes += size
                self.compiled += 1
                self._evict()
        return entry.program or program

    def _evict(self) -> None:
        lru = self._lru
        while self._bytes > self.cache_bytes and lru:
            entry, size = lru.popitem(last=False)
            if entry is self._recent:
                self._recent = None
            entry.program = None
            self._bytes -= size
            self.evicted += 1

    def forget(self, entries: Iterable[CodeEntry]) -> None:
        """Drop the programs of entries their code cache let go of."""
        with self._lock:
            for entry in entries:
                size = self._lru.pop(entry, None)
                if entry is self._recent:
                    self._recent = None
                if size is not None:
                    entry.program = None
                    self._bytes -= size

    def recent_codes(self, limit: int) -> list[bytes]:
        """The codes of the ``limit`` most recently used programs, most recent first."""
        with self._lock:
            entries = list(self._lru)[-limit:] if limit > 0 else []
        return [entry.code for entry in reversed(entries)]

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def programs(self) -> list[Program]:
        with self._lock:
            return [entry.program for entry in self._lru if entry.program is not None]

    def clear(self) -> None:
        with self._lock:
            for entry in self._lru:
                entry.program = None
            self._lru.clear()
            self._recent = None
            self._bytes = 0


TIERS = Tiers()


def configure(threshold: Optional[int] = -1, cache_bytes: Optional[int] = None,
              tx_budget: Optional[int] = None) -> None:
    """Configure the process's tiering (see ``Tiers.configure``)."""
    TIERS.configure(threshold, cache_bytes, tx_budget)
