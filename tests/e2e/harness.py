"""Run a real ``hyperion node`` process and talk to it, for the end-to-end tests."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
CONTRACT_SOURCE = Path(__file__).resolve().parent / "contract.vy"

DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]
DEV_ADDRESSES = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
]

_LISTENING = re.compile(r"Listening on ([\d.]+):(\d+)")


class NodeProcess:
    """A ``python -m hyperion node`` child on a free 127.0.0.1 port."""

    def __init__(self, *extra_args: str, log_path: Optional[Path] = None) -> None:
        self.args = [sys.executable, "-m", "hyperion", "node", "--host", "127.0.0.1", "--port", "0", *extra_args]
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.banner: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> "NodeProcess":
        """Start the node; returns once it printed its port (``timeout``: minutes on a loaded machine)."""
        stderr = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(self.args, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr,
                                        text=True, env=env)
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"node exited early with {self.process.wait()}; banner: {self.banner}")
            self.banner.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match:
                self.port = int(match.group(2))
                return self
        raise RuntimeError("node did not report its port in time")

    def rpc(self, method: str, *params, timeout: float = 30.0):
        """One JSON-RPC call over HTTP; returns the result or raises RpcFailure."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise RpcFailure(answer["error"])
        return answer["result"]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        return code

    def kill_hard(self) -> None:
        """kill -9: no chance to flush or close anything."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


class RpcFailure(Exception):
    def __init__(self, error: dict) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.error = error


def foundry_binary(tool: str) -> Path:
    """The native ``cast``/``anvil`` binary from its npm platform package.

    The packages' ``node_modules/.bin`` wrapper (bin.mjs in 1.7.1) does not pass the
    binary's exit status on, so a failing ``cast call`` would look successful.
    """
    import platform

    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    native = REPO_ROOT / "node_modules" / "@foundry-rs" / f"{tool}-{sys.platform}-{arch}" / "bin" / tool
    return native if native.exists() else NODE_BIN / tool


def compile_contract() -> dict:
    """Compile the test contract with the ``vyper`` package (the test extra)."""
    from vyper.compiler import compile_code
    from vyper.compiler.settings import Settings

    output = compile_code(CONTRACT_SOURCE.read_text(), contract_path=CONTRACT_SOURCE.name,
                          output_formats=["bytecode", "abi"], settings=Settings(evm_version="cancun"))
    return {"abi": output["abi"], "bytecode": output["bytecode"]}


def js_tools_missing() -> Optional[str]:
    """Why the JS-based tests cannot run here, or None. Installs the npm tools if needed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed on this machine"
    result = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-e2e.sh")], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/setup-e2e.sh failed:\n{result.stdout}\n{result.stderr}")
    return None
