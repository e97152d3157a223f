"""``hyperion sequencer ...``: a staked sequencer's duties beside its node (attest on disputes, pay block rewards).

Keys are 32-byte hex, ``env:NAME`` or ``file:PATH`` (as ``hyperion node
--rollup``'s), so they need not appear in the process list.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from hyperion.cli.common import EXIT_OK, UsageError, add_command, add_rpc_options, configure_logging, rpc_url


def register(commands: argparse._SubParsersAction) -> None:
    group = add_command(commands, "sequencer", help="a staked sequencer's duties: dispute attestations, rewards")
    subcommands = group.add_subparsers(dest="sequencer_cmd", required=True, metavar="COMMAND")

    attest = add_command(
        subcommands, "attest", run_attest, help="attest on output disputes that reach their last step (StakeResolver)",
        description="Watch the OutputOracle's disputes; when one has bisected to a single L2 block, compare both "
                    "parties' roots with the output root of that block on this sequencer's own node (its safe "
                    "chain, derived from L1) and attest with the staking key. Runs until stopped (or --once).")
    _common(attest)
    attest.add_argument("--resolver", required=True, metavar="ADDRESS", help="the StakeResolver contract on L1")
    attest.add_argument("--staking-key", required=True, metavar="KEY",
                        help="the sequencer's staking key (hex, env:NAME or file:PATH)")
    attest.add_argument("--interval", type=float, default=2.0, help="seconds between looks at L1 (default 2)")
    attest.add_argument("--once", action="store_true", help="look once, attest where possible, exit")


def _common(parser: argparse.ArgumentParser) -> None:
    add_rpc_options(parser)  # this sequencer's own node
    parser.add_argument("--l1-rpc-url", required=True, metavar="URL", help="the L1 JSON-RPC endpoint")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")


def _l1(url: str):
    from web3 import Web3

    from hyperion.cli.common import check_rpc_url

    return Web3(Web3.HTTPProvider(check_rpc_url(url), request_kwargs={"timeout": 60}))


def _node_rpc(url: str):
    from hyperion.rollup.devnet import rpc

    return lambda method, *params: rpc(url, method, *params)


def _stopper():
    """A stop() that turns true on SIGINT/SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def run_attest(args: argparse.Namespace) -> int:
    from eth_account import Account
    from web3 import Web3

    from hyperion.cli.rollup_node import parse_key
    from hyperion.sequencer.attestation import Attestor, StakeResolverClient, node_output_root

    configure_logging(args.log_level, "text")
    if args.interval <= 0:
        raise UsageError("--interval must be positive")
    if not Web3.is_address(args.resolver):
        raise UsageError(f"--resolver: not an address: {args.resolver}")
    account = Account.from_key(parse_key(args.staking_key, "--staking-key"))
    resolver = StakeResolverClient(_l1(args.l1_rpc_url), args.resolver, account)
    attestor = Attestor(resolver, node_output_root(_node_rpc(rpc_url(args))))
    logging.getLogger("hyperion.sequencer.attestation").info(
        "attesting as %s on %s's disputes", account.address, resolver.view("oracle"))
    if args.once:
        attestor.tick()
        return EXIT_OK
    stop = _stopper()
    attestor.run(args.interval, stop.is_set)
    return EXIT_OK
