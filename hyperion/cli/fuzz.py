"""``hyperion fuzz TARGET``: differential fuzzers, each a module with ``main(argv) -> int``.

Adding one is an entry in ``FUZZ_TARGETS``; every argument after the target
goes to the fuzzer's own parser untouched.
"""

from __future__ import annotations

import argparse
import importlib

from hyperion.cli.common import add_command

# `hyperion fuzz <target>` -> (module exposing ``main(argv) -> int``, help)
FUZZ_TARGETS = {
    "vm": ("hyperion.fuzz.vm", "MetisVM's compiled tier against its interpreter and per-instruction execution "
                               "(and pyrevm): random programs, "
                               "reproducers for every divergence"),
}


def register(commands: argparse._SubParsersAction) -> None:
    parser = add_command(
        commands, "fuzz",
        help="differential fuzzing",
        description="Run a differential fuzzer; everything after TARGET goes to the fuzzer.",
    )
    targets = parser.add_subparsers(metavar="TARGET", required=True)
    for target, (module_name, summary) in FUZZ_TARGETS.items():
        fuzzer = add_command(targets, target, run, help=summary, add_help=False, prefix_chars="\0")
        fuzzer.add_argument("fuzzer_args", nargs=argparse.REMAINDER)
        fuzzer.set_defaults(module_name=module_name)


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(args.module_name).main(list(args.fuzzer_args)) or 0)
