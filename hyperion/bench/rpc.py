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

Fair comparison on a shared machine: the nodes' runs are interleaved
(``--rounds`` rounds of each phase on each node, alternating which goes
first), the medians are compared, and the load average is printed before
and after. anvil's automine now and then leaves a promoted transaction
unmined until something else arrives; after a second without progress the
bench asks for a block (``evm_mine``), counts it as a kick, and keeps the
wait in the time. The nodes the bench starts are stopped on any exit,
SIGTERM/SIGINT/SIGHUP included, and get SIGTERM from the kernel if the
bench itself is killed (Linux).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence
from urllib.parse import urlparse

import orjson

from hyperion.primitives.keccak import keccak256
from hyperion.primitives.transactions import FeeMarketTransaction
from hyperion.tools.progress import Progress, ProgressCallback

REPO_ROOT = Path(__file__).resolve().parents[2]
ERC20_ARTIFACT = Path(__file__).resolve().parent / "workloads" / "erc20.json"
DEFAULT_TXS = 2000
DEFAULT_ROUNDS = 3
DEFAULT_BATCH = 100
DEFAULT_SENDERS = 8
TRANSFER_GAS = 21_000
TOKEN_TRANSFER_GAS = 80_000
DEPLOY_GAS = 3_000_000
MINT_GAS = 120_000


class BenchError(RuntimeError):
    """The target node misbehaved (an RPC error, a failed transaction, a timeout)."""


class RpcClient:
    """Minimal JSON-RPC client on one persistent HTTP connection (no client-side overhead to speak of).

    Deliberately not web3.py: this is the load generator of a server benchmark on a 2-core machine,
    so the client's CPU competes with the server under test and must stay as small as possible.
    """

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


def _wait_for_receipts(client: RpcClient, tx_hashes: list[str], timeout: float, batch: int,
                       stall: Optional["StallKicker"] = None) -> list[dict]:
    """Poll until every hash has a receipt (in batches); ``stall`` may nudge a node that stopped mining."""
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
        progressed = len(still_missing) < len(missing)
        missing = still_missing
        if missing:
            if time.monotonic() > deadline:
                raise BenchError(f"{len(missing)} transactions not included after {timeout:.0f}s")
            if stall is not None:
                stall.observe(client, progressed, missing)
            time.sleep(0.02)
    return [receipts[h] for h in tx_hashes]


class TransactionsLost(BenchError):
    """The node accepted transactions, then neither mined nor kept them."""


class StallKicker:
    """anvil's automine stops mining when it falls behind (and leaves promoted transactions unmined).

    After ``seconds`` without a new receipt the bench asks for a block
    (``evm_mine``) and counts it; the time waited stays in the measurement.
    When the node has nothing left to mine although receipts are still
    missing, it lost those transactions (anvil drops thousands of accepted
    ones, or their predecessors, once it falls behind): ``TransactionsLost``.
    """

    def __init__(self, seconds: float = 1.0) -> None:
        self.seconds = seconds
        self.kicks = 0
        self._idle_checks = 0
        self._last_progress = time.monotonic()

    def observe(self, client: RpcClient, progressed: bool, missing: list[str]) -> None:
        now = time.monotonic()
        if progressed:
            self._last_progress = now
            self._idle_checks = 0
        elif now - self._last_progress > self.seconds:
            if self.kicks and self._lost(client, missing[0]):
                self._idle_checks += 1
                if self._idle_checks >= 2:  # twice in a row, a kick apart
                    raise TransactionsLost(f"{len(missing)} accepted transactions were never mined, and the node "
                                           f"knows them no more and has nothing left to mine (lost)")
            client.call("evm_mine")
            self.kicks += 1
            self._last_progress = now

    @staticmethod
    def _lost(client: RpcClient, tx_hash: str) -> bool:
        """Nothing executable in the pool, and ``tx_hash`` unknown to the node."""
        try:
            return (int(client.call("txpool_status")["pending"], 16) == 0
                    and client.call("eth_getTransactionByHash", tx_hash) is None)
        except (BenchError, KeyError, TypeError, ValueError):
            return False  # a node without txpool_status: wait for the timeout


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
    kicks: int = 0          # evm_mine calls the bench needed to get every transaction mined
    failure: Optional[str] = None  # the node did not get every transaction mined (no rate then)

    @property
    def rate(self) -> Optional[float]:
        if self.failure is not None:
            return None
        return self.transactions / self.seconds if self.seconds > 0 else float("inf")


