"""``hyperion sequencer reward --once`` run against a devnet as its operator runs it: a real process
reading the follower's safe chain and paying on L1 (shared by the rewards e2e tests)."""

from __future__ import annotations

import os
import subprocess
import sys


def reward_once(net, staking: str, rewarder: int, epoch_length: int) -> subprocess.CompletedProcess:
    """Pay every whole safe epoch not paid yet, signed by devnet account ``rewarder``."""
    return subprocess.run(
        [sys.executable, "-m", "hyperion", "sequencer", "reward", "--once", "--rpc-url", net.follower.url,
         "--l1-rpc-url", net.l1_url, "--staking", staking, "--rewarder-key", "env:REWARDER_KEY",
         "--epoch-length", str(epoch_length)], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, REWARDER_KEY=net.key(rewarder).hex()))
