"""The ``hyperion`` command line.

Each subcommand registers itself with one ``_add_<name>_command`` function
and runs through its ``_run_<name>`` handler, which returns the exit status:
0 success, 1 failures found, 2 bad usage. Heavy modules are imported by the
handlers, not here, so ``hyperion --help`` stays fast.

Subcommands today: ``statetest`` (conformance fixtures) and ``bench``
(performance harnesses). A command that lives in its own module with a
``main(argv) -> int`` (as ``bench vm`` does) is wired with
``_add_delegating_command``; the node and contract tooling are added that way.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Optional, Sequence

from hyperion import __version__

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_USAGE = 2

# `hyperion bench <target>` -> (module exposing ``main(argv) -> int``, help)
BENCH_TARGETS = {
    "vm": ("hyperion.bench.vm", "EVM execution speed"),
    "db": ("hyperion.bench.db", "state database (MetisDB) vs py-trie: update+commit, reads, proofs"),
    "ai": ("hyperion.bench.ai", "inference precompile: inferences per second and gas per inference"),
    "rpc": ("hyperion.bench.rpc", "JSON-RPC throughput: signed ETH and ERC-20 transfers per second"),
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


# -- statetest ------------------------------------------------------------------


def _add_statetest_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "statetest",
        help="run GeneralStateTests-format fixtures against the EVM",
        description=(
            "Run state-test fixtures (files, or folders searched recursively for *.json). "
            "Prints one line per case and a closing 'N passed, M failed[, K skipped]' line; "
            "exits 0 only when no case failed."
        ),
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="fixture file or folder")
    parser.add_argument("--fork", metavar="NAME",
                        help="run only this fork's posts (default: every supported fork)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per case on stdout (the tally goes to stderr)")
    parser.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                        help="worker processes (default 1)")
    parser.add_argument("--filter", metavar="SUBSTR",
                        help="only tests whose 'file::name' contains SUBSTR")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="show tracebacks of executor crashes")
    parser.add_argument("--list-forks", action="store_true", help="list the supported forks and exit")
    parser.set_defaults(handler=_run_statetest, parser=parser)


def _run_statetest(args: argparse.Namespace) -> int:
    from hyperion.tools.statetest import NoFixturesFound, find_fixture_files, run_files
    from hyperion.tools.statetest_report import Reporter
    from hyperion.vm.forks import FORKS, UnknownFork, get_fork

    if args.list_forks:
        print("\n".join(FORKS))
        return EXIT_OK
    if not args.paths:
        args.parser.error("at least one PATH is required (or --list-forks)")
    fork = None
    if args.fork is not None:
        try:
            fork = get_fork(args.fork)
        except UnknownFork as exc:
            args.parser.error(str(exc))
    try:
        files = find_fixture_files(args.paths)
    except NoFixturesFound as exc:
        args.parser.error(str(exc))
    reporter = Reporter(sys.stdout, sys.stderr, as_json=args.json, verbose=args.verbose,
                        total_files=len(files))
    for results in run_files(files, fork=fork, name_filter=args.filter, jobs=args.jobs):
        reporter.report_file(results)
    reporter.finish()
    return EXIT_FAILURES if reporter.failed else EXIT_OK


# -- blocktest -------------------------------------------------------------------


def _add_blocktest_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "blocktest",
        help="run BlockchainTests fixtures through block import",
        description=(
            "Run blockchain-test fixtures (ethereum/tests BlockchainTests and execution-spec-tests "
            "blockchain_tests; files, or folders searched recursively for *.json) through the block "
            "import path. Prints one line per test and a closing 'N passed, M failed[, K skipped]' "
            "line; exits 0 only when no test failed."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="fixture file or folder")
    parser.add_argument("--fork", metavar="NAME",
                        help="run only tests of this network, or transitions into this fork")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per test on stdout (the tally goes to stderr)")
    parser.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N",
                        help="worker processes (default 1)")
    parser.add_argument("--filter", metavar="SUBSTR",
                        help="only tests whose 'file::name' contains SUBSTR")
    parser.add_argument("--verbose", "-v", action="store_true", help="show tracebacks of crashes")
    parser.set_defaults(handler=_run_blocktest, parser=parser)


def _run_blocktest(args: argparse.Namespace) -> int:
    from hyperion.chain.schedule import UnsupportedFork, canonical_fork_name
    from hyperion.tools.blocktest import run_files
    from hyperion.tools.statetest import NoFixturesFound, find_fixture_files
    from hyperion.tools.statetest_report import Reporter

    if args.fork is not None:
        try:
            canonical_fork_name(args.fork)
        except UnsupportedFork as exc:
            args.parser.error(str(exc))
    try:
        files = find_fixture_files(args.paths)
    except NoFixturesFound as exc:
        args.parser.error(str(exc))
    reporter = Reporter(sys.stdout, sys.stderr, as_json=args.json, verbose=args.verbose,
                        total_files=len(files))
    for results in run_files(files, fork=args.fork, name_filter=args.filter, jobs=args.jobs):
        reporter.report_file(results)
    reporter.finish()
    return EXIT_FAILURES if reporter.failed else EXIT_OK


# -- commands implemented elsewhere ----------------------------------------------

LAZAI_COMMANDS = {
    "contracts": "system contracts of this chain: names, addresses, ABIs (JSON)",
    "dat": "Data Anchoring Tokens (ERC-8028): classes, mint, usage, revenue",
    "idao": "iDAOs: register, members, proposals, votes",
    "stake": "Holders Mining: stake METIS, claim fee revenue, unstake",
    "lazai-genesis": "write a genesis file with the LazAI predeploys",
}


def _add_delegating_command(commands: argparse._SubParsersAction, name: str, module_name: str,
                            summary: str, label: str, pass_name: bool = False) -> None:
    """A command run by ``module_name.main(argv) -> int``, imported only when used.

    The command has no options of its own (no -h, an unusable prefix
    character): every argument after it, ``--help`` included, goes to the
    module untouched.
    """
    parser = commands.add_parser(name, help=summary, add_help=False, prefix_chars="\0")
    parser.add_argument("delegated_args", nargs=argparse.REMAINDER)
    parser.set_defaults(handler=_run_delegated, module_name=module_name, label=label,
                        leading_args=[name] if pass_name else [])


def _run_delegated(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module(args.module_name)
    except ModuleNotFoundError as exc:
        if exc.name == args.module_name:
            print(f"hyperion {args.label}: {args.module_name} is not part of this checkout", file=sys.stderr)
        else:
            print(f"hyperion {args.label}: {args.module_name} needs {exc.name!r}, which is not "
                  "installed (optional dependencies are listed in pyproject.toml)", file=sys.stderr)
        return EXIT_USAGE
    entry: Optional[Callable[[list[str]], int]] = getattr(module, "main", None)
    if entry is None:
        print(f"hyperion {args.label}: {args.module_name} has no main(argv)", file=sys.stderr)
        return EXIT_USAGE
    return int(entry([*args.leading_args, *args.delegated_args]) or 0)


def _add_bench_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "bench",
        help="performance benchmarks",
        description="Run a benchmark harness; everything after TARGET goes to the harness.",
    )
    targets = parser.add_subparsers(metavar="TARGET", required=True)
    for target, (module_name, summary) in BENCH_TARGETS.items():
        _add_delegating_command(targets, target, module_name, summary, label=f"bench {target}")


# -- entry point ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperion",
        description="Hyperion: an Ethereum-compatible execution client in Python.",
    )
    parser.add_argument("--version", action="version", version=f"hyperion {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_statetest_command(commands)
    _add_blocktest_command(commands)
    _add_bench_command(commands)
    _add_delegating_command(commands, "node", "hyperion.node_cli",
                            "run a dev node: JSON-RPC over HTTP and WebSocket, funded dev accounts", label="node")
    _add_delegating_command(commands, "model", "hyperion.ai.cli_model",
                            "AI model registry: deploy, register, list, infer", label="model")
    _add_delegating_command(commands, "job", "hyperion.ai.cli_job",
                            "verified off-chain inference jobs: post, submit, challenge, status", label="job")
    for name, summary in LAZAI_COMMANDS.items():
        _add_delegating_command(commands, name, "hyperion.lazai_cli", summary, label=name, pass_name=True)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console-script entry point; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `hyperion statetest ... | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's final flush is quiet
        return EXIT_FAILURES