def _timed_phase(client: RpcClient, name: str, raws: list[bytes], batch: int, timeout: float) -> PhaseResult:
    stall = StallKicker()
    started = time.perf_counter()
    hashes = _send_all(client, raws, batch)
    sent = time.perf_counter() - started
    receipts = _wait_for_receipts(client, hashes, timeout, batch, stall)
    elapsed = time.perf_counter() - started
    failed = [r["transactionHash"] for r in receipts if int(r["status"], 16) != 1]
    if failed:
        raise BenchError(f"{name}: {len(failed)} transactions failed, e.g. {failed[0]}")
    return PhaseResult(name, len(raws), elapsed, sent, stall.kicks)


PHASES = ("ETH transfers", "ERC-20 transfers")


class Target:
    """One node under load: its accounts, token and signer, prepared untimed.

    ``restart`` (for a node the bench started) gives a fresh node's URL: a
    node that lost transactions or stopped answering is replaced, as anvil
    then keeps mining empty blocks on a busy loop that would slow down the
    other node's rounds.
    """

    def __init__(self, label: str, url: str, senders: int, batch: int, timeout: float, log=print,
                 restart: Optional[Callable[[], str]] = None) -> None:
        self.label, self.batch, self.timeout, self.log, self.senders = label, batch, timeout, log, senders
        self.restart = restart
        self.results: dict[tuple[str, int], list[PhaseResult]] = defaultdict(list)  # by (phase, txs)
        self.client = RpcClient(url)
        self._prepare()

    def _prepare(self) -> None:
        """Deploy the token and fund the senders (untimed)."""
        from hyperion.chain.hdwallet import dev_accounts

        client, timeout, batch = self.client, self.timeout, self.batch
        self.chain_id = int(client.call("eth_chainId"), 16)
        base_fee = int(client.call("eth_getBlockByNumber", "latest", False).get("baseFeePerGas") or "0x0", 16)
        tip = 10**9
        self.signer = Signer(self.chain_id, max(2 * base_fee, 10**9) + tip + 10**10, tip)
        accounts = [Account(address, key) for address, key in dev_accounts(count=self.senders + 1)]
        for account in accounts:
            account.nonce = int(client.call("eth_getTransactionCount", _hex(account.address), "pending"), 16)
        self.minter, self.holders = accounts[0], accounts[1:]
        artifact = json.loads(ERC20_ARTIFACT.read_text())
        deploy = self.signer.sign(self.minter, None, 0, bytes.fromhex(artifact["bytecode"].removeprefix("0x")),
                                  DEPLOY_GAS)
        receipt = _wait_for_receipts(client, _send_all(client, [deploy], 1), timeout, 1, StallKicker())[0]
        token = receipt.get("contractAddress")
        if not token or int(receipt["status"], 16) != 1:
            raise BenchError(f"token deployment failed: {receipt}")
        self.token = bytes.fromhex(token[2:])
        mints = [self.signer.sign(self.minter, self.token, 0, _abi_call("mint(address,uint256)", h.address, 10**30),
                                  MINT_GAS) for h in self.holders]
        _wait_for_receipts(client, _send_all(client, mints, batch), timeout, batch, StallKicker())
        self.recipients = [keccak256(b"bench-recipient-%d" % i)[:20] for i in range(64)]

    def sign(self, phase: str, txs: int) -> list[bytes]:
        """The phase's transactions, signed ahead (signing is not timed)."""
        holders, recipients, sign = self.holders, self.recipients, self.signer.sign
        if phase == PHASES[0]:
            return [sign(holders[i % len(holders)], recipients[i % len(recipients)], 1 + i, b"", TRANSFER_GAS)
                    for i in range(txs)]
        return [sign(holders[i % len(holders)], self.token, 0,
                     _abi_call("transfer(address,uint256)", recipients[i % len(recipients)], 1 + i),
                     TOKEN_TRANSFER_GAS) for i in range(txs)]

    def run(self, phase: str, txs: int) -> PhaseResult:
        raws = self.sign(phase, txs)
        started = time.perf_counter()
        try:
            result = _timed_phase(self.client, phase, raws, self.batch, self.timeout)
        except BenchError as exc:
            # a node that lost transactions fails its round; so does, when the bench can replace it
            # (the anvil it started), one that stopped answering in time
            if not isinstance(exc, TransactionsLost) and self.restart is None:
                raise
            result = PhaseResult(phase, len(raws), time.perf_counter() - started, 0.0, failure=str(exc))
            self.log(f"  {self.label:8} {phase:16}: {txs} tx: FAILED: {exc}")
            self.recover()
        else:
            kicked = f", {result.kicks} evm_mine kicks" if result.kicks else ""
            self.log(f"  {self.label:8} {phase:16}: {result.transactions} tx in {result.seconds:6.2f}s "
                     f"(accepted after {result.send_seconds:.2f}s) = {result.rate:8,.0f} tx/s{kicked}")
        self.results[phase, txs].append(result)
        return result

    def recover(self) -> None:
        """After the node lost transactions: a fresh node when the bench can start one, else go on from
        the nonces of what it mined."""
        if self.restart is not None:
            self.client.close()
            self.client = RpcClient(self.restart())
            self.log(f"  {self.label:8} replaced by a fresh node (untimed)")
            self._prepare()
            return
        for account in [self.minter, *self.holders]:
            account.nonce = int(self.client.call("eth_getTransactionCount", _hex(account.address), "latest"), 16)

    def median_rate(self, phase: str, txs: int) -> Optional[float]:
        """The median over the rounds of ``txs`` transactions the node completed; None if it completed none."""
        rates = [r.rate for r in self.results[phase, txs] if r.rate is not None]
        return statistics.median(rates) if rates else None

    def failures(self, phase: str, txs: int) -> list[str]:
        return [r.failure for r in self.results[phase, txs] if r.failure is not None]

    def close(self) -> None:
        self.client.close()


