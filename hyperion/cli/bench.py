"""``hyperion bench TARGET``: the performance harnesses, each a module with ``main(argv) -> int``.

Adding a harness is one entry in ``BENCH_TARGETS``; every argument after
the target goes to the harness's own parser untouched.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Callable, Optional

from hyperion.cli.common import UsageError, add_command

# `hyperion bench <target>` -> (module exposing ``main(argv) -> int``, help)
BENCH_TARGETS = {
    "vm": ("hyperion.bench.vm", "EVM execution speed"),
    "db": ("hyperion.bench.db", "state database (MetisDB) vs py-trie: update+commit, reads, proofs"),
    "ai": ("hyperion.bench.ai", "inference precompile: inferences per second and gas per inference"),
    "rpc": ("hyperion.bench.rpc", "JSON-RPC throughput: signed ETH and ERC-20 transfers per second"),
    "mpef": ("hyperion.bench.mpef", "parallel block execution (Block-STM) vs sequential: speedup, re-executions, "
                                    "identical roots"),
    "rollup": ("hyperion.bench.rollup", "rollup: sequenced tx/s, L1 gas and bytes per tx (blobs, calldata), "
                                        "derivation speed, time to safe"),
}


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "bench",
        help="performance benchmarks",
        description="Run a benchmark harness; everything after TARGET goes to the harness.",
    )
    targets = parser.add_subparsers(metavar="TARGET", required=True)
    for target, (module_name, summary) in BENCH_TARGETS.items():
        # No options of its own (no -h, an unusable prefix character): every argument
        # after the target, --help included, goes to the harness.
        harness = add_command(targets, target, run, help=summary, add_help=False, prefix_chars="\0")
        harness.add_argument("harness_args", nargs=argparse.REMAINDER)
        harness.set_defaults(module_name=module_name)


def run(args: argparse.Namespace) -> int:
    try:
        module = importlib.import_module(args.module_name)
    except ModuleNotFoundError as exc:
        if exc.name == args.module_name:
            raise UsageError(f"{args.module_name} is not part of this installation") from None
        raise UsageError(f"{args.module_name} needs {exc.name!r}, which is not installed "
                         "(optional dependencies are listed in pyproject.toml)") from None
    entry: Optional[Callable[[list[str]], int]] = getattr(module, "main", None)
    if entry is None:
        raise UsageError(f"{args.module_name} has no main(argv)")
    return int(entry(list(args.harness_args)) or 0)
