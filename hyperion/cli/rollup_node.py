"""``hyperion node --rollup CONFIG --role sequencer|follower --l1-rpc-url URL``: a rollup node.

The rollup options of ``hyperion node`` live here (``add_rollup_arguments``
is called by ``hyperion.cli.node``), and so does running one (``run``).
With ``--sequencer-key`` the node is one member of a staked sequencer set
(the rollup config's ``sequencer_staking`` and ``sequencer_schedule``, see docs/sequencer.md): it builds
only in its turn of the L1 schedule (``hyperion.sequencer.rotation``), its
blocks pay its staking address, its batcher posts with that key, and it
imports the other members' blocks from their feeds (``--peer URL``, repeated).

Keys (``--batcher-key``, ``--proposer-key``, ``--challenger-key``,
``--resolver-key``, ``--sequencer-key``) are 32-byte hex, ``env:NAME`` or ``file:PATH``, so they
need not appear in the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import time
from pathlib import Path
from typing import Optional

from hyperion.cli.common import EXIT_OK, CommandFailed, UsageError, configure_logging
from hyperion.cli.serving import start_serving

DEFAULT_ROLLUP_DIR = Path.home() / ".hyperion" / "rollup"


def add_rollup_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "rollup", "run as a node of a rollup settling on an L1 (see docs/rollup.md); the chain flags above "
                  "do not apply, the rollup config fixes the chain")
    group.add_argument("--rollup", type=Path, metavar="CONFIG", help="the rollup config (rollup.json)")
    group.add_argument("--role", choices=("sequencer", "follower"), default="follower",
                       help="sequencer: builds, batches and proposes; follower: derives from L1 alone (default)")
    group.add_argument("--l1-rpc-url", metavar="URL", help="the L1 JSON-RPC endpoint")
    group.add_argument("--l1-beacon-url", metavar="URL",
                       help="beacon API endpoint serving /eth/v1/beacon/blobs (default: the L1 RPC URL, as anvil)")
    group.add_argument("--blob-block-id", choices=("number", "slot"), default="number",
                       help="how blobs are requested: by execution block number (anvil) or by slot (beacon node)")
    group.add_argument("--sequencer-url", metavar="URL",
                       help="follower: where eth_sendRawTransaction is forwarded")
    group.add_argument("--follow-unsafe", action="store_true",
                       help="follower: also import the sequencer's unsafe blocks over its WebSocket feed "
                            "(low latency; what L1 derives still wins)")
    group.add_argument("--peer", action="append", default=[], metavar="URL",
                       help="another sequencer of the set (repeat the flag): import its unsafe blocks over its "
                            "WebSocket feed")
    group.add_argument("--sequencer-key", metavar="KEY",
                       help="sequencer: this member's staking key in the rollup's sequencer set (builds in its "
                            "turn of the L1 schedule; also the batcher key unless --batcher-key is given)")
    group.add_argument("--batcher-key", metavar="KEY", help="sequencer: the L1 key of the authorized batcher")
    group.add_argument("--proposer-key", metavar="KEY", help="sequencer: the L1 key of the output proposer")
    group.add_argument("--data-availability", choices=("auto", "blobs", "calldata"), default="auto",
                       help="batches as blobs, as calldata, or whichever is cheaper now (default auto)")
    group.add_argument("--max-batch-delay", type=float, default=4.0, metavar="SECONDS",
                       help="post a batch at the latest this long after its first block (default 4)")
    group.add_argument("--challenge", action="store_true",
                       help="challenge wrong output roots automatically (needs --challenger-key, bonded on L1)")
    group.add_argument("--challenger-key", metavar="KEY", help="the L1 key that pays challenger bonds")
    group.add_argument("--resolver-key", metavar="KEY",
                       help="vote on disputes' final step as a member of the resolver set")
    group.add_argument("--ha", metavar="etcd://HOST:PORT[,HOST:PORT...]",
                       help="sequencer: one replica of a highly available sequencer; the etcd cluster elects the "
                            "replica that sequences, the others apply its committed blocks (docs/sequencer.md)")
    group.add_argument("--ha-group", metavar="NAME",
                       help="the HA group's name in etcd: the replicas of one sequencer share it (default l2-CHAINID)")
    group.add_argument("--ha-member", metavar="ID",
                       help="this replica's name in the group (default HOSTNAME-PID)")
    group.add_argument("--ha-ttl", type=int, default=None, metavar="SECONDS",
                       help="lease TTL: a dead leader is replaced after about this long (default 4)")
    group.add_argument("--ha-rpc-url", metavar="URL",
                       help="this replica's JSON-RPC URL as the other replicas reach it: while it leads, they "
                            "forward the transactions they receive to it (default http://HOST:PORT)")
    group.add_argument("--report-equivocation", metavar="KEY",
                       help="staked sequencer set, with --follow-unsafe: prove on L1 any two blocks one sequencer "
                            "signed for one height (this L1 key pays the gas and earns the reporter's share)")


def parse_key(value: Optional[str], what: str) -> Optional[bytes]:
    """A private key given as hex, ``env:NAME`` or ``file:PATH``."""
    if not value:
        return None
    if value.startswith("env:"):
        text = os.environ.get(value[4:])
        if text is None:
            raise UsageError(f"{what}: environment variable {value[4:]} is not set")
    elif value.startswith("file:"):
        try:
            text = Path(value[5:]).read_text().strip()
        except OSError as exc:
            raise UsageError(f"{what}: {exc}") from None
    else:
        text = value
    text = text.strip().removeprefix("0x")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise UsageError(f"{what} must be a 32-byte hex private key")
    return key


def run(args: argparse.Namespace) -> int:
    from hyperion.rollup.config import InvalidRollupConfig, RollupConfig
    from hyperion.rollup.node import RollupNode, RollupOptions

    configure_logging("warning" if args.silent else args.log_level, args.log_format)
    log = logging.getLogger("hyperion.node")
    if not args.l1_rpc_url:
        raise UsageError("--rollup needs --l1-rpc-url")
    if args.challenge and not args.challenger_key:
        raise UsageError("--challenge needs --challenger-key (the bonded L1 key)")
    if args.ha:
        from hyperion.sequencer.ha import HAConfigError, parse_etcd_url

        if args.role != "sequencer":
            raise UsageError("--ha is for --role sequencer (the replicas of one sequencer)")
        try:
            parse_etcd_url(args.ha)
        except HAConfigError as exc:
            raise UsageError(str(exc)) from None
    if not args.ha and (args.ha_group or args.ha_member or args.ha_ttl is not None or args.ha_rpc_url):
        raise UsageError("--ha-group, --ha-member, --ha-ttl and --ha-rpc-url need --ha etcd://HOST:PORT")
    try:
        config = RollupConfig.load(args.rollup)
    except InvalidRollupConfig as exc:
        raise UsageError(str(exc)) from None
    options = RollupOptions(
        role=args.role, l1_rpc_url=args.l1_rpc_url, l1_beacon_url=args.l1_beacon_url,
        blob_block_id=args.blob_block_id, sequencer_url=args.sequencer_url,
        batcher_key=parse_key(args.batcher_key, "--batcher-key"),
        proposer_key=parse_key(args.proposer_key, "--proposer-key"),
        challenger_key=parse_key(args.challenger_key, "--challenger-key") if args.challenge else None,
        resolver_key=parse_key(args.resolver_key, "--resolver-key"),
        data_availability=args.data_availability, max_batch_delay=args.max_batch_delay,
        follow_unsafe=args.follow_unsafe, peers=tuple(args.peer))
    sequencer_key = parse_key(args.sequencer_key, "--sequencer-key")
    if sequencer_key is not None:
        if args.role != "sequencer":
            raise UsageError("--sequencer-key needs --role sequencer")
        options.batcher_key = options.batcher_key or sequencer_key
    _staked_set_hooks(config, options, args)
    from hyperion.ai.chainstore import ai_precompiles_variant

    config.fork_hook = ai_precompiles_variant()  # model bytes come from the L2 state every role derives
    if args.role == "follower" and not args.sequencer_url:
        log.warning("no --sequencer-url: eth_sendRawTransaction will be refused by this follower's empty pool")
    data_dir: Optional[Path] = None
    if not args.in_memory:
        data_dir = (args.data_dir or DEFAULT_ROLLUP_DIR / f"{config.l2_chain_id}-{args.role}").expanduser()
        data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        node = RollupNode(config, options, data_dir)
    except (OSError, ValueError) as exc:
        raise CommandFailed(f"cannot open the chain: {exc}") from None
    chain = node.chain
    if sequencer_key is not None:
        _join_the_sequencer_set(config, options, node, sequencer_key)
    elif options.block_verifier is not None:
        _check_signers_against_the_schedule(config, options, node)
    if args.ha:
        _join_ha_group(node, config, args)
    log.info("rollup node opened role=%s chain_id=%d head=%d safe=%d storage=%s seconds=%.2f", args.role,
             chain.chain_id, chain.head().number, chain.safe_number, data_dir or "memory",
             time.monotonic() - started)
    node.start()
    try:
        asyncio.run(_serve(node, args))
    except OSError as exc:
        raise CommandFailed(str(exc)) from None
    finally:
        node.close()
        log.info("stopped")
    return EXIT_OK


def _join_ha_group(node, config, args: argparse.Namespace) -> None:
    """Make ``node`` a replica of an HA sequencer: etcd's leader builds, the others apply its blocks."""
    from hyperion.sequencer.ha import DEFAULT_TTL, Both, EtcdLeadership, HAConfigError

    try:
        ha = EtcdLeadership(node.chain, args.ha, args.ha_group or f"l2-{config.l2_chain_id}",
                            args.ha_member or f"{socket.gethostname()}-{os.getpid()}",
                            ttl=DEFAULT_TTL if args.ha_ttl is None else args.ha_ttl, l1_rpc_url=args.l1_rpc_url,
                            block_time=config.block_time, rpc_url=args.ha_rpc_url or _own_rpc_url(args))
    except HAConfigError as exc:
        node.close()
        raise UsageError(str(exc)) from None
    options = node.options
    # another gate (rotation) first: HA commits to etcd only blocks that gate accepted
    options.leadership = ha if options.leadership is None else Both(options.leadership, ha)
    options.may_post = ha.is_leader
    options.companions = (*options.companions, ha.run)
    node.chain.rollup_status = lambda: dict(node.status(), ha=ha.status())  # optimism_syncStatus shows it