def run_load(url: str, txs: int, batch: int, senders: int, timeout: float, log=print) -> list[PhaseResult]:
    """Deploy, fund, then time ETH and ERC-20 transfer phases against one node."""
    target = Target(url, url, senders, batch, timeout, log)
    try:
        return [target.run(phase, txs) for phase in PHASES]
    finally:
        target.close()


def run_interleaved(targets: list[Target], sizes: Sequence[int], rounds: int,
                    on_progress: Optional[ProgressCallback] = None) -> None:
    """``rounds`` rounds of every phase and load size on every target, alternating which target
    (and which size) goes first, so that a drift of the machine's speed hits all alike."""
    total, done = rounds * len(sizes) * len(PHASES) * len(targets), 0
    for round_index in range(rounds):
        order = targets if round_index % 2 == 0 else list(reversed(targets))
        for txs in (sizes if round_index % 2 == 0 else list(reversed(sizes))):
            for phase in PHASES:
                for target in order:
                    if on_progress is not None:
                        on_progress(done, total, f"round {round_index + 1}, {txs} txs, {phase} on {target.label}")
                    target.run(phase, txs)
                    done += 1


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


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the bench dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _spawn(argv: list[str], **kwargs) -> subprocess.Popen:
    preexec = _die_with_parent if sys.platform.startswith("linux") else None
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, preexec_fn=preexec, **kwargs)


