"""Printing state-test (and block-test) results: one line (or JSON object) per
case, a progress bar on interactive terminals, and the closing tally."""

from __future__ import annotations

import json
from typing import Optional, TextIO

from hyperion.tools.progress import Progress
from hyperion.tools.statetest import CaseResult


def format_text(result: CaseResult, verbose: bool = False) -> str:
    """``PASS|FAIL|SKIP  file::name [fork] d=.. g=.. v=..`` plus, for a
    failure, indented lines saying what differed."""
    status = "SKIP" if result.skipped else "PASS" if result.passed else "FAIL"
    line = f"{status}  {result.file}"
    if result.name is not None:
        line += f"::{result.name}"
    if result.fork is not None:
        line += f" [{result.fork}]"
    if result.index is not None:
        line += f" d={result.index.data} g={result.index.gas} v={result.index.value}"
    if result.skipped:
        return f"{line}  ({result.reason})"
    if result.passed:
        return line
    details = [f"error: {result.error}"] if result.error else []
    if result.actual_root is not None:
        if result.expected_exception is not None or result.actual_exception is not None:
            details.append(f"exception: expected {result.expected_exception or 'none'}, "
                           f"got {result.actual_exception or 'none'}")
        if result.actual_root != result.expected_root:
            details.append(f"root: expected {result.expected_root}, got {result.actual_root}")
        if result.actual_logs != result.expected_logs:
            details.append(f"logs: expected {result.expected_logs}, got {result.actual_logs}")
    details.extend(f"state: {diff}" for diff in result.state_diff)
    if verbose and result.traceback:
        details.extend(result.traceback.rstrip().splitlines())
    return "\n".join([line] + ["      " + detail for detail in details])


def format_json(result: CaseResult, verbose: bool = False) -> str:
    """One JSON object on one line; ``skipped``/``reason`` for skipped cases."""
    record = {
        "name": result.name,
        "file": result.file,
        "fork": result.fork,
        "index": None if result.index is None else result.index._asdict(),
        "pass": result.passed,
        "expected_root": result.expected_root,
        "actual_root": result.actual_root,
        "expected_logs": result.expected_logs,
        "actual_logs": result.actual_logs,
        "expected_exception": result.expected_exception,
        "actual_exception": result.actual_exception,
        "error": result.error,
    }
    if result.skipped:
        record["skipped"] = True
        record["reason"] = result.reason
    if result.state_diff:
        record["state_diff"] = result.state_diff
    if verbose and result.traceback:
        record["traceback"] = result.traceback
    return json.dumps(record)


def summary_line(passed: int, failed: int, skipped: int) -> str:
    line = f"{passed} passed, {failed} failed"
    return f"{line}, {skipped} skipped" if skipped else line


class Reporter:
    """Streams results as they arrive and keeps the tally.

    In JSON mode stdout carries only JSON lines; the closing tally then goes
    to stderr so the stream stays machine-readable. On an interactive
    stderr it shows a bar of the files done (``title`` names it), from the
    first file (or from ``with``) to :meth:`finish`; off a terminal it
    prints nothing more.
    """

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool = False,
                 verbose: bool = False, total_files: Optional[int] = None, title: str = "fixtures") -> None:
        self.out = out
        self.err = err
        self.as_json = as_json
        self.verbose = verbose
        self.total_files = total_files
        self.bar = Progress(title, total=total_files, unit="files", stream=err)
        self.passed = self.failed = self.skipped = 0
        self._drawing = False

    def __enter__(self) -> "Reporter":
        self._draw()
        return self

    def _draw(self) -> None:
        if not self._drawing:
            self._drawing = True
            self.bar.__enter__()

    def __exit__(self, *exc_info) -> None:
        self.bar.__exit__(*exc_info)

    def report_file(self, results: list[CaseResult]) -> None:
        self._draw()
        formatter = format_json if self.as_json else format_text
        lines = []
        for result in results:
            if result.skipped:
                self.skipped += 1
            elif result.passed:
                self.passed += 1
            else:
                self.failed += 1
            lines.append(formatter(result, self.verbose))
        self.bar.advance(description=f"{self.bar.description}: {self.passed} passed, {self.failed} failed")
        if lines:
            self.bar.print("\n".join(lines), self.out)

    def finish(self) -> None:
        self.bar.__exit__(None, None, None)
        summary = summary_line(self.passed, self.failed, self.skipped)
        target = self.err if self.as_json else self.out
        target.write(summary + "\n")
        target.flush()
