"""``hyperion bench rollup``: what the rollup costs and how fast it goes, against a real anvil L1.

In one run, on ETH transfers and on ERC-20 transfers:

1. **sequencing**: an in-process sequencer chain (MetisDB on disk, as a node
   keeps it) admits signed transactions to its pool (validation, sender
   recovery) and builds blocks of ``--block-txs`` of them; L2 tx/s is
   transactions over the CPU time of admitting, building and committing;
2. **L1 cost**: the blocks are batched exactly as the batcher does
   (brotli channels) and posted to two inboxes on anvil, once as blobs and
   once as calldata; the receipts give L1 gas and blob gas per L2
   transaction, next to the bytes per transaction and the compression
   ratio (zlib level 9 on the same data, for comparison);
3. **derivation**: two fresh followers derive the chain from L1 alone, one
   from the blob batches, one from the calldata batches (blocks/s and tx/s
   over CPU time, and the ratio to the sequencer's own rate); their final
   state roots must equal the sequencer's;
4. **latency**: a devnet (anvil + sequencer + follower processes) times an
   L2 transaction from submission to ``safe`` (median of ``--latency-samples``);
5. **a rotating set**: a devnet with one sequencer, then one with three
   staked, rotating sequencers (``hyperion devnet --sequencers 3``): the
   block time seen at a node over ``--set-window`` seconds, the throughput of
   a burst of ``--set-txs`` transfers sent to one node (wall time until all
   are in blocks), and, for the set, the fail-over gap: seconds from the
   slot of the first block after a kill -9 of the sequencer building (or
   from the kill) to that block's arrival from a backup.

The load average is printed before and after: the machine is shared, so
compare ratios within one run. ``--json`` prints one JSON object instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from hyperion.tools.progress import Progress, ProgressCallback

ERC20_ARTIFACT = Path(__file__).resolve().parent / "workloads" / "erc20.json"
GWEI = 10**9


@dataclass
class Phase:
    name: str
    txs: int = 0
    blocks: int = 0
    admit_cpu: float = 0.0   # the pool's validation and sender recovery of every transaction
    build_cpu: float = 0.0   # building and committing the blocks
    build_wall: float = 0.0
    raw_bytes: int = 0
    brotli_bytes: int = 0
    zlib_bytes: int = 0
    calldata_gas: int = 0
    calldata_posts: int = 0
    blob_tx_gas: int = 0
    blob_gas: int = 0
    blobs: int = 0
    first_block: int = 0
    last_block: int = 0

    @property
    def tx_per_s(self) -> float:
        cpu = self.admit_cpu + self.build_cpu
        return self.txs / cpu if cpu else 0.0


@dataclass
class Derivation:
    source: str
    blocks: int = 0
    txs: int = 0
    cpu: float = 0.0
    wall: float = 0.0
    state_root_matches: bool = False


@dataclass
class Result:
    phases: list[Phase] = field(default_factory=list)
    sequencer_blocks_per_s: float = 0.0
    sequencer_tx_per_s: float = 0.0
    derivations: list[Derivation] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    latency_config: str = ""
    sets: list = field(default_factory=list)  # SetRun: one sequencer, then a rotating set
    load_before: tuple = ()
    load_after: tuple = ()
    machine: dict = field(default_factory=dict)


def _log(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, flush=True)


# -- building the workload ----------------------------------------------------------------------


def _sign_transfers(chain_id: int, senders: list[tuple[bytes, bytes]], nonces: dict, count: int, to_token: Optional[bytes]):
    from hyperion.primitives.keccak import keccak256
    from hyperion.primitives.transactions import FeeMarketTransaction
    from hyperion.rollup.l1tx import call_data

    txs = []
    for i in range(count):
        address, key = senders[i % len(senders)]
        recipient = keccak256(b"bench-rollup-recipient-%d" % (i % 512))[:20]
        if to_token is None:
            tx = FeeMarketTransaction(chain_id, nonces[address], GWEI, 10 * GWEI, 21000, recipient, 1 + i, b"")
        else:
            data = call_data("transfer(address,uint256)", recipient, 1 + i)
            tx = FeeMarketTransaction(chain_id, nonces[address], GWEI, 10 * GWEI, 80_000, to_token, 0, data)
        nonces[address] += 1
        txs.append(tx.signed(key))
    return txs


def _next_attributes(chain, config, origin):
    from hyperion.rollup.derivation import attributes

    return attributes(config, chain.head_ref(), origin, [])


def _build_phase(chain, config, origin, phase: Phase, txs: list, block_txs: int) -> None:
    cpu = time.process_time()
    for tx in txs:
        chain.submit_transaction(tx)
    phase.admit_cpu = time.process_time() - cpu
    phase.txs = len(txs)
    phase.first_block = chain.head().number + 1
    while chain.pool.status()["pending"]:
        attrs = _next_attributes(chain, config, origin)
        cpu, wall = time.process_time(), time.perf_counter()
        chain.build_block(attrs, from_pool=True, max_pool_txs=block_txs)
        phase.build_cpu += time.process_time() - cpu
        phase.build_wall += time.perf_counter() - wall
        phase.blocks += 1
    phase.last_block = chain.head().number


def _channels(chain, first: int, last: int, limit: int) -> list:
    """The batcher's channels over blocks first..last, each encoded under ``limit`` bytes."""
    from hyperion.rollup.batcher import block_batch
    from hyperion.rollup.channel import ORIGIN_CHECK_BYTES, Channel, encode_channel

    out = []
    start = first
    while start <= last:
        end = last
        while True:
            blocks = [chain.block_by_number(n) for n in range(start, end + 1)]
            channel = Channel(start, blocks[0].header.parent_hash,
                              chain.ref_of(blocks[-1]).origin.hash[:ORIGIN_CHECK_BYTES],
                              tuple(block_batch(chain, b) for b in blocks))
            data = encode_channel(channel)
            if len(data) <= limit or end == start:
                break
            end = start + max(0, int((end - start + 1) * limit / len(data) * 0.9) - 1)
        out.append((channel, data))
        start = end + 1
    return out