def start_hyperion(block_time: Optional[float] = None,
                   data_dir: Optional[str] = None) -> tuple[str, subprocess.Popen]:
    """Start a node: in memory, or persisting to ``data_dir`` (MetisDB) when given."""
    port = _free_port()
    storage = ["--in-memory"] if data_dir is None else ["--data-dir", str(data_dir)]
    process = _spawn([sys.executable, "-m", "hyperion", "node", *storage, "--silent",
                      "--port", str(port), "--log-level", "warning", *_block_time_args(block_time)], cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process)
    except BaseException:
        _stop(process)
        raise
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
    process = _spawn([binary, "--port", str(port), "--silent", *_block_time_args(block_time)],
                     stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process)
    except BaseException:
        _stop(process)
        raise
    return url, process


def _stop(process: Optional[subprocess.Popen]) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class _Stopped(BaseException):
    """A signal asked the bench to stop (its children are stopped on the way out)."""


def _on_signal(signum, frame) -> None:
    raise _Stopped(signum)


def _load() -> str:
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "load average unavailable"


# -- entry point -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperion bench rpc",
        description="End-to-end throughput over JSON-RPC: pre-signed ETH and ERC-20 transfers sent in "
                    "eth_sendRawTransaction batches, timed until every receipt exists. With --against, "
                    "the two nodes' runs are interleaved round by round and the ratio of medians is reported.")
    parser.add_argument("--txs", "-n", type=int, nargs="+", default=[DEFAULT_TXS], metavar="N",
                        help=f"ETH transfers, and as many ERC-20 transfers, per round (default {DEFAULT_TXS}); "
                             "with several sizes (--txs 1000 10000) each round runs every size and the "
                             "rate at each size is compared with the rate at the first")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                        help=f"rounds per node, alternating which node goes first (default {DEFAULT_ROUNDS})")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                        help=f"requests per JSON-RPC batch (default {DEFAULT_BATCH})")
    parser.add_argument("--senders", type=int, default=DEFAULT_SENDERS,
                        help=f"sending dev accounts (default {DEFAULT_SENDERS}, at most 9)")
    parser.add_argument("--rpc-url", "--url", dest="url", metavar="URL",
                        help="bench this running Hyperion node instead of starting one")
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
    if min(args.txs) < 1 or args.batch < 1 or args.rounds < 1 or not 1 <= args.senders <= 9 or (
            args.block_time is not None and not args.block_time > 0):
        print("hyperion bench rpc: --txs, --rounds, --batch and --block-time must be positive, --senders 1..9",
              file=sys.stderr)
        return 2
    processes: list[subprocess.Popen] = []
    targets: list[Target] = []
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else (lambda *a: print(*a, flush=True))
    previous = {signum: signal.signal(signum, _on_signal) for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    load_before = _load()
    try:
        if args.url:
            url = args.url
        else:
            url, process = start_hyperion(args.block_time, args.data_dir)
            processes.append(process)
        other_url = None
        anvil: list[subprocess.Popen] = []  # the anvil the bench runs (replaced when it loses transactions)

        def fresh_anvil() -> str:
            for old in anvil:
                _stop(old)
                processes.remove(old)
            anvil.clear()
            url_, process_ = start_anvil(args.block_time)
            anvil.append(process_)
            processes.append(process_)
            return url_

        if args.against:
            other_url = fresh_anvil() if args.against == "anvil" else args.against
        storage = "external" if args.url else ("data dir" if args.data_dir else "in memory")
        sizes = " and ".join(str(n) for n in args.txs)
        log(f"hyperion bench rpc: {sizes} ETH + as many ERC-20 transfers per round, {args.rounds} rounds, "
            f"batches of {args.batch}, {args.senders} senders; hyperion {storage}; {load_before}")
        targets.append(Target("hyperion", url, args.senders, args.batch, args.timeout, log))
        if other_url is not None:
            targets.append(Target("anvil" if args.against == "anvil" else "other", other_url, args.senders,
                                  args.batch, args.timeout, log, fresh_anvil if anvil else None))
        with Progress("bench rpc", animate=False) as bar:
            run_interleaved(targets, args.txs, args.rounds, on_progress=bar.report)
    except BenchError as exc:
        print(f"hyperion bench rpc: {exc}", file=sys.stderr)
        return 1
    except _Stopped as stopped:
        print(f"hyperion bench rpc: stopped by signal {stopped.args[0]}; stopping the nodes it started",
              file=sys.stderr)
        return 128 + int(stopped.args[0])
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not cut the clean-up short
        for target in targets:
            target.close()
        for process in processes:
            _stop(process)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    load_after = _load()

    def rounded(value: Optional[float]) -> Optional[float]:
        return None if value is None else round(value, 1)

    names = {0: "hyperion", 1: "against"}
    first = args.txs[0]

    def entry(target: Target, phase: str, txs: int) -> dict:
        results = target.results[phase, txs]
        return {"transactions": txs, "rounds": len(results), "tx_per_s": rounded(target.median_rate(phase, txs)),
                "tx_per_s_rounds": [rounded(r.rate) for r in results],
                "seconds": round(statistics.median(r.seconds for r in results), 4),
                "kicks": sum(r.kicks for r in results), "failures": target.failures(phase, txs)}

    report: dict[str, Any] = {names[i]: {phase: entry(t, phase, first) for phase in PHASES}
                              for i, t in enumerate(targets)}
    report["load_average"] = {"before": load_before, "after": load_after}
    if len(targets) == 2:
        report["ratio"] = {phase: _ratio(targets[0].median_rate(phase, first), targets[1].median_rate(phase, first))
                           for phase in PHASES}
    if len(args.txs) > 1:
        # every size, and each size's rate over the first size's rate (same node, same run)
        report["sizes"] = {names[i]: {str(txs): {phase: entry(t, phase, txs) for phase in PHASES}
                                      for txs in args.txs} for i, t in enumerate(targets)}
        report["scaling"] = {names[i]: {str(txs): {phase: _ratio(t.median_rate(phase, txs), t.median_rate(phase, first))
                                                   for phase in PHASES} for txs in args.txs[1:]}
                             for i, t in enumerate(targets)}
        if len(targets) == 2:
            report["ratio_by_size"] = {str(txs): {phase: _ratio(targets[0].median_rate(phase, txs),
                                                                targets[1].median_rate(phase, txs))
                                                  for phase in PHASES} for txs in args.txs}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print()
    other = targets[1].label if len(targets) == 2 else None
    for txs in args.txs:
        print(f"{f'{txs} tx, median of {args.rounds} rounds':30}{'hyperion tx/s':>14}"
              + (f"{other + ' tx/s':>14}{'ratio':>8}" if other else "")
              + (f"{f'vs {first} tx':>12}" if txs != first else ""))
        for phase in PHASES:
            mine = targets[0].median_rate(phase, txs)
            line = f"{phase:30}{_rate_text(mine):>14}"
            if other:
                ratio = _ratio(mine, targets[1].median_rate(phase, txs))
                line += f"{_rate_text(targets[1].median_rate(phase, txs)):>14}{'-' if ratio is None else f'{ratio:.2f}':>8}"
            if txs != first:
                scale = _ratio(mine, targets[0].median_rate(phase, first))
                line += f"{'-' if scale is None else f'{scale:.2f}':>12}"
            print(line)
    for target in targets:
        for phase in PHASES:
            for txs in args.txs:
                for failure in target.failures(phase, txs):
                    print(f"{target.label} {phase} ({txs} tx): a round failed: {failure}")
    print(f"{load_before}; after: {load_after.removeprefix('load average ')}")
    return 0


def _ratio(mine: Optional[float], theirs: Optional[float]) -> Optional[float]:
    """mine / theirs; None when a node completed no round (a node that lost transactions has no rate)."""
    return None if mine is None or not theirs else round(mine / theirs, 3)


def _rate_text(rate: Optional[float]) -> str:
    return "failed" if rate is None else f"{rate:,.0f}"

if __name__ == "__main__":
    sys.exit(main())