def _own_rpc_url(args: argparse.Namespace) -> Optional[str]:
    if not args.port:
        return None  # a port chosen at start is not known here: no forwarding to this replica
    host = socket.gethostname() if args.host in ("0.0.0.0", "::", "") else args.host
    return f"http://{host}:{args.port}"


def _staked_set_hooks(config, options, args: argparse.Namespace) -> None:
    """Signing and signature checks when the rollup config names a SequencerStaking contract."""
    from hyperion.sequencer.signing import (ActiveSequencers, BlockDomain, BlockSigner, SignatureVerifier,
                                            staking_address)

    try:
        staking = staking_address(config)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if staking is None:
        if args.report_equivocation:
            raise UsageError("--report-equivocation needs a rollup config that names sequencer_staking")
        return
    domain = BlockDomain.of(config)
    if args.role == "sequencer":
        key = parse_key(args.sequencer_key, "--sequencer-key") or options.batcher_key
        if key is None:
            raise UsageError("a sequencer of a staked set needs --sequencer-key (or --batcher-key) to sign its blocks")
        options.block_signer = BlockSigner(domain, key)
    fed = args.peer if args.role == "sequencer" else args.follow_unsafe  # blocks of others come in
    if fed:
        watcher = None
        reporter = parse_key(args.report_equivocation, "--report-equivocation")
        if reporter is not None:
            from hyperion.sequencer.equivocation import EquivocationWatcher

            watcher = EquivocationWatcher(args.l1_rpc_url, staking, reporter, config.l1_chain_id)
        options.block_verifier = SignatureVerifier(domain, ActiveSequencers(args.l1_rpc_url, staking), watcher)
    elif args.report_equivocation:
        raise UsageError("--report-equivocation watches the unsafe feed: it needs --follow-unsafe (or --peer)")


