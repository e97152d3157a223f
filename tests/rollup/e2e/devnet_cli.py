"""``hyperion devnet`` started as a user starts it (a real process, every port 0), read up to its
"Running." line: shared by the devnet-command tests of the rollup and of the sequencer set."""

from __future__ import annotations

import subprocess
import sys
import time


def start_devnet(workdir, *args: str, timeout: float) -> tuple[subprocess.Popen, str]:
    """The devnet process and what it printed until "Running." (or until it ended, or ``timeout``
    seconds passed: the caller asserts on the text). The caller stops the process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hyperion", "devnet", *args, "--workdir", str(workdir), "--l1-port", "0",
         "--sequencer-port", "0", "--follower-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Running."):
                break
    except BaseException:
        kill(process)
        raise
    return process, "".join(output)


def kill(process: subprocess.Popen) -> None:
    """End a devnet that is still running (after a failed assertion)."""
    if process.poll() is None:
        process.kill()
        process.wait()
