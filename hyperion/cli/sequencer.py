"""``hyperion sequencer ...``: a staked sequencer's duties beside its node (attest on disputes, pay block rewards).

Keys are 32-byte hex, ``env:NAME`` or ``file:PATH`` (as ``hyperion node
--rollup``'s), so they need not appear in the process list.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from hyperion.cli.common import (
    EXIT_OK, CommandFailed, UsageError, _connection_reason, add_command, add_rpc_options, configure_logging,
    positive_int, rpc_url)


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

    reward = add_command(
        subcommands, "reward", run_reward, help="pay block rewards on L1 for each epoch once it is safe",
        description="As SequencerStaking's rewarder: once an epoch of L2 blocks is safe on the node (derived from "
                    "L1), count its blocks by builder (the coinbase) and credit each staked builder rewardPerBlock "
                    "per block on L1; epochs in order, each once. Prints each epoch's blocks and fee split (base "
                    "fees to the Holders Mining vault, priority fees to the builders).")
    _common(reward)
    reward.add_argument("--staking", required=True, metavar="ADDRESS", help="the SequencerStaking contract on L1")
    reward.add_argument("--rewarder-key", required=True, metavar="KEY",
                        help="the key governance named rewarder (hex, env:NAME or file:PATH)")
    reward.add_argument("--epoch-length", required=True, type=positive_int, metavar="BLOCKS",
                        help="L2 blocks per epoch (the schedule's)")
    reward.add_argument("--interval", type=float, default=5.0, help="seconds between looks (default 5)")
    reward.add_argument("--once", action="store_true", help="pay every epoch that is safe now, then exit")


def _common(parser: argparse.ArgumentParser) -> None:
    add_rpc_options(parser)  # this sequencer's own node
    parser.add_argument("--l1-rpc-url", required=True, metavar="URL", help="the L1 JSON-RPC endpoint")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")


def _l1(url: str):
    """web3 on the L1, refused at once (one clear line) when it cannot be reached."""
    from web3 import Web3

    from hyperion.cli.common import check_rpc_url

    w3 = Web3(Web3.HTTPProvider(check_rpc_url(url), request_kwargs={"timeout": 60}))
    try:
        w3.eth.chain_id
    except Exception as exc:  # noqa: BLE001 - any failure here means: no usable L1 at that URL
        raise CommandFailed(f"cannot reach the L1 at {url}: {_connection_reason(exc)}") from None
    return w3


def _node_rpc(url: str):
    """JSON-RPC to this sequencer's own rollup node (it must answer optimism_syncStatus)."""
    from hyperion.rollup.devnet import rpc

    try:
        rpc(url, "optimism_syncStatus")
    except Exception as exc:  # noqa: BLE001 - any failure here means: no rollup node at that URL
        reason = str(exc) if isinstance(exc, RuntimeError) else _connection_reason(exc)  # RuntimeError: its answer
        raise CommandFailed(f"cannot use the rollup node at {url}: {reason}") from None
    return lambda method, *params: rpc(url, method, *params)


def _contract(w3, address: str, option: str) -> str:
    from web3 import Web3

    if not Web3.is_address(address):
        raise UsageError(f"{option}: not an address: {address}")
    if not w3.eth.get_code(Web3.to_checksum_address(address)):
        raise UsageError(f"{option}: no contract at {address} on the L1")
    return address


def _prepare(args: argparse.Namespace, key: str, key_option: str, contract: str, contract_option: str):
    """Logging, the signing account, web3 on the L1 and the checked contract address; all refused early."""
    from eth_account import Account

    from hyperion.cli.rollup_node import parse_key

    configure_logging(args.log_level, "text")
    if args.interval <= 0:
        raise UsageError("--interval must be positive")
    account = Account.from_key(parse_key(key, key_option))
    l1 = _l1(args.l1_rpc_url)
    return account, l1, _contract(l1, contract, contract_option)


def _until_stopped(duty, interval: float) -> int:
    """Run ``duty.run`` until SIGINT or SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    duty.run(interval, stop.is_set)
    return EXIT_OK


def run_attest(args: argparse.Namespace) -> int:
    from hyperion.sequencer.attestation import Attestor, StakeResolverClient, node_output_root

    account, l1, address = _prepare(args, args.staking_key, "--staking-key", args.resolver, "--resolver")
    resolver = StakeResolverClient(l1, address, account)
    attestor = Attestor(resolver, node_output_root(_node_rpc(rpc_url(args))))
    logging.getLogger("hyperion.sequencer.attestation").info(
        "attesting as %s on %s's disputes", account.address, resolver.view("oracle"))
    if args.once:
        attestor.tick()
        return EXIT_OK
    return _until_stopped(attestor, args.interval)


def run_reward(args: argparse.Namespace) -> int:
    from hyperion.sequencer.rewards import Rewarder
    from hyperion.sequencer.staking import SequencerStakingClient

    account, l1, address = _prepare(args, args.rewarder_key, "--rewarder-key", args.staking, "--staking")
    rewarder = Rewarder(SequencerStakingClient(l1, address, account), _node_rpc(rpc_url(args)), args.epoch_length)
    if not args.once:
        return _until_stopped(rewarder, args.interval)
    while rewarder.pay_next() is not None:
        pass
    for epoch in rewarder.paid:
        builders = ", ".join(f"{b}: {n} blocks, {epoch.priority_fees_by_builder[b]} wei priority fees"
                             for b, n in sorted(epoch.blocks_by_builder.items()))
        print(f"blocks {epoch.first}..{epoch.last}: {builders}; {epoch.transactions} transactions, "
              f"{epoch.base_fees} wei base fees to the vault")
    return EXIT_OK
