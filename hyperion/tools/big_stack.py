"""Run a function on a thread with a large C stack and a high recursion limit.

The EVM nests up to 1024 call frames and each one is several Python frames
deep; the main thread's default 8 MiB stack and Python's default recursion
limit of 1000 are far too small for that.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable, TypeVar

BIG_STACK_BYTES = 512 * 1024 * 1024
DEEP_RECURSION_LIMIT = 100_000

T = TypeVar("T")

_stack_size_lock = threading.Lock()


def run_on_big_stack(function: Callable[..., T], *args, **kwargs) -> T:
    """Call ``function(*args, **kwargs)`` on a fresh big-stack thread and
    return its result (or re-raise its exception) in the calling thread."""
    if sys.getrecursionlimit() < DEEP_RECURSION_LIMIT:
        sys.setrecursionlimit(DEEP_RECURSION_LIMIT)
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, which re-raises it
            outcome["error"] = exc

    # threading.stack_size is process-wide: set it only for this thread's start.
    with _stack_size_lock:
        previous = threading.stack_size(BIG_STACK_BYTES)
        try:
            worker = threading.Thread(target=target, name="hyperion-big-stack", daemon=True)
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