# -- the run -------------------------------------------------------------------------------------


async def _post_and_measure(net, inbox: bytes, channels: list, phase: Phase, as_blobs: bool) -> None:
    from hyperion.rollup.batcher import MAX_CALLDATA_BYTES
    from hyperion.rollup.blobs import encode_blobs
    from hyperion.rollup.devnet import BATCHER
    from hyperion.rollup.l1client import L1Client, qty
    from hyperion.rollup.l1tx import L1Signer

    client = L1Client(net.l1_url)
    try:
        signer = L1Signer(client, net.key(BATCHER), net.config.l1_chain_id)
        for _channel, data in channels:
            if as_blobs:
                sent = await signer.send_blobs(inbox, encode_blobs(data))
            else:
                assert len(data) <= MAX_CALLDATA_BYTES
                sent = await signer.send(inbox, data)
            receipt = await signer.wait(sent.tx_hash, timeout=120)
            if qty(receipt["status"]) != 1:
                raise RuntimeError(f"batch transaction 0x{sent.tx_hash.hex()} reverted")
            if as_blobs:
                phase.blob_tx_gas += qty(receipt["gasUsed"])
                phase.blob_gas += qty(receipt.get("blobGasUsed") or "0x0")
                phase.blobs += len(encode_blobs(data))
            else:
                phase.calldata_gas += qty(receipt["gasUsed"])
                phase.calldata_posts += 1
    finally:
        await client.close()


async def _derive(config, source: str, last_block: int, data_dir: Path) -> tuple[Derivation, bytes]:
    from hyperion.chain.node import open_state_database
    from hyperion.rollup.derivation import DerivationPipeline
    from hyperion.rollup.engine import RollupChain
    from hyperion.rollup.l1client import BeaconBlobSource, L1Client

    db = open_state_database(data_dir)
    chain = RollupChain(config, db)
    client = L1Client(source)
    blobs = BeaconBlobSource(source)
    result = Derivation(source="")
    try:
        pipeline = DerivationPipeline(config, chain, client, blobs)
        await pipeline.start()
        cpu, wall = time.process_time(), time.perf_counter()
        while chain.safe_number < last_block:
            if not await pipeline.step():
                await pipeline.traversal.refresh()
                if pipeline.traversal.cursor.number >= (pipeline.traversal.head or 0):
                    raise RuntimeError(f"derivation stopped at L2 block {chain.safe_number} of {last_block}")
        result.cpu = time.process_time() - cpu
        result.wall = time.perf_counter() - wall
        result.blocks = pipeline.derived_blocks
        result.txs = pipeline.derived_txs
        return result, chain.block_by_number(last_block).header.state_root
    finally:
        await client.close()
        await blobs.close()
        chain.close()


