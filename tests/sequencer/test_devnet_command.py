"""``hyperion devnet --sequencers 3``: one command starts anvil, the contracts, SequencerStaking with three unequal
stakes, three rotating sequencers and a follower, prints every URL, and Ctrl-C stops everything."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from hyperion.rollup.devnet import anvil_binary, rpc
from tests.rollup.e2e.devnet_cli import kill, start_devnet

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("args, message", [
    (["--sequencers", "0"], "--sequencers must be at least 1"),
    (["--sequencers", "9"], "--sequencers must be between 1 and 5"),
    (["--sequencers", "3", "--takeover-seconds", "0"], "takeover_seconds must be a positive integer"),
    (["--sequencers", "3", "--epoch-length", "-2"], "epoch_length must be a positive integer"),
])
def test_bad_sequencer_set_options_are_refused_before_anything_starts(tmp_path, args, message):
    done = subprocess.run([sys.executable, "-m", "hyperion", "devnet", "--workdir", str(tmp_path), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr, done.stdout + done.stderr
    assert not (tmp_path / "anvil.log").exists()


@pytest.mark.slow
def test_devnet_with_three_sequencers_prints_every_url_and_stops_on_ctrl_c(tmp_path):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (scripts/setup-e2e.sh)")
    process, text = start_devnet(tmp_path, "--sequencers", "3", timeout=300)
    try:
        assert "Running." in text, text
        sequencers = re.findall(r"^L2 sequencer (\d) RPC:\s+(\S+) .* staker (0x[0-9a-f]{40}) .* stake (\d+) ETH", text,
                                re.M)
        assert [(i, stake) for i, _url, _staker, stake in sequencers] == [("0", "50"), ("1", "30"), ("2", "20")], text
        follower = re.search(r"^L2 follower RPC:\s+(\S+)", text, re.M).group(1)
        assert re.search(r"^SequencerStaking:\s+0x[0-9a-fA-F]{40}", text, re.M)
        for _i, url, _staker, _stake in sequencers:
            assert int(rpc(url, "eth_chainId"), 16) == 901
        # the chain moves and its blocks come from the stakers
        builders = set()
        deadline = time.monotonic() + 120
        while len(builders) < 2 and time.monotonic() < deadline:
            block = rpc(follower, "eth_getBlockByNumber", "safe", False)
            if block is not None:
                builders.add(block["miner"])
            time.sleep(1)
        stakers = {staker for _i, _url, staker, _stake in sequencers}
        assert builders and builders <= stakers
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        assert "stopped" in process.stdout.read()
        for _i, url, _staker, _stake in sequencers:
            with pytest.raises(Exception):
                rpc(url, "eth_chainId", timeout=2)
    finally:
        kill(process)
