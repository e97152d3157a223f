"""Start a real ``hyperion node`` process for the LazAI end-to-end tests.

If the node's own dev genesis does not yet contain the LazAI predeploys,
``start_lazai_node`` restarts it with ``--genesis FILE`` built by
``hyperion.lazai.genesis.lazai_genesis_json`` and reports ``wired=False``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

from hyperion.predeploys.genesis import genesis_json
from hyperion.predeploys.plan import DAT_ADDRESS, LAZAI_CHAIN_ID

REPO_ROOT = Path(__file__).resolve().parents[2]
def _dev_keys(count: int = 6) -> list[str]:
    """The node's funded dev accounts (its default mnemonic), as 0x private keys."""
    from hyperion.chain.genesis import ChainConfig

    return ["0x" + key.hex() for _address, key in ChainConfig().dev_accounts()[:count]]


DEV_KEYS = _dev_keys(10)
DEV_ADMIN = bytes.fromhex("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
_LISTENING = re.compile(r"Listening on ([\d.]+):(\d+)")


class NodeStartError(RuntimeError):
    pass


class LazaiNode:
    def __init__(self, args: list[str], log_path: Path) -> None:
        self.args = [sys.executable, "-m", "hyperion", "node", "--host", "127.0.0.1", *args]
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.wired = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> "LazaiNode":
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(self.args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
                                        env=dict(os.environ, PYTHONUNBUFFERED="1"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise NodeStartError(f"node exited with {self.process.wait()}; see {self.log_path}")
            match = _LISTENING.search(line)
            if match:
                self.port = int(match.group(2))
                return self
        raise NodeStartError("node did not report its port in time")

    def rpc(self, method: str, *params):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)  # a clean exit took over 20 s on a starved machine
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def port_is_free(port: int) -> bool:
    """Whether a node could listen on 127.0.0.1:``port`` now (it binds with SO_REUSEADDR, as aiohttp does, so
    the TIME_WAIT connections a node that just stopped left behind do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_lazai_node(tmp_dir: Path, port: int = 0) -> LazaiNode:
    """A node with chain id 133718 and the predeploys (from its own genesis, else from a genesis file)."""
    node = LazaiNode(["--port", str(port), "--in-memory", "--chain-id", str(LAZAI_CHAIN_ID), "--silent"],
                     tmp_dir / "node.log").start()
    if node.rpc("eth_getCode", "0x" + DAT_ADDRESS.hex(), "latest") not in ("0x", "0x0"):
        return node
    node.stop()
    genesis_path = tmp_dir / "lazai-genesis.json"
    genesis_path.write_text(json.dumps(genesis_json(LAZAI_CHAIN_ID, DEV_ADMIN)))
    node = LazaiNode(["--port", str(port), "--in-memory", "--genesis", str(genesis_path), "--silent"],
                     tmp_dir / "node.log").start()
    node.wired = False
    return node
