"""``hyperion rpccompat``: replay the execution-apis rpc-compat suite against a node, as hive does."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from hyperion.cli.common import EXIT_FAILURE, EXIT_OK, UsageError, add_command, check_rpc_url

DEFAULT_SUITE = Path("../shared/fixtures/rpc-compat")


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "rpccompat", run,
        help="replay the execution-apis JSON-RPC conformance suite (hive's rpc-compat)",
        description=(
            "Start a node on the suite's chain ('hyperion init' with its genesis.json, 'hyperion import' "
            "of its chain.rlp, 'hyperion node' on that data dir), replay every METHOD/NAME.io test against "
            "it in hive's order and under hive's rules, and print one line per test and a total. Exits 0 "
            "when every test passed or is listed in --known-failures, and no listed test passed (a stale "
            "list fails too)."
        ),
    )
    parser.add_argument("suite", nargs="?", type=Path, default=DEFAULT_SUITE, metavar="SUITE",
                        help=f"the suite folder (genesis.json, chain.rlp, METHOD/*.io; default {DEFAULT_SUITE})")
    parser.add_argument("--filter", metavar="REGEX", help="only tests whose METHOD/NAME matches REGEX")
    parser.add_argument("--known-failures", type=Path, metavar="FILE",
                        help="'METHOD/NAME  # cause' lines: these may fail (reported as known)")
    parser.add_argument("--rpc-url", metavar="URL",
                        help="replay against this running node instead of starting one (its chain must be the suite's)")
    parser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                        help="per request (default 30)")
    parser.add_argument("--node-log", type=Path, metavar="FILE", help="append the started node's log to FILE")
    parser.add_argument("--json", action="store_true", help="one JSON object per test on stdout")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only failures and the total")


def run(args: argparse.Namespace) -> int:
    from contextlib import nullcontext

    from hyperion.tools.rpccompat import SuiteNode, find_tests, read_known_failures, run_tests

    if args.filter is not None:
        try:
            re.compile(args.filter)
        except re.error as exc:
            raise UsageError(f"--filter: not a regular expression: {exc}") from None
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    try:
        tests = find_tests(args.suite, args.filter)
        known = read_known_failures(args.known_failures) if args.known_failures else {}
    except (OSError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not tests:
        raise UsageError(f"no tests under {args.suite}" + (f" match {args.filter!r}" if args.filter else ""))
    if args.rpc_url:
        node = nullcontext(argparse.Namespace(url=check_rpc_url(args.rpc_url)))
    else:
        node = SuiteNode(args.suite, log=args.node_log)
    passed = failed = known_failed = fixed = 0
    with node as running:
        for result in run_tests(running.url, tests, args.timeout):
            if result.passed:
                passed += 1
                status = "FIXED" if result.name in known else "PASS"
                fixed += result.name in known
            elif result.name in known:
                known_failed += 1
                status = "KNOWN"
            else:
                failed += 1
                status = "FAIL"
            if args.json:
                print(json.dumps({"test": result.name, "status": status, "reason": result.reason,
                                  "known_cause": known.get(result.name, "")}), flush=True)
            elif not args.quiet or status in ("FAIL", "FIXED"):
                detail = f": {result.reason}" if result.reason else ""
                if status == "FIXED":
                    detail = " (listed as a known failure; remove it from the list)"
                print(f"{status:5} {result.name}{detail}", flush=True)
    total = len(tests)
    summary = (f"{passed}/{total} passed ({100 * passed / total:.1f}%), {failed + known_failed} failed"
               + (f" ({known_failed} known)" if known else "") + (f", {fixed} listed as known passed" if fixed else ""))
    print(summary, file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK if failed == 0 and fixed == 0 else EXIT_FAILURE
