"""``hyperion devnet``: anvil as L1, the rollup's L1 contracts, a sequencer and a follower; Ctrl-C stops all.

``--sequencers N`` (N > 1): a staked, rotating set of N sequencers instead of one (hyperion.sequencer.devnet).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
from pathlib import Path

from hyperion.cli.common import EXIT_OK, CommandFailed, UsageError, add_command, port, positive_int


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "devnet", run,
        help="a local rollup: anvil L1, contracts, sequencer and follower",
        description="Start a whole rollup on this machine: anvil as the L1, the rollup's L1 contracts, "
                    "a sequencer and a follower (with a challenger). Prints every URL; Ctrl-C stops everything.",
    )
    parser.add_argument("--workdir", type=Path, metavar="DIR",
                        help="data dirs, logs and rollup.json (default: a new temporary directory)")
    parser.add_argument("--l1-port", type=port, default=8545, help="anvil's port (default 8545, 0 = any free)")
    parser.add_argument("--sequencer-port", type=port, default=9545, help="sequencer RPC port (default 9545)")
    parser.add_argument("--follower-port", type=port, default=9546, help="follower RPC port (default 9546)")
    parser.add_argument("--l1-block-time", type=positive_int, default=2, help="seconds per L1 block (default 2)")
    parser.add_argument("--l2-block-time", type=positive_int, default=1,
                        help="seconds per L2 block (default 1; keep it below the L1 block time, as on mainnet)")
    parser.add_argument("--chain-id", type=positive_int, default=901, help="L2 chain id (default 901)")
    parser.add_argument("--data-availability", choices=("auto", "blobs", "calldata"), default="auto",
                        help="how the batcher posts (default auto: blobs unless calldata is cheaper)")
    parser.add_argument("--no-follower", action="store_true", help="start only the sequencer(s)")
    parser.add_argument("--sequencers", type=int, default=1, metavar="N",
                        help="N > 1: a staked set of N sequencers (unequal stakes in SequencerStaking on L1) that "
                             "rotate by the L1 schedule and take over from each other (default 1)")
    parser.add_argument("--epoch-length", type=int, default=8, metavar="BLOCKS",
                        help="with --sequencers: L2 blocks per sequencer epoch (default 8)")
    parser.add_argument("--takeover-seconds", type=int, default=4, metavar="T",
                        help="with --sequencers: seconds a silent sequencer's block waits before its backup "
                             "builds it (default 4)")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")


def run(args: argparse.Namespace) -> int:
    from hyperion.ai.chainstore import model_store_genesis
    from hyperion.rollup.devnet import Devnet, DevnetOptions
    from hyperion.tools.progress import Progress

    if args.l2_block_time >= args.l1_block_time:
        print("warning: an L2 block time not below the L1 block time leaves a sequencer that fell behind no way "
              "to catch up with its L1 origin (mainnet: 2s on 12s)", file=sys.stderr)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hyperion-devnet-"))
    options = DevnetOptions(workdir=workdir, l1_port=args.l1_port, sequencer_port=args.sequencer_port,
                            follower_port=args.follower_port, l1_block_time=args.l1_block_time,
                            l2_block_time=args.l2_block_time, l2_chain_id=args.chain_id,
                            data_availability=args.data_availability, follower=not args.no_follower,
                            log_level=args.log_level, l2_alloc=model_store_genesis())
    if args.sequencers < 1:
        raise UsageError("--sequencers must be at least 1")
    if args.sequencers == 1:
        devnet = Devnet(options)
    else:
        from hyperion.sequencer.devnet import SequencerSetDevnet, SequencerSetOptions
        from hyperion.sequencer.schedule import ScheduleParams

        set_options = SequencerSetOptions(sequencers=args.sequencers, epoch_length=args.epoch_length,
                                          takeover_seconds=args.takeover_seconds)
        try:
            set_options.stake_amounts()
            ScheduleParams(args.epoch_length, set_options.seed_lookback, args.takeover_seconds)
        except ValueError as exc:  # ScheduleError is one
            raise UsageError(str(exc)) from None
        devnet = SequencerSetDevnet(options, set_options)
    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            with Progress("devnet") as bar:
                devnet.start(on_progress=bar.report)
        except RuntimeError as exc:
            raise CommandFailed(str(exc)) from None
        print(devnet.summary(), flush=True)
        print("\nRunning. Ctrl-C stops everything.", flush=True)
        while not stop.wait(1.0):
            for node in devnet.nodes():
                if node.process.poll() is not None:
                    raise CommandFailed(f"the {node.name} exited (status {node.process.returncode}); "
                                        f"see {node.log_path}")
    finally:
        print("stopping...", flush=True)
        devnet.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("stopped", flush=True)
    return EXIT_OK
