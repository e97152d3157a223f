"""Progress bars of long commands: drawn on a terminal (a real pseudo-terminal here), absent everywhere else.

Off a terminal (a pipe, a file, CI) a command's output must be exactly what
it was: the same lines, no escape sequence, no carriage return.
"""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys

import pytest

from hyperion.tools.progress import Progress, is_terminal
from tests.tools.terminal import REPO, run_on_terminal

ST_EXAMPLE = "ethereum-tests/GeneralStateTests/stExample"


def read_all(fd: int) -> bytes:
    """Everything written to the terminal so far: a pty hands it over in pieces, so one read may stop short."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_bar_is_drawn_on_a_terminal_and_print_goes_above_it():
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as terminal:
            assert is_terminal(terminal)
            with Progress("publishing", total=3, unit="chunks", stream=terminal) as bar:
                assert bar.enabled
                bar.report(1, 3, "chunk 2")
                bar.print("a line for the reader", terminal)
                bar.advance()
            drawn = read_all(master)
    finally:
        os.close(master)
        os.close(slave)
    assert b"publishing: chunk 2" in drawn and b"chunks" in drawn and b"\x1b[" in drawn
    assert b"a line for the reader" in drawn


def test_off_a_terminal_nothing_is_drawn():
    stream = io.StringIO()
    assert not is_terminal(stream)
    with Progress("statetest", total=2, stream=stream) as bar:
        assert not bar.enabled
        bar.advance(description="x")
        bar.report(1, 2, "y")
        bar.print("PASS  a", stream)
    assert stream.getvalue() == "PASS  a\n"


def test_a_dumb_terminal_gets_no_bar(monkeypatch):
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as terminal:
            monkeypatch.setenv("TERM", "dumb")
            assert not is_terminal(terminal)
    finally:
        os.close(master)
        os.close(slave)


def test_a_reporter_draws_from_its_first_file_to_finish_without_with():
    """``hyperion blocktest`` drives a Reporter without ``with``: it still gets a bar and the cursor back."""
    from hyperion.tools.statetest import CaseResult
    from hyperion.tools.statetest_report import Reporter

    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as terminal:
            reporter = Reporter(terminal, terminal, total_files=2, title="blocktest")
            for name in ("a", "b"):
                reporter.report_file([CaseResult(file=f"{name}.json", name=name, fork="Cancun", index=None,
                                                 passed=True)])
            reporter.finish()
            assert reporter.bar._progress is None                   # stopped by finish
            drawn = _drain(master).decode("utf-8", "replace")
    finally:
        os.close(master)
        os.close(slave)
    assert "blocktest: 1 passed, 0 failed" in drawn and "files" in drawn
    assert "\x1b[?25l" in drawn and drawn.rindex("\x1b[?25h") > drawn.rindex("\x1b[?25l")   # cursor hidden, then shown
    assert drawn.rstrip().endswith("2 passed, 0 failed")


def _drain(master: int) -> bytes:
    """Everything written to the terminal so far."""
    drawn = b""
    while select.select([master], [], [], 0.2)[0]:
        drawn += os.read(master, 65536)
    return drawn


def test_statetest_draws_a_bar_on_a_terminal(fixtures_dir):
    run = run_on_terminal(["statetest", str(fixtures_dir / ST_EXAMPLE)])
    assert run.returncode == 0, run.text
    assert "statetest" in run.text and "/10 files" in run.text          # the bar: files done of 10
    assert "\x1b[?25l" in run.raw.decode("utf-8", "replace")             # rich hid the cursor while drawing
    assert "PASS  " in run.text and run.text.rstrip().endswith("34 passed, 0 failed")


def test_statetest_output_off_a_terminal_is_plain_lines(fixtures_dir):
    done = subprocess.run([sys.executable, "-m", "hyperion", "statetest", str(fixtures_dir / ST_EXAMPLE)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 35 and all(line.startswith("PASS  ") for line in lines[:-1])
    assert lines[-1] == "34 passed, 0 failed"
    assert "\x1b" not in done.stdout and "\r" not in done.stdout


BC_EXAMPLE = "ethereum-tests/BlockchainTests/ValidBlocks/bcExample"


def test_blocktest_draws_a_bar_on_a_terminal(fixtures_dir):
    run = run_on_terminal(["blocktest", str(fixtures_dir / BC_EXAMPLE)])
    assert run.returncode == 0, run.text
    assert "blocktest" in run.text and "/4 files" in run.text           # the bar: files done of 4
    assert "PASS  " in run.text and run.text.rstrip().endswith("4 passed, 0 failed")


def test_blocktest_output_off_a_terminal_is_plain_lines(fixtures_dir):
    done = subprocess.run([sys.executable, "-m", "hyperion", "blocktest", str(fixtures_dir / BC_EXAMPLE)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "4 passed, 0 failed"
    for stream in (done.stdout, done.stderr):                          # stderr: only the executor's line
        assert "\x1b" not in stream and "\r" not in stream


def test_bench_vm_draws_a_bar_on_a_terminal(fixtures_dir):
    run = run_on_terminal(["bench", "vm", "--quick", "--engines", "interpreter", "--filter", "swap_math/"])
    assert run.returncode == 0, run.text
    assert "bench vm" in run.text and "workloads" in run.text and "/3" in run.text
    assert "geometric mean" in run.text                                # the table, after the bar


def test_bench_vm_output_off_a_terminal_has_no_bar(fixtures_dir):
    done = subprocess.run([sys.executable, "-m", "hyperion", "bench", "vm", "--quick", "--engines", "interpreter",
                           "--filter", "swap_math/"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"  done swap_math/{name}" for name in
                                        ("spent", "received", "insufficient_liquidity")]
    for stream in (done.stdout, done.stderr):
        assert "\x1b" not in stream and "\r" not in stream


@pytest.mark.parametrize("bench, args, drawn", [
    ("ai", ["--iterations", "5", "--tx-iterations", "2", "--no-disputes"], ["bench ai: digits inference speed", "/2"]),
    ("db", ["--quick", "--no-sync"], ["bench db: 10,000 accounts", "/2 sizes"]),
])
def test_other_benches_draw_a_bar_on_a_terminal(tmp_path, bench, args, drawn):
    run = run_on_terminal(["bench", bench, *args], timeout=300, cwd=REPO)
    assert run.returncode == 0, run.text
    for text in drawn:
        assert text in run.text, run.text


@pytest.mark.e2e
def test_devnet_start_up_draws_its_steps_on_a_terminal(tmp_path):
    from hyperion.rollup.devnet import anvil_binary

    if anvil_binary() is None:
        pytest.skip("anvil is not installed (scripts/setup-e2e.sh)")
    run = run_on_terminal(["devnet", "--workdir", str(tmp_path), "--l1-port", "0", "--sequencer-port", "0",
                           "--follower-port", "0", "--no-follower"], interrupt_after=b"Running.", timeout=180)
    assert run.returncode == 0, run.text
    for step in ("devnet: starting anvil (L1)", "devnet: deploying the L1 contracts", "devnet: starting the sequencer"):
        assert step in run.text, run.text
    assert "/3" in run.text                                              # steps done of 3 (no follower)
    assert "L2 sequencer RPC:" in run.text and run.text.rstrip().endswith("stopped")
