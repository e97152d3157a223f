"""``hyperion statetest``: run GeneralStateTests-format fixtures against the EVM."""

from __future__ import annotations

import argparse
import sys

from hyperion.cli.common import EXIT_FAILURE, EXIT_OK, add_command, positive_int
from hyperion.cli.fixtures import add_runner_options, fixture_files


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "statetest", run,
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
    add_runner_options(parser, "case")
    parser.add_argument("--parallel", type=positive_int, default=1, metavar="N",
                        help="run each case as a one-transaction block through the parallel executor on N "
                             "worker processes, to check it (default 1: the plain state transition)")
    parser.add_argument("--list-forks", action="store_true",
                        help="list the supported forks (Frontier .. Osaka, BPO1..BPO5) and their aliases, and exit")
    parser.set_defaults(parser=parser)


def run(args: argparse.Namespace) -> int:
    from hyperion.tools.statetest import run_files
    from hyperion.tools.statetest_report import Reporter
    from hyperion.vm.forks import FORKS, UnknownFork, aliases_of, get_fork

    if args.list_forks:
        for name, fork in FORKS.items():
            aliases = aliases_of(fork)
            print(f"{name}\t(also: {', '.join(aliases)})" if aliases else name)
        return EXIT_OK
    if not args.paths:
        args.parser.error("at least one PATH is required (or --list-forks)")
    fork = None
    if args.fork is not None:
        try:
            fork = get_fork(args.fork)
        except UnknownFork as exc:
            args.parser.error(str(exc))
    files = fixture_files(args)
    executor = None
    if args.parallel > 1:
        from hyperion.tools.statetest import ParallelCaseExecutor

        executor = ParallelCaseExecutor(args.parallel)
    with Reporter(sys.stdout, sys.stderr, as_json=args.json, verbose=args.verbose,
                  total_files=len(files), title="statetest") as reporter:
        for results in run_files(files, fork=fork, name_filter=args.filter, jobs=args.jobs, executor=executor):
            reporter.report_file(results)
        reporter.finish()
    return EXIT_FAILURE if reporter.failed else EXIT_OK