def _join_the_sequencer_set(config, options, node, key: bytes) -> None:
    """Gate the node's sequencer on its turn in the staked schedule; its blocks pay its staking address."""
    from eth_account import Account
    from web3 import Web3

    from hyperion.sequencer.rotation import RotationLeadership, SequencerSet
    from hyperion.sequencer.staking import SequencerStakingClient

    try:
        sequencer_set = SequencerSet.from_config(config)
    except ValueError as exc:
        node.close()
        raise UsageError(str(exc)) from None
    if sequencer_set is None:
        node.close()
        raise UsageError("--sequencer-key: the rollup config names no sequencer_staking contract and schedule")
    me = bytes.fromhex(Account.from_key(key).address[2:])
    w3 = Web3(Web3.HTTPProvider(options.l1_rpc_url, request_kwargs={"timeout": 30}))
    leadership = RotationLeadership(config, node.chain, SequencerStakingClient(w3, sequencer_set.staking),
                                    sequencer_set.params, me)
    options.leadership, options.fork_choice, options.coinbase = leadership, leadership.keep_ours, me
    if options.block_verifier is not None:  # peers' blocks: signed by the member whose turn it was
        from hyperion.sequencer.signing import ScheduledSequencers

        options.block_verifier.policy = ScheduledSequencers(leadership)
    logging.getLogger("hyperion.node").info("sequencer set member 0x%s (staking %s, epoch %d blocks, takeover "
                                            "after %ds)", me.hex(), sequencer_set.staking,
                                            sequencer_set.params.epoch_length, sequencer_set.params.takeover_seconds)


