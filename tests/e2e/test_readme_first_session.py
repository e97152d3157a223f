"""The README's first session, as a newcomer types it: ``make node`` puts ``cast`` on hand, and its cast line works."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.e2e.harness import REPO_ROOT, NodeProcess

pytestmark = pytest.mark.e2e


def _readme_cast_line() -> list[str]:
    line = next(line for line in (REPO_ROOT / "README.md").read_text().splitlines()
                if line.startswith("node_modules/.bin/cast "))
    return line.split("#", 1)[0].split()


def test_make_node_installs_cast_first():
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    dry_run = subprocess.run(["make", "-n", "node"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    steps = dry_run.stdout.splitlines()
    setup, serve = (next(i for i, step in enumerate(steps) if pattern in step)
                    for pattern in ("scripts/setup-e2e.sh", "hyperion node"))
    assert setup < serve                                             # cast is installed before the node runs
    assert "@foundry-rs/cast" in (REPO_ROOT / "package.json").read_text()


def test_the_readmes_cast_command_answers(tmp_path):
    command = _readme_cast_line()
    assert command[:2] == ["node_modules/.bin/cast", "block-number"] and "--rpc-url" in command
    if not (REPO_ROOT / command[0]).exists():
        pytest.skip("cast is not installed: scripts/setup-e2e.sh (make node and make test run it)")
    node = NodeProcess("--in-memory", "--silent", log_path=tmp_path / "node.log").start()
    try:
        node.rpc("eth_sendTransaction", {"from": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
                                         "to": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "value": "0x1"})
        url = command.index("--rpc-url") + 1
        command[url] = re.sub(r":8545\b", f":{node.port}", command[url])   # the README's node, on a free port
        answer = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    finally:
        assert node.stop() == 0
    assert answer.returncode == 0 and answer.stdout.strip() == "1", answer
