"""``hyperion bench rpc``: end-to-end transaction throughput over JSON-RPC.

For each target node the bench deploys the ERC-20 bench token, mints to the
senders, then pre-signs ``--txs`` ETH transfers and ``--txs`` ERC-20
transfers (EIP-1559, spread over the dev accounts of the standard test
mnemonic), sends each set as ``eth_sendRawTransaction`` batches of
``--batch`` requests over one keep-alive HTTP connection, and waits until
every transaction has a receipt. The reported rate is transactions per
second from the first send to the last receipt; signing is not timed.

Targets: a Hyperion node started by the bench (``--in-memory``, a free
port, the default; ``--data-dir DIR`` starts it on MetisDB in DIR instead)
or one already running (``--url``), and with
``--against URL`` a second node, e.g. anvil, that takes the same load in
the same run; ``--against anvil`` starts the anvil binary from the npm
package ``@foundry-rs/anvil`` (``npm ci`` at the repo root installs it).
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence
from urllib.parse import urlparse

import orjson

from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import FeeMarketTransaction

REPO_ROOT = Path(__file__).resolve().parents[2]
ERC20_ARTIFACT = Path(__file__).resolve().parent / "workloads" / "erc20.json"
DEFAULT_TXS = 2000
DEFAULT_BATCH = 100
DEFAULT_SENDERS = 8
TRANSFER_GAS = 21_000
TOKEN_TRANSFER_GAS = 80_000
DEPLOY_GAS = 3_000_000
MINT_GAS = 120_000


class BenchError(RuntimeError):
    """The target node misbehaved (an RPC error, a failed transaction, a timeout)."""


class RpcClient:
    """Minimal JSON-RPC client on one persistent HTTP connection (no client-side overhead to speak of)."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise BenchError(f"expected an http:// URL, got {url!r}")
        self.url = url
        self._connection = http.client.HTTPConnection(parsed.hostname, parsed.port or 80, timeout=timeout)
        self._path = parsed.path or "/"
        self._next_id = 0

    def _post(self, payload: Any) -> Any:
        body = orjson.dumps(payload)
        try:
            self._connection.request("POST", self._path, body, {"Content-Type": "application/json"})
            response = self._connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise BenchError(f"{self.url}: {exc}") from None
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            raise BenchError(f"{self.url}: HTTP {response.status}: {data[:200]!r}") from None

    def call(self, method: str, *params: Any) -> Any:
        self._next_id += 1
        answer = self._post({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": list(params)})
        if "error" in answer:
            raise BenchError(f"{method}: {answer['error']}")
        return answer["result"]

    def batch(self, method: str, param_lists: list[list]) -> list:
        """One batch request; returns the results in order (errors raise)."""
        start = self._next_id
        requests = [{"jsonrpc": "2.0", "id": start + i, "method": method, "params": params}
                    for i, params in enumerate(param_lists)]
        self._next_id += len(requests)
        answers = self._post(requests)
        if not isinstance(answers, list):
            raise BenchError(f"{method} batch: {answers.get('error', answers)}")
        by_id = {answer.get("id"): answer for answer in answers}
        results = []
        for request in requests:
            answer = by_id.get(request["id"])
            if answer is None or "error" in answer:
                raise BenchError(f"{method}: {answer and answer.get('error')}")
            results.append(answer["result"])
        return results

    def close(self) -> None:
        self._connection.close()


# -- transactions -------------------------------------------------------------------------


def _abi_call(signature: str, *words: int | bytes) -> bytes:
    encoded = b"".join(w.rjust(32, b"\0") if isinstance(w, bytes) else w.to_bytes(32, "big") for w in words)
    return keccak256(signature.encode())[:4] + encoded


@dataclass
class Account:
    address: bytes
    key: bytes
    nonce: int = 0


class Signer:
    """Signs EIP-1559 transactions for one chain with locally tracked nonces."""

    def __init__(self, chain_id: int, max_fee: int, tip: int) -> None:
        self.chain_id, self.max_fee, self.tip = chain_id, max_fee, tip

    def sign(self, account: Account, to: Optional[bytes], value: int, data: bytes, gas: int) -> bytes:
        tx = FeeMarketTransaction(self.chain_id, account.nonce, self.tip, self.max_fee, gas, to, value, data, ())
        account.nonce += 1
        return tx.signed(account.key).encode()


def _hex(raw: bytes) -> str:
    return "0x" + raw.hex()


def _wait_for_receipts(client: RpcClient, tx_hashes: list[str], timeout: float, batch: int) -> list[dict]:
    """Poll until every hash has a receipt (checked newest-first, in batches)."""
    deadline = time.monotonic() + timeout
    receipts: dict[str, dict] = {}
    missing = list(tx_hashes)
    while missing:
        still_missing = []
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            for tx_hash, receipt in zip(chunk, client.batch("eth_getTransactionReceipt", [[h] for h in chunk])):
                if receipt is None:
                    still_missing.append(tx_hash)
                else:
                    receipts[tx_hash] = receipt
        missing = still_missing
        if missing:
            if time.monotonic() > deadline:
                raise BenchError(f"{len(missing)} transactions not included after {timeout:.0f}s")
            time.sleep(0.05)
    return [receipts[h] for h in tx_hashes]


def _send_all(client: RpcClient, raws: list[bytes], batch: int) -> list[str]:
    hashes: list[str] = []
    for start in range(0, len(raws), batch):
        hashes.extend(client.batch("eth_sendRawTransaction", [[_hex(raw)] for raw in raws[start:start + batch]]))
    return hashes


@dataclass
class PhaseResult:
    name: str
    transactions: int
    seconds: float          # first send to last receipt
    send_seconds: float     # until the node had accepted every transaction

    @property
    def rate(self) -> float:
        return self.transactions / self.seconds if self.seconds > 0 else float("inf")


def _timed_phase(client: RpcClient, name: str, raws: list[bytes], batch: int, timeout: float) -> PhaseResult:
    started = time.perf_counter()
    hashes = _send_all(client, raws, batch)
    sent = time.perf_counter() - started
    receipts = _wait_for_receipts(client, hashes, timeout, batch)
    elapsed = time.perf_counter() - started
    failed = [r["transactionHash"] for r in receipts if int(r["status"], 16) != 1]
    if failed:
        raise BenchError(f"{name}: {len(failed)} transactions failed, e.g. {failed[0]}")
    return PhaseResult(name, len(raws), elapsed, sent)


def run_load(url: str, txs: int, batch: int, senders: int, timeout: float, log=print) -> list[PhaseResult]:
    """Deploy, fund, then time ETH and ERC-20 transfer phases against one node."""
    from hyperion.chain.hdwallet import dev_accounts

    client = RpcClient(url)
    try:
        chain_id = int(client.call("eth_chainId"), 16)
        base_fee = int(client.call("eth_getBlockByNumber", "latest", False).get("baseFeePerGas") or "0x0", 16)
        tip = 10**9
        signer = Signer(chain_id, max(2 * base_fee, 10**9) + tip + 10**10, tip)
        keys = dev_accounts(count=senders + 1)
        accounts = [Account(address, key) for address, key in keys]
        for account in accounts:
            account.nonce = int(client.call("eth_getTransactionCount", _hex(account.address), "pending"), 16)
        minter, holders = accounts[0], accounts[1:]

        artifact = json.loads(ERC20_ARTIFACT.read_text())
        deploy = signer.sign(minter, None, 0, bytes.fromhex(artifact["bytecode"].removeprefix("0x")), DEPLOY_GAS)
        receipt = _wait_for_receipts(client, _send_all(client, [deploy], 1), timeout, 1)[0]
        token = receipt.get("contractAddress")
        if not token or int(receipt["status"], 16) != 1:
            raise BenchError(f"token deployment failed: {receipt}")
        token_address = bytes.fromhex(token[2:])
        mints = [signer.sign(minter, token_address, 0, _abi_call("mint(address,uint256)", h.address, 10**30),
                             MINT_GAS) for h in holders]
        _wait_for_receipts(client, _send_all(client, mints, batch), timeout, batch)

        sign_started = time.perf_counter()
        recipients = [keccak256(b"bench-recipient-%d" % i)[:20] for i in range(64)]
        eth_raws = [signer.sign(holders[i % len(holders)], recipients[i % len(recipients)], 1 + i, b"",
                                TRANSFER_GAS) for i in range(txs)]
        token_raws = [signer.sign(holders[i % len(holders)], token_address, 0,
                                  _abi_call("transfer(address,uint256)", recipients[i % len(recipients)], 1 + i),
                                  TOKEN_TRANSFER_GAS) for i in range(txs)]
        log(f"  {url}: chain {chain_id}, signed {2 * txs} transactions in "
            f"{time.perf_counter() - sign_started:.2f}s (not timed)")
        results = [_timed_phase(client, "ETH transfers", eth_raws, batch, timeout),
                   _timed_phase(client, "ERC-20 transfers", token_raws, batch, timeout)]
        for result in results:
            log(f"  {url}: {result.name}: {result.transactions} tx in {result.seconds:.2f}s "
                f"(accepted after {result.send_seconds:.2f}s) = {result.rate:,.0f} tx/s")
        return results
    finally:
        client.close()


# -- node processes -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"node process exited with {process.returncode}")
        try:
            client = RpcClient(url, timeout=2)
            client.call("eth_chainId")
            client.close()
            return
        except BenchError:
            time.sleep(0.2)
    raise BenchError(f"{url} did not start serving within {timeout:.0f}s")


def _block_time_args(block_time: Optional[float]) -> list[str]:
    return [] if block_time is None else ["--block-time", f"{block_time:g}"]


def start_hyperion(block_time: Optional[float] = None,
                   data_dir: Optional[str] = None) -> tuple[str, subprocess.Popen]:
    """Start a node: in memory, or persisting to ``data_dir`` (MetisDB) when given."""
    port = _free_port()
    storage = ["--in-memory"] if data_dir is None else ["--data-dir", str(data_dir)]
    process = subprocess.Popen([sys.executable, "-m", "hyperion", "node", *storage, "--silent",
                                "--port", str(port), "--log-level", "warning", *_block_time_args(block_time)],
                               stdout=subprocess.DEVNULL, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    _wait_until_serving(url, process)
    return url, process


def anvil_binary() -> Optional[str]:
    """anvil from the npm package (native binary of the platform package), else on PATH."""
    import platform

    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "")
    native = REPO_ROOT / "node_modules" / "@foundry-rs" / f"anvil-{sys.platform}-{arch}" / "bin" / "anvil"
    if native.exists():
        return str(native)
    return shutil.which("anvil")


def start_anvil(block_time: Optional[float] = None) -> tuple[str, subprocess.Popen]:
    binary = anvil_binary()
    if binary is None:
        raise BenchError("anvil not found: run `npm ci` (package @foundry-rs/anvil) or put anvil on PATH")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--silent", *_block_time_args(block_time)],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_until_serving(url, process)
    return url, process


def _stop(process: Optional[subprocess.Popen]) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperion bench rpc",
        description="End-to-end throughput over JSON-RPC: pre-signed ETH and ERC-20 transfers sent in "
                    "eth_sendRawTransaction batches, timed until every receipt exists.")
    parser.add_argument("--txs", "-n", type=int, default=DEFAULT_TXS,
                        help=f"ETH transfers, and as many ERC-20 transfers (default {DEFAULT_TXS})")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                        help=f"requests per JSON-RPC batch (default {DEFAULT_BATCH})")
    parser.add_argument("--senders", type=int, default=DEFAULT_SENDERS,
                        help=f"sending dev accounts (default {DEFAULT_SENDERS}, at most 9)")
    parser.add_argument("--url", help="bench this running Hyperion node instead of starting one")
    parser.add_argument("--against", metavar="URL",
                        help="also run the load against this node (http URL, or 'anvil' to start one) "
                             "and print the ratio")
    parser.add_argument("--block-time", type=float, metavar="SECONDS",
                        help="start the nodes with interval mining instead of automine (one block per tx)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="start the Hyperion node with this data directory (MetisDB) instead of in memory")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for inclusion")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.txs < 1 or args.batch < 1 or not 1 <= args.senders <= 9 or (
            args.block_time is not None and not args.block_time > 0):
        print("hyperion bench rpc: --txs, --batch and --block-time must be positive, --senders 1..9",
              file=sys.stderr)
        return 2
    processes: list[subprocess.Popen] = []
    results: dict[str, list[PhaseResult]] = {}
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    try:
        if args.url:
            url = args.url
        else:
            url, process = start_hyperion(args.block_time, args.data_dir)
            processes.append(process)
        log(f"hyperion bench rpc: {args.txs} ETH + {args.txs} ERC-20 transfers, batches of {args.batch}")
        results["hyperion"] = run_load(url, args.txs, args.batch, args.senders, args.timeout, log)
        if args.against:
            if args.against == "anvil":
                other_url, process = start_anvil(args.block_time)
                processes.append(process)
            else:
                other_url = args.against
            results["against"] = run_load(other_url, args.txs, args.batch, args.senders, args.timeout, log)
    except BenchError as exc:
        print(f"hyperion bench rpc: {exc}", file=sys.stderr)
        return 1
    finally:
        for process in processes:
            _stop(process)

    report = {name: {phase.name: {"transactions": phase.transactions, "seconds": round(phase.seconds, 4),
                                  "send_seconds": round(phase.send_seconds, 4), "tx_per_s": round(phase.rate, 1)}
                     for phase in phases}
              for name, phases in results.items()}
    if "against" in results:
        report["ratio"] = {mine.name: round(mine.rate / theirs.rate, 3)
                           for mine, theirs in zip(results["hyperion"], results["against"])}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print()
    print(f"{'':18}{'hyperion tx/s':>16}" + (f"{'other tx/s':>14}{'ratio':>9}" if "against" in results else ""))
    for index, phase in enumerate(results["hyperion"]):
        line = f"{phase.name:18}{phase.rate:>16,.0f}"
        if "against" in results:
            other = results["against"][index]
            line += f"{other.rate:>14,.0f}{phase.rate / other.rate:>9.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
