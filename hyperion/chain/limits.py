"""Work limits that stop the work itself: deadlines, the RPC gas cap, trace memory.

Every execution an RPC request starts (eth_call, eth_estimateGas,
eth_createAccessList, debug_trace*) and every long loop a request drives
(log queries, batches) runs inside a ``budget``: a deadline for the calling
thread. A single watchdog thread marks a thread whose budget ran out; the
work then stops at its next *check point* with ``WorkAborted``:

* inside MetisVM, executions started for RPC use a *bounded* variant of the
  fork whose JUMP, JUMPI, CALL* and CREATE* handlers look at the mark first
  (every loop jumps, every call tree calls; straight-line code between two
  such instructions is at most one contract long). Block production keeps
  the plain fork, so the mark costs the normal path nothing;
* the chain's loops (log queries, trace replays, gas estimation, batches)
  call ``check()`` between steps.

The check is one global truth test while no thread is marked. Raising an
exception into the executing thread (``PyThreadState_SetAsyncExc``) would
need no check points but can land anywhere, including inside a reader's or
a cache's bookkeeping shared with other threads; a worker process cannot
read an in-memory chain. ``abort_all`` marks every thread that works under
a budget (shutdown).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import sys
import threading
import time
from array import array
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Iterator, Optional

import orjson

from hyperion.vm.tracing import CallTracer, StructLogger

# geth's RPC defaults: --rpc.gascap 50M, --rpc.evmtimeout 5s
DEFAULT_GAS_CAP = 50_000_000
DEFAULT_EVM_TIMEOUT = 5.0
# Struct logs and call frames kept by one trace (an estimate of their size as JSON).
DEFAULT_TRACE_MEMORY = 128 * 1024 * 1024

TIMEOUT_CODE = -32002         # geth: errcodeTimeout, "request timed out"
SERVER_ERROR_CODE = -32000


class WorkAborted(Exception):
    """The work's budget ran out (or the node is stopping); ``code`` is the JSON-RPC error code.

    Deliberately not a ``ValueError`` or a VM error: nothing on the way up
    (the VM's frame handling, the chain's error mapping) may swallow it.
    """

    def __init__(self, message: str, code: int = SERVER_ERROR_CODE):
        super().__init__(message)
        self.message = message
        self.code = code


def evm_timeout_message(seconds: float) -> str:
    """geth's text for an execution stopped by --rpc.evmtimeout."""
    return f"execution aborted (timeout = {seconds:g}s)"


# ---------------------------------------------------------------------- the watchdog

class _Budget:
    __slots__ = ("ident", "deadline", "message", "code", "outer", "active", "fired")

    def __init__(self, ident: int, deadline: float, message: str, code: int, outer: Optional["_Budget"]):
        self.ident = ident
        self.deadline = deadline
        self.message = message
        self.code = code
        self.outer = outer
        self.active = True
        self.fired = False


# thread ident -> (message, code) for threads whose work must stop now; read without the lock
_marked: dict[int, tuple[str, int]] = {}
_innermost: dict[int, _Budget] = {}
_lock = threading.Condition(threading.Lock())
_heap: list = []
_sequence = itertools.count()
_watchdog: Optional[threading.Thread] = None


def _watch() -> None:
    while True:
        with _lock:
            while not _heap:
                _lock.wait()
            deadline, _, budget = _heap[0]
            delay = deadline - time.monotonic()
            if delay > 0:
                _lock.wait(delay)
                continue
            heapq.heappop(_heap)
            if budget.active and not budget.fired:
                budget.fired = True
                outer = budget.outer
                while outer is not None and not outer.fired:
                    outer = outer.outer
                # an outer budget that already fired keeps its (wider) reason
                if outer is None:
                    _marked[budget.ident] = (budget.message, budget.code)


def _start_watchdog() -> None:
    global _watchdog
    if _watchdog is None:
        _watchdog = threading.Thread(target=_watch, name="hyperion-work-watchdog", daemon=True)
        _watchdog.start()


