"""``hyperion devnet``: one command starts anvil, the contracts, a sequencer and a follower, prints every URL,
and Ctrl-C stops everything."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from hyperion.rollup.devnet import anvil_binary, rpc

pytestmark = pytest.mark.e2e


def _answers(url: str) -> bool:
    try:
        rpc(url, "eth_chainId", timeout=2)
        return True
    except Exception:
        return False


def test_devnet_starts_everything_prints_the_urls_and_stops_on_ctrl_c(tmp_path):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (scripts/setup-e2e.sh)")
    process = subprocess.Popen(
        [sys.executable, "-m", "hyperion", "devnet", "--workdir", str(tmp_path), "--l1-port", "0",
         "--sequencer-port", "0", "--follower-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Running."):
                break
        text = "".join(output)
        assert "Running." in text, text
        urls = dict(re.findall(r"^(L1 \(anvil\) RPC|L2 sequencer RPC|L2 follower RPC):\s+(\S+)", text, re.M))
        assert set(urls) == {"L1 (anvil) RPC", "L2 sequencer RPC", "L2 follower RPC"}, text
        assert re.search(r"^Portal:\s+0x[0-9a-fA-F]{40}", text, re.M)
        assert int(rpc(urls["L2 sequencer RPC"], "eth_chainId"), 16) == 901
        assert int(rpc(urls["L2 follower RPC"], "eth_chainId"), 16) == 901
        assert (tmp_path / "rollup.json").exists()
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        rest = process.stdout.read()
        assert "stopped" in rest
        for url in urls.values():
            assert not _answers(url), f"{url} still answers after Ctrl-C"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
