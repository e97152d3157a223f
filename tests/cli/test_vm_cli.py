"""``hyperion vm compile``: the compiled tier's output for a developer, and its errors."""

from __future__ import annotations

import socket
import subprocess
import sys

LOOP = "600a5b80805560019003806002570000"  # i = 10; do { sstore(i, i); i -= 1 } while (i)


def hyperion(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hyperion", *args], capture_output=True, text=True, timeout=120)


def test_compile_summarizes_and_show_prints_readable_python():
    summary = hyperion("vm", "compile", "0x" + LOOP)
    assert summary.returncode == 0, summary.stderr
    assert "code 16 bytes" in summary.stdout and "2 traces" in summary.stdout and "fork Prague" in summary.stdout
    shown = hyperion("vm", "compile", LOOP, "--show")
    assert shown.returncode == 0, shown.stderr
    source = shown.stdout
    assert "def start(f, s):" in source and "def at_2(f, s):" in source
    assert "while True:" in source and "continue" in source  # the loop is a Python loop
    assert "# 0005 SSTORE" in source  # each EVM instruction is named where it was translated
    compile(source, "<shown>", "exec")  # what is shown is the Python that runs
    only = hyperion("vm", "compile", LOOP, "--show", "--entry", "2")
    assert "def at_2" in only.stdout and "def start" not in only.stdout


def test_compile_rejects_bad_input_with_one_line():
    for args, message in (
        (("vm", "compile", "0xzz"), "not hex bytecode"),
        (("vm", "compile", "0x"), "empty code"),
        (("vm", "compile", LOOP, "--fork", "Atlantis"), "Atlantis"),
        (("vm", "compile", LOOP, "--entry", "5"), "not the start or a JUMPDEST: 0x5"),
    ):
        result = hyperion(*args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_compile_of_an_address_needs_a_reachable_node():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there
    result = hyperion("vm", "compile", "0x" + "11" * 20, "--rpc-url", f"http://127.0.0.1:{port}")
    assert result.returncode == 1 and "cannot reach a node" in result.stderr
