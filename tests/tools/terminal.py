"""Run a command on a pseudo-terminal, as a user at a shell would, and collect what it draws."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class TerminalRun:
    returncode: int
    raw: bytes                      # every byte written to the terminal, escape sequences included

    @property
    def text(self) -> str:
        """What a reader sees, roughly: escape sequences removed, CR LF as LF."""
        return ANSI.sub(b"", self.raw).replace(b"\r\n", b"\n").decode("utf-8", "replace")


def run_on_terminal(args: list[str], *, timeout: float = 120, interrupt_after: Optional[bytes] = None,
                    env: Optional[dict] = None, cwd: Path = REPO) -> TerminalRun:
    """``python -m hyperion ARGS`` with stdin, stdout and stderr on one pseudo-terminal.

    ``interrupt_after``: send SIGINT (Ctrl-C) once these bytes have appeared.
    """
    master, slave = pty.openpty()
    environment = dict(os.environ, TERM="xterm-256color", COLUMNS="120", LINES="40", **(env or {}))
    process = subprocess.Popen([sys.executable, "-m", "hyperion", *args], stdin=slave, stdout=slave, stderr=slave,
                               env=environment, cwd=cwd, start_new_session=True)
    os.close(slave)
    raw = b""
    interrupted = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:          # the other side closed: the process has exited
                    break
                if not chunk:
                    break
                raw += chunk
            elif process.poll() is not None:
                break
            if interrupt_after is not None and not interrupted and interrupt_after in ANSI.sub(b"", raw):
                process.send_signal(signal.SIGINT)
                interrupted = True
        else:
            raise AssertionError(f"{args} did not finish within {timeout:.0f}s; it drew:\n{raw[-3000:]!r}")
        return TerminalRun(process.wait(timeout=60), raw)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