def run(args: argparse.Namespace, on_progress: Optional[ProgressCallback] = None) -> Result:
    from hyperion.bench.report import machine_description
    from hyperion.chain.node import open_state_database
    from hyperion.rollup.devnet import DEPLOYER, Devnet, DevnetOptions
    from hyperion.rollup.engine import RollupChain
    from hyperion.rollup.l1.deploy import deploy_rollup_contracts
    from hyperion.rollup.l1client import L1Block
    from hyperion.vm.precompiles.point_evaluation import trusted_setup

    quiet = args.json
    steps = 5 + (1 if args.latency_samples else 0) + (1 if args.set_window else 0)

    def step(done: int, what: str) -> None:
        if on_progress is not None:
            on_progress(done, steps, what)

    step(0, "L1 (anvil) and the rollup contracts")
    result = Result(load_before=os.getloadavg(), machine=machine_description())
    work = Path(tempfile.mkdtemp(prefix="hyperion-bench-rollup-"))
    trusted_setup()  # seconds of one-time KZG setup, outside every timing
    net = Devnet(DevnetOptions(workdir=work / "l1", l1_port=0, sequencer_port=0, follower_port=0, l1_block_time=1,
                               seq_window_size=100_000, max_sequencer_drift=10**7, follower=False))
    try:
        net.workdir.mkdir(parents=True)
        net.start_l1()
        net.deploy()
        config = net.config
        _log(f"L1 anvil {net.l1_url}; rollup contracts deployed", quiet)
        from web3 import Web3

        from hyperion.rollup.l1.deploy import RollupL1Config
        from hyperion.rollup.l1.transact import Sender

        w3 = Web3(Web3.HTTPProvider(net.l1_url, request_kwargs={"timeout": 60}))
        checksum = Web3.to_checksum_address
        second = deploy_rollup_contracts(w3, Sender(w3, net.key(DEPLOYER)), RollupL1Config(
            owner=checksum(net.address(DEPLOYER)), proposer=checksum(net.address(2)), batcher=checksum(net.address(1)),
            resolver_members=(checksum(net.address(4)),), resolver_threshold=1))
        calldata_inbox = bytes.fromhex(second.batch_inbox[2:])

        # -- 1. sequencing ----------------------------------------------------------------------
        step(1, "sequencing")
        chain = RollupChain(config, open_state_database(work / "sequencer"))
        genesis_l1 = w3.eth.get_block(config.genesis_l1.number)
        origin = L1Block(genesis_l1["number"], bytes(genesis_l1["hash"]), bytes(genesis_l1["parentHash"]),
                         genesis_l1["timestamp"], genesis_l1.get("baseFeePerGas", 0), bytes(genesis_l1["mixHash"]),
                         bytes(genesis_l1.get("parentBeaconBlockRoot") or bytes(32)),
                         genesis_l1.get("excessBlobGas"))
        chain_id = chain.chain_id
        senders = net.accounts[1:]
        nonces = {address: 0 for address, _ in net.accounts}
        artifact = json.loads(ERC20_ARTIFACT.read_text())
        from hyperion.primitives.address import compute_create_address
        from hyperion.primitives.transactions import FeeMarketTransaction
        from hyperion.rollup.l1tx import call_data

        minter_address, minter_key = net.accounts[0]
        token = compute_create_address(minter_address, 0)
        setup = [FeeMarketTransaction(chain_id, 0, GWEI, 10 * GWEI, 3_000_000, None, 0,
                                      bytes.fromhex(artifact["bytecode"].removeprefix("0x"))).signed(minter_key)]
        setup += [FeeMarketTransaction(chain_id, 1 + i, GWEI, 10 * GWEI, 150_000, token, 0,
                                       call_data("mint(address,uint256)", address, 10**30)).signed(minter_key)
                  for i, (address, _) in enumerate(senders)]
        nonces[minter_address] = len(setup)
        for tx in setup:
            chain.submit_transaction(tx)
        chain.build_block(_next_attributes(chain, config, origin), from_pool=True)
        eth = Phase("ETH transfers")
        erc20 = Phase("ERC-20 transfers")
        eth_txs = _sign_transfers(chain_id, senders, nonces, args.txs, None)
        token_txs = _sign_transfers(chain_id, senders, nonces, args.txs, token)
        _log(f"signed {2 * args.txs} transactions (not timed); sequencing in blocks of {args.block_txs}", quiet)
        _build_phase(chain, config, origin, eth, eth_txs, args.block_txs)
        _build_phase(chain, config, origin, erc20, token_txs, args.block_txs)
        failed = [r for b in range(eth.first_block, erc20.last_block + 1) for r in chain.receipts(chain.block_by_number(b))
                  if r.status != 1 and r.tx_type != 0x7E]
        if failed:
            raise RuntimeError(f"{len(failed)} benchmark transactions failed on L2")
        result.phases = [eth, erc20]
        total_cpu = eth.admit_cpu + eth.build_cpu + erc20.admit_cpu + erc20.build_cpu
        result.sequencer_tx_per_s = (eth.txs + erc20.txs) / total_cpu
        result.sequencer_blocks_per_s = (eth.blocks + erc20.blocks) / total_cpu

        # -- 2. L1 cost -------------------------------------------------------------------------
        step(2, "posting batches to L1")
        from hyperion.primitives import rlp
        from hyperion.rollup.batcher import MAX_CALLDATA_BYTES
        from hyperion.rollup.blobs import max_blob_payload

        setup_channels = _channels(chain, 1, 1, max_blob_payload())
        asyncio.run(_post_and_measure(net, config.batch_inbox, setup_channels, Phase("setup"), True))
        asyncio.run(_post_and_measure(net, calldata_inbox, _channels(chain, 1, 1, MAX_CALLDATA_BYTES), Phase("setup"),
                                      False))
        for phase in (eth, erc20):
            blob_channels = _channels(chain, phase.first_block, phase.last_block, max_blob_payload())
            calldata_channels = _channels(chain, phase.first_block, phase.last_block, MAX_CALLDATA_BYTES)
            for channel, data in calldata_channels:
                raw = rlp.encode(channel.to_rlp())
                phase.raw_bytes += len(raw)
                phase.brotli_bytes += len(data)
                phase.zlib_bytes += len(zlib.compress(raw, 9)) + 2
            asyncio.run(_post_and_measure(net, config.batch_inbox, blob_channels, phase, True))
            asyncio.run(_post_and_measure(net, calldata_inbox, calldata_channels, phase, False))
            _log(f"{phase.name}: posted {len(blob_channels)} blob batch(es), {len(calldata_channels)} calldata batch(es)",
                 quiet)
        last = erc20.last_block
        sequencer_root = chain.block_by_number(last).header.state_root
        chain.close()

        # -- 3. derivation ----------------------------------------------------------------------
        import dataclasses

        for done, (name, inbox) in enumerate((("blobs", config.batch_inbox), ("calldata", calldata_inbox)), 3):
            step(done, f"deriving from {name}")
            follower_config = dataclasses.replace(config, batch_inbox=inbox)
            derivation, root = asyncio.run(_derive(follower_config, net.l1_url, last, work / f"follower-{name}"))
            derivation.source = name
            derivation.state_root_matches = root == sequencer_root
            result.derivations.append(derivation)
            _log(f"follower ({name}): derived {derivation.blocks} blocks in {derivation.cpu:.2f}s CPU", quiet)
    finally:
        net.stop()

    # -- 4. latency --------------------------------------------------------------------------------
    if args.latency_samples:
        step(5, "time to safe on a devnet")
        result.latency, result.latency_config = _latency(work / "devnet", args.latency_samples, quiet)
    if args.set_window:
        step(steps - 1, "one sequencer against a rotating set of three")
        result.sets = _sequencer_sets(work / "sets", args.set_window, args.set_txs, quiet)
    result.load_after = os.getloadavg()
    shutil.rmtree(work, ignore_errors=True)
    return result