@contextmanager
def budget(seconds: float, message: str, code: int = SERVER_ERROR_CODE) -> Iterator[None]:
    """Bound the calling thread's work to ``seconds``; after that, check points raise
    ``WorkAborted(message, code)``. Budgets nest: an inner one can only end sooner."""
    ident = threading.get_ident()
    deadline = time.monotonic() + seconds
    with _lock:
        _start_watchdog()
        outer = _innermost.get(ident)
        if outer is not None and outer.deadline <= deadline:
            entry = None  # the outer budget ends first: it is the one that counts
        else:
            entry = _Budget(ident, deadline, message, code, outer)
            _innermost[ident] = entry
            heapq.heappush(_heap, (deadline, next(_sequence), entry))
            _lock.notify()
    try:
        check()
        yield
    finally:
        if entry is not None:
            with _lock:
                entry.active = False
                if outer is None:
                    del _innermost[ident]
                    _marked.pop(ident, None)
                else:
                    _innermost[ident] = outer
                    if entry.fired and not _outer_fired(outer):
                        _marked.pop(ident, None)  # the inner limit is over; the outer one still runs


def _outer_fired(budget_: Optional[_Budget]) -> bool:
    while budget_ is not None:
        if budget_.fired:
            return True
        budget_ = budget_.outer
    return False


def check() -> None:
    """Raise ``WorkAborted`` when the calling thread's budget ran out (a check point)."""
    if _marked:
        reason = _marked.get(threading.get_ident())
        if reason is not None:
            raise WorkAborted(*reason)


def abort_all(message: str = "the node is shutting down", code: int = SERVER_ERROR_CODE) -> None:
    """Stop every work that runs under a budget now (the node is stopping)."""
    with _lock:
        for ident, entry in _innermost.items():
            while entry is not None:  # as if every budget of the thread had run out
                entry.fired = True
                entry = entry.outer
            _marked[ident] = (message, code)


# ---------------------------------------------------------------------- deep call stacks

# The EVM nests up to 1024 call frames, each several Python frames deep: far past Python's default
# recursion limit (1000) and a thread's default C stack. Threads that execute transactions or calls
# are started with a bigger stack (virtual memory: only what a deep call touches is ever used).
DEEP_RECURSION_LIMIT = 50_000
DEEP_STACK_BYTES = 64 * 1024 * 1024
_stack_size_lock = threading.Lock()


@contextmanager
def deep_stacks() -> Iterator[None]:
    """Threads started inside get a stack deep enough for 1024 nested EVM calls."""
    if sys.getrecursionlimit() < DEEP_RECURSION_LIMIT:
        sys.setrecursionlimit(DEEP_RECURSION_LIMIT)
    with _stack_size_lock:  # threading.stack_size is process-wide: set it only around the start
        previous = threading.stack_size(DEEP_STACK_BYTES)
        try:
            yield
        finally:
            threading.stack_size(previous)


# ---------------------------------------------------------------------- bounded forks

_CHECKED_OPCODES = (0x56, 0x57, 0xF0, 0xF1, 0xF2, 0xF4, 0xF5, 0xFA)  # JUMP JUMPI CREATE CALL CALLCODE DELEGATECALL CREATE2 STATICCALL
_BOUNDED_SUFFIX = "+bounded"
_bounded: dict[str, object] = {}


def _checked(handler):
    get_ident = threading.get_ident
    marked = _marked

    def bounded(f, pc):
        if marked:
            reason = marked.get(get_ident())
            if reason is not None:
                raise WorkAborted(*reason)
        return handler(f, pc)

    return bounded


def bounded_fork(fork):
    """``fork`` whose loops and calls stop at the caller's deadline (see the module docstring).

    The VM keys its tables by fork name, so the variant gets its own name and
    its own analysed code; the rules are the same fork's.
    """
    if fork.name.endswith(_BOUNDED_SUFFIX):
        return fork
    variant = _bounded.get(fork.name)
    if variant is None or variant.extra.get("bounded_of") is not fork:
        wrappers = {opcode: _checked for opcode in _CHECKED_OPCODES}
        extra = {**fork.extra, "handler_wrappers": wrappers, "bounded_of": fork}
        variant = dataclasses.replace(fork, name=fork.name + _BOUNDED_SUFFIX, extra=extra)
        _bounded[fork.name] = variant
    return variant


# ---------------------------------------------------------------------- traces

def trace_too_large(budget_bytes: int) -> WorkAborted:
    size = f"{budget_bytes / 2**20:g} MiB" if budget_bytes >= 2**20 else f"{budget_bytes / 2**10:g} KiB"
    return WorkAborted(
        f"trace exceeds the memory budget of {size}: trace a smaller "
        f"call, pass a \"limit\", set disableStack, or use the callTracer")


_SLICE = 8192  # steps handled between two chances for other threads to take the interpreter


def _compact(raw: bytes) -> bytes:
    """A right-sized copy: orjson's result keeps its whole working buffer (4 KiB for a 100-byte step)."""
    return memoryview(raw).tobytes()


