"""Progress bars for long command-line work (statetest, blocktest, benches, model publishing, devnet start-up).

Drawn with rich, on stderr, and only when stderr is an interactive terminal:
in a pipe, a file, CI or a test every method is a no-op, so the command's
plain output is exactly what it is without a bar. While a bar is shown,
lines printed to the terminal (``print``, logging) appear above it; code that
holds a stream from before the bar started writes through :meth:`Progress.print`.

Library code (the SDK, the rollup) does not draw: it takes a callback
``on_progress(done, total, what)`` and the command passes :meth:`Progress.report`.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import Callable, Optional, TextIO

# what library code calls back with: (steps done, steps in all, what it is doing now)
ProgressCallback = Callable[[int, int, str], None]


def is_terminal(stream: Optional[TextIO]) -> bool:
    """Is ``stream`` an interactive terminal that can redraw a line (not ``TERM=dumb``)?"""
    if stream is None or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """One bar: ``with Progress("statetest", total=n, unit="files") as bar: ... bar.advance()``.

    ``total=None`` shows a spinner without a count. ``animate=False`` draws
    only when the count changes (no refresh thread): benchmarks use it so the
    bar takes no CPU while they measure.
    """

    def __init__(self, description: str, total: Optional[float] = None, *, unit: str = "",
                 animate: bool = True, stream: Optional[TextIO] = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = is_terminal(self.stream)
        self.description = description
        self.total = total
        self.unit = unit
        self.animate = animate
        self._progress = None
        self._task = None

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn)

            columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
            if self.unit:
                columns.append(TextColumn(self.unit))
            columns.append(TimeElapsedColumn())
            self._progress = RichProgress(
                *columns, console=Console(file=self.stream), transient=True, auto_refresh=self.animate,
                refresh_per_second=4, redirect_stdout=is_terminal(sys.stdout), redirect_stderr=True)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total)
            atexit.register(self.__exit__)      # a command that dies mid-bar still gets its cursor back
        return self

    def __exit__(self, *exc_info) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            atexit.unregister(self.__exit__)

    def advance(self, steps: float = 1, description: Optional[str] = None) -> None:
        """Count ``steps`` more done (and say what comes next)."""
        if self._progress is not None:
            self._progress.update(self._task, advance=steps, description=description, refresh=True)

    def update(self, *, description: Optional[str] = None, completed: Optional[float] = None,
               total: Optional[float] = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=description, completed=completed, total=total,
                                  refresh=True)

    def report(self, done: int, total: int, what: str) -> None:
        """The :data:`ProgressCallback` shape: ``done`` of ``total`` steps, now ``what``."""
        self.update(description=f"{self.description}: {what}" if what else self.description,
                    completed=done, total=total)

    def print(self, text: str, file: TextIO) -> None:
        """Write one line to ``file``, above the bar when both are on the terminal."""
        if self._progress is not None and is_terminal(file):
            self._progress.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        else:
            file.write(text + "\n")
            file.flush()