def _check_signers_against_the_schedule(config, options, node) -> None:
    """A follower of a rotating set accepts a fed block only from the member whose turn it was (not any staker)."""
    from web3 import Web3

    from hyperion.sequencer.rotation import SCHEDULE_KEY, RotationLeadership, SequencerSet
    from hyperion.sequencer.signing import ScheduledSequencers
    from hyperion.sequencer.staking import SequencerStakingClient

    if config.extra.get(SCHEDULE_KEY) is None:
        return  # no schedule: any active staker may sign
    try:
        sequencer_set = SequencerSet.from_config(config)
    except ValueError as exc:
        node.close()
        raise UsageError(str(exc)) from None
    w3 = Web3(Web3.HTTPProvider(options.l1_rpc_url, request_kwargs={"timeout": 30}))
    schedule = RotationLeadership(config, node.chain, SequencerStakingClient(w3, sequencer_set.staking),
                                  sequencer_set.params, bytes(20))  # reads the schedule, never builds
    options.block_verifier.policy = ScheduledSequencers(schedule)


async def _serve(node, args: argparse.Namespace) -> None:
    from hyperion.rpc.server import RpcServer

    server = RpcServer(node.chain, args.host, args.port)
    view = None
    if not args.no_explorer:
        from hyperion.explorer.rollup_pages import rollup_view

        view = rollup_view(args.l1_rpc_url)
    stop = await start_serving(server, node.chain, args, rollup_view=view, banner=lambda port: (
        f"Hyperion rollup {args.role}: L2 chain {node.chain.chain_id}, L1 {args.l1_rpc_url}"))
    try:
        await stop.wait()
    finally:
        logging.getLogger("hyperion.node").info("shutting down")
        await server.stop()
