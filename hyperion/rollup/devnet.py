"""``hyperion devnet``: a whole rollup on one machine, for development and for the end-to-end tests.

It starts anvil as the L1 (the npm package ``@foundry-rs/anvil`` that
``scripts/setup-e2e.sh`` installs, or ``anvil`` on PATH), deploys the L1
contracts, writes the L2 genesis and ``rollup.json``, and starts a
sequencer and a follower as ``hyperion node`` processes, each with its own
data directory and log file under the work directory. Accounts come from
anvil's (and Hyperion's) standard test mnemonic: 0 deploys and owns, 1
batches, 2 proposes, 3 challenges, 4 is the resolver; all ten are funded
on L2 from genesis too.

The same roles point at any Ethereum L1: only the deployment and the
processes are local here.
"""

from __future__ import annotations

import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from hyperion.chain.hdwallet import TEST_MNEMONIC, dev_accounts
from hyperion.rollup.config import L1BlockId, RollupConfig
from hyperion.web3tx import rpc as web3rpc

log = logging.getLogger("hyperion.rollup.devnet")

REPO_ROOT = Path(__file__).resolve().parents[2]
ETHER = 10**18
DEPLOYER, BATCHER, PROPOSER, CHALLENGER, RESOLVER = range(5)


def anvil_binary() -> Optional[str]:
    """The native anvil of the npm package @foundry-rs/anvil (repository node_modules), else PATH."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    for root in (Path.cwd(), REPO_ROOT):
        native = root / "node_modules" / "@foundry-rs" / f"anvil-{sys.platform}-{arch}" / "bin" / "anvil"
        if native.exists():
            return str(native)
    return shutil.which("anvil")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rpc(url: str, method: str, *params, timeout: float = 30.0):
    """One JSON-RPC call (web3.py's HTTPProvider); an error answer or an unreachable node raises RuntimeError."""
    try:
        return web3rpc.call(url, method, *params, timeout=timeout)
    except (web3rpc.RpcError, web3rpc.Unavailable) as exc:
        raise RuntimeError(str(exc)) from None


def wait_for_rpc(url: str, process: Optional[subprocess.Popen], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            rpc(url, "eth_chainId", timeout=2)
            return
        except Exception:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{what} exited with status {process.returncode}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f}s") from None
            time.sleep(0.1)


@dataclass
class DevnetOptions:
    workdir: Path
    l1_port: int = 8545
    sequencer_port: int = 9545
    follower_port: int = 9546
    l1_block_time: int = 2
    l2_block_time: int = 1
    l2_chain_id: int = 901
    seq_window_size: int = 20
    sequencer_conf_depth: int = 2
    max_sequencer_drift: int = 600
    submission_interval: int = 20
    finalization_period: int = 120
    move_timeout: int = 120
    bond: int = ETHER // 10
    data_availability: str = "auto"
    max_batch_delay: float = 4.0
    follower: bool = True
    challenge: bool = True
    log_level: str = "info"
    sequencer_env: dict = field(default_factory=dict)   # test hooks (HYPERION_TEST_*)
    l2_alloc: dict = field(default_factory=dict)        # more L2 genesis entries ({address: account}), e.g. the AI predeploys
    follower_env: dict = field(default_factory=dict)
    l2_coinbase: Optional[bytes] = None           # the L2 genesis coinbase (blocks' fee recipient); None: 0x0
    l2_base_fee_recipient: Optional[bytes] = None  # where L2 base fees go (e.g. the Holders Mining vault); None burns


class NodeProcess:
    """One ``hyperion node --rollup`` process with its data dir and log file."""

    def __init__(self, name: str, args: list[str], env: dict, workdir: Path, port: int):
        self.name = name
        self.args = args
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.data_dir = workdir / name
        self.log_path = workdir / f"{name}.log"
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 60.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting for it (several nodes then start side by side)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **self.env)
        command = [sys.executable, "-m", "hyperion", "node", *self.args, "--data-dir", str(self.data_dir),
                   "--port", str(self.port)]
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                            start_new_session=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_for_rpc(self.url, self.process, timeout, f"the {self.name} (log: {self.log_path})")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Devnet:
    """anvil + L1 contracts + a sequencer + a follower (``start``/``stop``, or a context manager)."""

    def __init__(self, options: DevnetOptions):
        self.options = options
        self.workdir = Path(options.workdir)
        self.accounts = dev_accounts(TEST_MNEMONIC, 10)
        self.anvil: Optional[subprocess.Popen] = None
        self.l1_url = ""
        self.config: Optional[RollupConfig] = None
        self.config_path = self.workdir / "rollup.json"
        self.deployment = None
        self.sequencer: Optional[NodeProcess] = None
        self.follower: Optional[NodeProcess] = None

    def key(self, index: int) -> bytes:
        return self.accounts[index][1]

    def address(self, index: int) -> bytes:
        return self.accounts[index][0]

    # -- starting -----------------------------------------------------------------------------------------
    deploy_step = "deploying the L1 contracts"  # (what step 1 of ``start`` says)
    node_start_timeout = 60.0  # seconds a node process may take to answer
    def start(self, on_progress: Optional[Callable[[int, int, str], None]] = None) -> "Devnet":
        """Start every process; ``on_progress(done, total, what)`` is told each step as it begins."""
        steps = 4 if self.options.follower else 3

        def step(done: int, what: str) -> None:
            if on_progress is not None:
                on_progress(done, steps, what)

        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            step(0, "starting anvil (L1)")
            self.start_l1()
            step(1, self.deploy_step)
            self.deploy()
            self.start_sequencers(step)
            if self.options.follower:
                step(3, "starting the follower")
                self.follower = self.make_follower()
                self.follower.start(self.node_start_timeout)
            step(steps, "running")
        except BaseException:
            self.stop()
            raise
        return self

    def start_sequencers(self, step: Callable[[int, str], None]) -> None:
        """Step 2 of ``start``: the sequencer (a sequencer set starts several)."""
        step(2, "starting the sequencer")
        self.sequencer = self.make_sequencer()
        self.sequencer.start(self.node_start_timeout)

    def start_l1(self) -> None:
        binary = anvil_binary()
        if binary is None:
            raise RuntimeError("anvil not found: run scripts/setup-e2e.sh (npm package @foundry-rs/anvil)")
        port = self.options.l1_port or free_port()
        self.l1_url = f"http://127.0.0.1:{port}"
        command = [binary, "--host", "127.0.0.1", "--port", str(port), "--block-time", str(self.options.l1_block_time),
                   "--slots-in-an-epoch", "1", "--silent"]
        with open(self.workdir / "anvil.log", "ab") as log_file:
            self.anvil = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_rpc(self.l1_url, self.anvil, 30, "anvil")

    def _warm_up_blobs(self) -> None:
        """Have the L1 (anvil) load its KZG setup now, while the contracts deploy, not at the first batch.

        anvil loads it lazily, on the first blob transaction it is sent: ~3 s
        of CPU, which is half a minute of wall time on a loaded machine. Paid
        at the sequencer's first blob batch, that delay pushed the batch past
        the sequencing window of the first L2 blocks, so derivation filled
        those slots itself and replaced the sequencer's first blocks (and
        moved the transactions in them to later blocks). One blob
        transaction from the batcher key to itself (not to the inbox, so
        derivation never sees it) pays it up front.
        """
        import asyncio

        from hyperion.rollup.blobs import encode_blobs
        from hyperion.rollup.l1client import L1Client
        from hyperion.rollup.l1tx import L1Signer

        async def send() -> None:
            client = L1Client(self.l1_url, timeout=300)
            try:
                signer = L1Signer(client, self.key(BATCHER), int(await client.call("eth_chainId"), 16))
                sent = await signer.send_blobs(signer.address, encode_blobs(b"devnet: warm up the L1's KZG setup"))
                await signer.wait(sent.tx_hash, timeout=300)
            finally:
                await client.close()

        try:
            asyncio.run(send())
        except Exception as exc:  # only a delay is at stake: the batcher's first blob batch pays it instead
            log.warning("could not warm up the L1's blob verification: %s", exc)

    def deploy(self) -> None:
        """Deploy the L1 contracts, make the L2 genesis, fix the starting output, write rollup.json.

        The L2 genesis time and the L1 block the rollup starts from are fixed
        last, once the L1 is ready for blob batches, so that the sequencing
        window of the first L2 blocks starts when the sequencer can start.
        """
        warm_up = threading.Thread(target=self._warm_up_blobs, name="devnet-blob-warm-up", daemon=True)
        warm_up.start()
        from web3 import Web3

        from hyperion.rollup.l1.deploy import RollupL1Config, deploy_rollup_contracts
        from hyperion.rollup.l1.transact import Sender

        options = self.options
        w3 = Web3(Web3.HTTPProvider(self.l1_url, request_kwargs={"timeout": 60}))
        checksum = Web3.to_checksum_address
        owner = Sender(w3, self.key(DEPLOYER))
        l1_config = RollupL1Config(
            owner=checksum(self.address(DEPLOYER)), proposer=checksum(self.address(PROPOSER)),
            batcher=checksum(self.address(BATCHER)), resolver_members=(checksum(self.address(RESOLVER)),),
            resolver_threshold=1, submission_interval=options.submission_interval,
            finalization_period_seconds=options.finalization_period, proposer_bond=options.bond,
            challenger_bond=options.bond, move_timeout=options.move_timeout, starting_output_root=b"\x01" * 32)
        self.deployment = deployment = deploy_rollup_contracts(w3, owner, l1_config)
        warm_up.join()
        head = w3.eth.get_block("latest")
        genesis = self.l2_genesis(int(head["timestamp"]) + 4 * options.l1_block_time + 2)
        config = RollupConfig(
            l2_genesis=genesis, genesis_l1=L1BlockId(0, bytes(32)), l1_chain_id=w3.eth.chain_id,
            portal=_raw(deployment.portal), batch_inbox=_raw(deployment.batch_inbox),
            output_oracle=_raw(deployment.output_oracle), batcher=self.address(BATCHER),
            proposer=self.address(PROPOSER), block_time=options.l2_block_time,
            seq_window_size=options.seq_window_size, max_sequencer_drift=options.max_sequencer_drift,
            sequencer_conf_depth=options.sequencer_conf_depth)
        genesis_block, starting_root = genesis_output(config)
        from hyperion.artifacts import load_artifact

        oracle = w3.eth.contract(address=deployment.output_oracle, abi=load_artifact("OutputOracle")["abi"])
        owner.transact(oracle.functions.setStartingOutput(0, starting_root))
        start = w3.eth.get_block("latest")
        config.genesis_l1 = L1BlockId(start["number"], bytes(start["hash"]))
        config.genesis_l2_hash = genesis_block
        config.extra = {"resolver": deployment.resolver, "l1_deploy_block": deployment.deploy_block}
        config.save(self.config_path)
        self.config = config

    def l2_genesis(self, timestamp: int) -> dict:
        """The dev chain's genesis (Prague, its system contracts) with the rollup predeploys and funded roles."""
        from hyperion.chain.genesis import ChainConfig
        from hyperion.rollup.l1.predeploys import l2_predeploys

        alloc = l2_predeploys()
        alloc.update(self.options.l2_alloc)
        for address, _key in self.accounts:
            alloc[address] = {"balance": 10_000 * ETHER}
        config = ChainConfig(chain_id=self.options.l2_chain_id, genesis_timestamp=timestamp, gas_limit=30_000_000,
                             base_fee=10**9, dev_account_count=0, alloc=alloc,
                             coinbase=self.options.l2_coinbase or b"\x00" * 20)
        genesis = config.genesis_spec().to_dict()
        if self.options.l2_base_fee_recipient is not None:
            genesis["config"]["baseFeeRecipient"] = "0x" + self.options.l2_base_fee_recipient.hex()
        return genesis

    def _common_args(self) -> list[str]:
        return ["--rollup", str(self.config_path), "--l1-rpc-url", self.l1_url, "--log-level", self.options.log_level]

    def make_sequencer(self) -> NodeProcess:
        options = self.options
        env = {"HYPERION_BATCHER_KEY": self.key(BATCHER).hex(), "HYPERION_PROPOSER_KEY": self.key(PROPOSER).hex(),
               **options.sequencer_env}
        args = [*self._common_args(), "--role", "sequencer", "--batcher-key", "env:HYPERION_BATCHER_KEY",
                "--proposer-key", "env:HYPERION_PROPOSER_KEY", "--data-availability", options.data_availability,
                "--max-batch-delay", str(options.max_batch_delay)]
        return NodeProcess("sequencer", args, env, self.workdir, options.sequencer_port or free_port())

    def make_follower(self, name: str = "follower", port: Optional[int] = None, challenge: Optional[bool] = None,
                      env: Optional[dict] = None, follow_unsafe: bool = False) -> NodeProcess:
        options = self.options
        challenge = options.challenge if challenge is None else challenge
        node_env = dict(options.follower_env, **(env or {}))
        args = [*self._common_args(), "--role", "follower", "--sequencer-url", self.sequencer.url]
        if follow_unsafe:
            args.append("--follow-unsafe")
        if challenge:
            node_env.update(HYPERION_CHALLENGER_KEY=self.key(CHALLENGER).hex(),
                            HYPERION_RESOLVER_KEY=self.key(RESOLVER).hex())
            args += ["--challenge", "--challenger-key", "env:HYPERION_CHALLENGER_KEY",
                     "--resolver-key", "env:HYPERION_RESOLVER_KEY"]
        if port is None:
            port = options.follower_port if name == "follower" and options.follower_port else free_port()
        return NodeProcess(name, args, node_env, self.workdir, port)

    def nodes(self) -> list[NodeProcess]:
        """The L2 node processes this devnet started."""
        return [node for node in (self.sequencer, self.follower) if node is not None]

    # -- stopping -------------------------------------------------------------------------------------------
    def stop(self) -> None:
        for node in reversed(self.nodes()):
            node.stop()
        if self.anvil is not None and self.anvil.poll() is None:
            self.anvil.terminate()
            try:
                self.anvil.wait(10)
            except subprocess.TimeoutExpired:
                self.anvil.kill()
                self.anvil.wait()

    def __enter__(self) -> "Devnet":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def summary(self) -> str:
        lines = ["Hyperion devnet", "",
                 f"L1 (anvil) RPC:       {self.l1_url}",
                 f"L1 beacon API:        {self.l1_url}/eth/v1/beacon/blobs/<block>"]
        if self.sequencer is not None:
            lines += [f"L2 sequencer RPC:     {self.sequencer.url}  (WebSocket {self.sequencer.ws_url})"]
        if self.follower is not None:
            lines += [f"L2 follower RPC:      {self.follower.url}  (WebSocket {self.follower.ws_url})"]
        if self.deployment is not None:
            d = self.deployment
            lines += ["", f"Portal:               {d.portal}", f"BatchInbox:           {d.batch_inbox}",
                      f"OutputOracle:         {d.output_oracle}", f"ThresholdResolver:    {d.resolver}"]
        lines += ["", f"Rollup config:        {self.config_path}", f"Logs and data:        {self.workdir}",
                  f"L2 chain id:          {self.options.l2_chain_id}",
                  "Accounts:             the standard test mnemonic (funded on L1 and L2); 0 owner, 1 batcher, "
                  "2 proposer, 3 challenger, 4 resolver"]
        return "\n".join(lines)


def _raw(address: str) -> bytes:
    return bytes.fromhex(address.removeprefix("0x"))


def genesis_output(config: RollupConfig) -> tuple[bytes, bytes]:
    """``(L2 genesis hash, its output root)`` of ``config``, computed on a throwaway in-memory chain."""
    from hyperion.rollup.engine import RollupChain
    from hyperion.rollup.outputs import output_at

    chain = RollupChain(config)
    try:
        return chain.head().hash, output_at(chain, 0)
    finally:
        chain.close()
