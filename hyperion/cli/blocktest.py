"""``hyperion blocktest``: run BlockchainTests fixtures through the block import path."""

from __future__ import annotations

import argparse
import sys

from hyperion.cli.common import EXIT_FAILURE, EXIT_OK, add_command, positive_int
from hyperion.cli.fixtures import add_runner_options, fixture_files


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "blocktest", run,
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
                        help="run only tests of this network, or of transitions into this fork")
    add_runner_options(parser, "test")
    parser.add_argument("--parallel", type=positive_int, default=None, metavar="N",
                        help="execute every block's transactions with the parallel executor on N worker "
                             "processes, small blocks included, to check it; 1: sequential (default: "
                             "parallel on the machine's cores where a block is big enough)")
    parser.set_defaults(parser=parser)


def run(args: argparse.Namespace) -> int:
    from hyperion.chain.schedule import UnsupportedFork, canonical_fork_name
    from hyperion.tools.blocktest import executor_tally, run_files
    from hyperion.tools.statetest_report import Reporter

    if args.fork is not None:
        try:
            canonical_fork_name(args.fork)
        except UnsupportedFork as exc:
            args.parser.error(str(exc))
    files = fixture_files(args)
    with Reporter(sys.stdout, sys.stderr, as_json=args.json, verbose=args.verbose,
                  total_files=len(files), title="blocktest") as reporter:
        for results in run_files(files, fork=args.fork, name_filter=args.filter, jobs=args.jobs,
                                 parallel=args.parallel):
            reporter.report_file(results)
        tally = executor_tally()
        if tally:  # which blocks the parallel executor ran, and why others ran sequentially
            print("executor: " + ", ".join(f"{count} {kind}" for kind, count in sorted(tally.items())),
                  file=sys.stderr)
        reporter.finish()
    return EXIT_FAILURE if reporter.failed else EXIT_OK