def _latency(workdir: Path, samples: int, quiet: bool) -> tuple[list[float], str]:
    from eth_account import Account

    from hyperion.rollup.devnet import Devnet, DevnetOptions, rpc

    options = DevnetOptions(workdir=workdir, l1_port=0, sequencer_port=0, follower_port=0, challenge=False,
                            max_batch_delay=1.0)
    described = (f"L1 block {options.l1_block_time}s, L2 block {options.l2_block_time}s, batcher delay "
                 f"{options.max_batch_delay:g}s, L1 conf depth {options.sequencer_conf_depth}")
    net = Devnet(options)
    times = []
    try:
        net.start()
        account = Account.from_key(net.key(9))
        url = net.sequencer.url
        _log(f"latency: devnet up ({described})", quiet)
        deadline = time.monotonic() + 60
        while rpc(url, "optimism_syncStatus")["safe_l2"]["number"] < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        for i in range(samples):
            nonce = int(rpc(url, "eth_getTransactionCount", account.address, "pending"), 16)
            tx = {"type": 2, "chainId": net.options.l2_chain_id, "nonce": nonce, "to": Account.create().address,
                  "value": 1, "gas": 21000, "maxFeePerGas": 10 * GWEI, "maxPriorityFeePerGas": GWEI}
            started = time.perf_counter()
            tx_hash = rpc(url, "eth_sendRawTransaction", "0x" + account.sign_transaction(tx).raw_transaction.hex())
            # safe: in a block the follower derived from L1 (the sequencer's unsafe block may still be replaced)
            while not _safe_on(net.follower.url, tx_hash):
                if time.perf_counter() - started > 120:
                    raise RuntimeError("an L2 transaction did not become safe within 120s")
                time.sleep(0.05)
            times.append(time.perf_counter() - started)
            _log(f"latency sample {i + 1}: {times[-1]:.2f}s", quiet)
    finally:
        net.stop()
    return times, described


