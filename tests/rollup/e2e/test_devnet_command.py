"""``hyperion devnet``: one command starts anvil, the contracts, a sequencer and a follower, prints every URL,
and Ctrl-C stops everything."""

from __future__ import annotations

import re
import signal

import pytest

from hyperion.rollup.devnet import anvil_binary, rpc
from tests.rollup.e2e.devnet_cli import kill, start_devnet

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
    process, text = start_devnet(tmp_path, timeout=120)
    try:
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
        kill(process)
