"""``hyperion fuzz TARGET``: differential fuzzers, each a module with ``main(argv) -> int``.

Adding one is an entry in ``FUZZ_TARGETS``; every argument after the target
goes to the fuzzer's own parser untouched.
"""

from __future__ import annotations

import argparse

from hyperion.cli.common import add_module_targets

# `hyperion fuzz <target>` -> (module exposing ``main(argv) -> int``, help)
FUZZ_TARGETS = {
    "vm": ("hyperion.fuzz.vm", "MetisVM's compiled tier against its interpreter and per-instruction execution "
                               "(and pyrevm): random programs, "
                               "reproducers for every divergence"),
}


def register(commands: argparse._SubParsersAction) -> None:
    add_module_targets(commands, "fuzz", FUZZ_TARGETS, help="differential fuzzing",
                       description="Run a differential fuzzer; everything after TARGET goes to the fuzzer.")