# -- 5. one sequencer against a rotating set of three ---------------------------------------------


@dataclass
class SetRun:
    """One devnet's sequencing as a user sees it: blocks and transactions arriving at a node."""

    sequencers: int
    window: float = 0.0
    blocks: int = 0
    txs: int = 0
    tx_seconds: float = 0.0
    failover_gap: Optional[float] = None  # seconds from the killed sequencer's slot (or the kill) to the next block

    @property
    def block_time(self) -> float:
        return self.window / self.blocks if self.blocks else 0.0

    @property
    def tx_per_s(self) -> float:
        return self.txs / self.tx_seconds if self.tx_seconds else 0.0


def _sequencer_sets(workdir: Path, window: float, txs: int, quiet: bool) -> list[SetRun]:
    from hyperion.rollup.devnet import Devnet, DevnetOptions
    from hyperion.sequencer.devnet import SequencerSetDevnet, SequencerSetOptions

    runs = []
    for count in (1, 3):
        options = DevnetOptions(workdir=workdir / f"set-{count}", l1_port=0, sequencer_port=0, follower_port=0,
                                challenge=False, follower=False, seq_window_size=30, max_batch_delay=2.0)
        net = Devnet(options) if count == 1 else SequencerSetDevnet(options, SequencerSetOptions(sequencers=count))
        try:
            net.start()
            runs.append(_measure_set(net, count, window, txs, quiet))
        finally:
            net.stop()
    return runs