def _yield_interpreter() -> None:
    time.sleep(0)  # releases the GIL: the event loop and cheap requests get their turn


class SerializedEntries(Sequence):
    """A JSON array kept as one ``bytes`` (with the offset of each element).

    Millions of struct-log dicts would cost ~600 bytes each and give the
    garbage collector millions of containers to walk; millions of small
    bytes still take long to free, in one go. One buffer is compact, free in
    one step, and handed to orjson as is; reading an element decodes it.
    """

    __slots__ = ("_buffer", "_offsets")

    def __init__(self, buffer: bytes, offsets: array):
        self._buffer = buffer  # b"[" + elements joined by b"," + b"]"
        self._offsets = offsets  # where each element starts, then where the last one ends + 1

    @classmethod
    def of(cls, items: list[bytes]) -> "SerializedEntries":
        """Join serialised elements a slice at a time (other threads run between slices)."""
        offsets = array("Q")
        parts = [b"["]
        position = 1
        for start in range(0, len(items), _SLICE):
            chunk = items[start:start + _SLICE]
            for item in chunk:
                offsets.append(position)
                position += len(item) + 1
            parts.append(b",".join(chunk))
            parts.append(b",")
            _yield_interpreter()
        if len(parts) > 1:
            parts.pop()  # the last separator
        offsets.append(position)
        parts.append(b"]")
        return cls(b"".join(parts), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def _element(self, index: int):
        return orjson.loads(self._buffer[self._offsets[index]:self._offsets[index + 1] - 1])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._element(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("struct log index out of range")
        return self._element(index)

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (list, SerializedEntries)) else NotImplemented

    def json_fragment(self) -> orjson.Fragment:
        return orjson.Fragment(self._buffer)


class BoundedStructLogger(StructLogger):
    """geth's struct logger that stops at the caller's deadline and refuses to outgrow a memory budget.

    Each step is serialised as soon as it is complete; ``result`` joins them
    into one buffer (``SerializedEntries``) and ``release`` frees the steps a
    slice at a time, so a big trace never holds the interpreter for long.
    """

    def __init__(self, config: Optional[dict] = None, memory_budget: int = DEFAULT_TRACE_MEMORY):
        super().__init__(config)
        self.memory_budget = memory_budget
        self._size = 0
        self._open: list[Optional[int]] = []  # index in ``logs`` of each entry the base class keeps pending

    def on_step(self, f, pc, opcode, name, gas):
        check()
        count = len(self.logs)
        super().on_step(f, pc, opcode, name, gas)
        self._open.append(count if len(self.logs) > count else None)

    def on_step_end(self, f, gas_cost):
        super().on_step_end(f, gas_cost)
        if self._open:
            self._finish(self._open.pop())

    def on_fault(self, f, exc):
        super().on_fault(f, exc)
        if self._open:
            self._finish(self._open.pop())

    def _finish(self, index: Optional[int]) -> None:
        if index is None:
            return
        raw = _compact(orjson.dumps(self.logs[index]))
        self.logs[index] = raw
        self._size += len(raw) + 40
        if self._size > self.memory_budget:
            raise trace_too_large(self.memory_budget)

    def result(self) -> dict:
        result = super().result()
        result["structLogs"] = SerializedEntries.of(
            [item if type(item) is bytes else _compact(orjson.dumps(item)) for item in self.logs])
        return result

    def release(self) -> None:
        """Drop the kept steps a slice at a time (call when done with the tracer)."""
        logs, self._pending, self._open = self.logs, [], []
        while logs:
            del logs[-_SLICE:]
            _yield_interpreter()


def json_default(value):
    """orjson's ``default`` for the RPC layer: values that carry their JSON already."""
    fragment = getattr(value, "json_fragment", None)
    if fragment is None:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return fragment()


class BoundedCallTracer(CallTracer):
    """geth's callTracer that refuses to grow past a memory budget."""

    def __init__(self, config: Optional[dict] = None, memory_budget: int = DEFAULT_TRACE_MEMORY):
        super().__init__(config)
        self.memory_budget = memory_budget
        self._size = 0

    def on_enter(self, kind, caller, to, value, data, gas, depth):
        check()
        self._size += 600 + 2 * len(data)
        if self._size > self.memory_budget:
            raise trace_too_large(self.memory_budget)
        super().on_enter(kind, caller, to, value, data, gas, depth)

    def on_exit(self, status, gas_left, output, error):
        self._size += 2 * len(output)
        if self._size > self.memory_budget:
            raise trace_too_large(self.memory_budget)
        super().on_exit(status, gas_left, output, error)
