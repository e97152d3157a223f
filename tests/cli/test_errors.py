"""One error path for every command group that talks to a node.

Each group is driven as a user would, through ``python -m hyperion`` in a
child process: with a malformed URL, against a node that is not there, and
(where the group sends calls) with a call that reverts on a real node. Each
must answer with exactly one line on stderr, exit status 1 or 2, and no
traceback.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.harness import NodeProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
UNKNOWN_MODEL = "0x" + "ab" * 32

# (group, argv after `hyperion`): one command of every group that reaches a node
NODE_COMMANDS = {
    "contracts": ["contracts", "--check"],
    "lazai/dat": ["dat", "info", "1"],
    "lazai/idao": ["idao", "info", "1"],
    "lazai/stake": ["stake", "status"],
    "lazai/gov": ["gov", "params"],
    "ai/model": ["model", "list"],
    "ai/job": ["job", "status", "1"],
    "ai/watch": ["ai", "watch", "--dev-account", "2"],
    "ai/work": ["ai", "work", "--dev-account", "1"],
}

# calls the chain refuses: (group, argv); the signer is a funded dev account
REVERTING_CALLS = {
    "lazai/dat": ["dat", "claim", "999", "--dev-account", "1"],
    "lazai/idao": ["idao", "execute", "999", "--dev-account", "1"],
    "lazai/stake": ["stake", "withdraw", "--dev-account", "1"],
    "lazai/gov": ["gov", "execute", "999", "--dev-account", "1"],
    "ai/model": ["model", "infer", UNKNOWN_MODEL, "--input-hex", "00", "--dev-account", "1"],
    "ai/job": ["job", "finalize", "999", "--dev-account", "1"],
}


def hyperion(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HYPERION_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "hyperion", *argv], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=environment, timeout=120)


def assert_one_line_error(result: subprocess.CompletedProcess, *expected: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode in (1, 2), (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    process = NodeProcess("--in-memory", "--silent", "--log-level", "warning",
                          log_path=tmp_path_factory.mktemp("node") / "node.log").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.mark.parametrize("group", sorted(NODE_COMMANDS))
@pytest.mark.parametrize("url", ["notaurl", "http://", "http://127.0.0.1:99999", "ftp://127.0.0.1:8545"])
def test_malformed_url_is_one_line_usage_error(group, url):
    result = hyperion(*NODE_COMMANDS[group], "--rpc-url", url)
    assert_one_line_error(result, "malformed RPC URL")
    assert result.returncode == 2


@pytest.mark.parametrize("group", sorted(NODE_COMMANDS))
def test_unreachable_node_is_one_line_error(group):
    url = f"http://127.0.0.1:{closed_port()}"
    result = hyperion(*NODE_COMMANDS[group], "--rpc", url)
    assert_one_line_error(result, "cannot reach a node at", url)
    assert result.returncode == 1


def test_rpc_url_comes_from_the_environment():
    result = hyperion("stake", "status", env={"HYPERION_RPC_URL": "notaurl"})
    assert_one_line_error(result, "malformed RPC URL 'notaurl'")
    url = f"http://127.0.0.1:{closed_port()}"
    result = hyperion("model", "list", env={"HYPERION_RPC_URL": url})
    assert_one_line_error(result, "cannot reach a node at", url)


def test_model_infer_with_a_bad_url_is_one_line():
    """The case the issue names: this used to end in a traceback."""
    result = hyperion("model", "infer", UNKNOWN_MODEL, "--input-hex", "00", "--rpc", "notaurl")
    assert_one_line_error(result, "malformed RPC URL")


@pytest.mark.e2e
@pytest.mark.parametrize("group", sorted(REVERTING_CALLS))
def test_reverting_call_is_one_line_error(node, group):
    result = hyperion(*REVERTING_CALLS[group], "--rpc-url", node.url)
    line = assert_one_line_error(result)
    assert result.returncode == 1
    assert "revert" in line or "fail" in line, line


@pytest.mark.e2e
def test_contracts_check_against_a_node(node):
    result = hyperion("contracts", "--check", "--rpc-url", node.url)
    assert result.returncode == 0, result.stderr
    assert "DAT" in result.stdout and "ModelRegistry" in result.stdout
    assert all(line.endswith(" ok") for line in result.stdout.splitlines()), result.stdout


def test_help_lists_every_command_group():
    from hyperion.cli import build_parser

    result = hyperion("--help")
    assert result.returncode == 0
    registered = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    commands = sorted(registered[0].choices)  # every command of every module in COMMAND_GROUPS
    assert {"node", "devnet", "statetest", "blocktest", "bench", "contracts", "dat", "idao", "gov", "stake",
            "model", "job", "ai"} <= set(commands)
    for command in commands:
        assert f"\n    {command} " in result.stdout or f"\n    {command}\n" in result.stdout, command