def _measure_set(net, count: int, window: float, txs: int, quiet: bool) -> SetRun:
    from eth_account import Account

    from hyperion.rollup.devnet import rpc

    nodes = getattr(net, "sequencers", None) or [net.sequencer]
    urls = [node.url for node in nodes]
    measured = SetRun(count)

    def head(url: str) -> int:
        return int(rpc(url, "eth_blockNumber"), 16)

    def caught_up() -> bool:  # every node holds the block of a second ago: no catching up inside the window
        config = net.config
        return min(head(url) for url in urls) >= (time.time() - 1 - config.genesis_timestamp) // config.block_time

    deadline = time.monotonic() + 180
    while not caught_up() and time.monotonic() < deadline:
        time.sleep(0.2)
    # block time: blocks arriving at the first node over the window
    first, started = head(urls[0]), time.monotonic()
    time.sleep(window)
    measured.window, measured.blocks = time.monotonic() - started, head(urls[0]) - first
    # throughput: a burst of transfers sent to the first node (a set passes them on), until all are in blocks
    accounts = [Account.from_key(net.key(i)) for i in (8, 9)]
    signed = []
    for account in accounts:
        nonce = int(rpc(urls[0], "eth_getTransactionCount", account.address, "pending"), 16)
        for i in range(txs // len(accounts)):
            tx = {"type": 2, "chainId": net.options.l2_chain_id, "nonce": nonce + i, "to": Account.create().address,
                  "value": 1, "gas": 21000, "maxFeePerGas": 10 * GWEI, "maxPriorityFeePerGas": GWEI}
            signed.append((account.address, nonce + i, "0x" + account.sign_transaction(tx).raw_transaction.hex()))
    started = time.monotonic()
    for _address, _nonce, raw in signed:
        rpc(urls[0], "eth_sendRawTransaction", raw)
    last_nonces = {address: nonce for address, nonce, _ in signed}
    while any(int(rpc(urls[0], "eth_getTransactionCount", a, "latest"), 16) <= n for a, n in last_nonces.items()):
        if time.monotonic() - started > 300:
            raise RuntimeError("the benchmark's transactions were not all included within 300s")
        time.sleep(0.05)
    measured.txs, measured.tx_seconds = len(signed), time.monotonic() - started
    _log(f"{count} sequencer(s): {measured.blocks} blocks in {measured.window:.1f}s, {measured.txs} txs in "
         f"{measured.tx_seconds:.2f}s", quiet)
    if count > 1:
        measured.failover_gap = _failover_gap(net, urls)
        _log(f"{count} sequencers: fail-over after kill -9 took {measured.failover_gap:.2f}s", quiet)
    return measured


def _failover_gap(net, urls: list[str]) -> float:
    """kill -9 the sequencer that built the head; seconds until a live one's next block, from its slot or the
    kill (whichever is later)."""
    from hyperion.rollup.devnet import rpc

    length = net.set_options.epoch_length
    deadline = time.monotonic() + 60
    while True:  # a head inside an epoch, so that the killed sequencer's next block is its own to build
        block = rpc(urls[0], "eth_getBlockByNumber", "latest", False)
        if int(block["number"], 16) % length < length - 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    builder = bytes.fromhex(block["miner"][2:])
    victim = next(i for i in range(len(urls)) if net.sequencer_address(i) == builder)
    live = [url for i, url in enumerate(urls) if i != victim]
    net.sequencers[victim].kill()
    killed_at = time.time()
    last = max(int(rpc(url, "eth_blockNumber"), 16) for url in live)
    while True:
        if any(int(rpc(url, "eth_blockNumber"), 16) > last for url in live):
            arrived = time.time()
            break
        if time.time() - killed_at > 120:
            raise RuntimeError("no live sequencer built a block within 120s of the kill")
        time.sleep(0.05)
    return arrived - max(net.config.timestamp_of(last + 1), killed_at)


def _safe_on(url: str, tx_hash: str) -> bool:
    from hyperion.rollup.devnet import rpc

    receipt = rpc(url, "eth_getTransactionReceipt", tx_hash)
    if receipt is None:
        return False
    return int(receipt["blockNumber"], 16) <= rpc(url, "optimism_syncStatus")["safe_l2"]["number"]


# -- output --------------------------------------------------------------------------------------


def render(result: Result) -> str:
    lines = [f"load average before: {' '.join(f'{x:.2f}' for x in result.load_before)}; "
             f"machine: {result.machine.get('cpu')} x{result.machine.get('cpus')}, {result.machine.get('python')}", ""]
    header = ["workload", "L2 txs", "blocks", "seq tx/s", "bytes/tx raw", "bytes/tx brotli", "ratio brotli",
              "ratio zlib", "L1 gas/tx calldata", "L1 gas/tx blob tx", "blob gas/tx", "blobs"]
    rows = []
    for p in result.phases:
        rows.append([p.name, str(p.txs), str(p.blocks), f"{p.tx_per_s:,.0f}", f"{p.raw_bytes / p.txs:.1f}",
                     f"{p.brotli_bytes / p.txs:.1f}", f"{p.raw_bytes / p.brotli_bytes:.2f}x",
                     f"{p.raw_bytes / p.zlib_bytes:.2f}x", f"{p.calldata_gas / p.txs:,.0f}",
                     f"{p.blob_tx_gas / p.txs:,.0f}", f"{p.blob_gas / p.txs:,.0f}", str(p.blobs)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
    lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    lines += ["", f"sequencer: {result.sequencer_blocks_per_s:,.1f} blocks/s, {result.sequencer_tx_per_s:,.0f} tx/s "
                  "(CPU time of admitting transactions to the pool, building and committing blocks)"]
    for d in result.derivations:
        blocks_per_s, tx_per_s = d.blocks / d.cpu, d.txs / d.cpu
        lines.append(f"follower from {d.source}: {blocks_per_s:,.1f} blocks/s, {tx_per_s:,.0f} tx/s "
                     f"(CPU; {d.wall:.2f}s wall for {d.blocks} blocks) = {tx_per_s / result.sequencer_tx_per_s:.2f}x "
                     f"the sequencer; state root {'matches' if d.state_root_matches else 'DIFFERS'}")
    if result.latency:
        lines.append(f"L2 tx -> safe: median {statistics.median(result.latency):.2f}s, min {min(result.latency):.2f}s, "
                     f"max {max(result.latency):.2f}s over {len(result.latency)} samples ({result.latency_config})")
    for measured in result.sets:
        gap = "" if measured.failover_gap is None else f"; fail-over after kill -9: {measured.failover_gap:.2f}s"
        lines.append(f"{measured.sequencers} sequencer{'s, rotating' if measured.sequencers > 1 else ''}: block "
                     f"time {measured.block_time:.2f}s ({measured.blocks} blocks in {measured.window:.1f}s), "
                     f"{measured.tx_per_s:,.0f} tx/s ({measured.txs} transfers to one node, "
                     f"{measured.tx_seconds:.2f}s wall until all are in blocks){gap}")
    lines.append(f"load average after: {' '.join(f'{x:.2f}' for x in result.load_after)}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="hyperion bench rollup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--txs", type=int, default=2000, help="transactions per workload (default 2000)")
    parser.add_argument("--block-txs", type=int, default=250, help="transactions per L2 block (default 250)")
    parser.add_argument("--latency-samples", type=int, default=5,
                        help="L2 tx -> safe samples on a devnet (default 5; 0 skips the devnet)")
    parser.add_argument("--set-window", type=float, default=20.0, metavar="SECONDS",
                        help="block time window of the one-sequencer / three-sequencer devnets (default 20; "
                             "0 skips them)")
    parser.add_argument("--set-txs", type=int, default=200, metavar="N",
                        help="transfers of the throughput burst on those devnets (default 200)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.set_window < 0 or args.set_txs < 2:
        parser.error("--set-window must be >= 0 and --set-txs >= 2")
    with Progress("bench rollup", animate=False) as bar:
        result = run(args, on_progress=bar.report)
    if args.json:
        data = asdict(result)
        for phase, raw in zip(result.phases, data["phases"]):
            raw["tx_per_s"] = phase.tx_per_s
        for measured, raw in zip(result.sets, data["sets"]):
            raw.update(block_time=measured.block_time, tx_per_s=measured.tx_per_s)
        print(json.dumps(data))
    else:
        print(render(result))
    return 0 if all(d.state_root_matches for d in result.derivations) else 1
