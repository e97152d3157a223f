"""``hyperion bench TARGET``: the performance harnesses, each a module with ``main(argv) -> int``.

Adding a harness is one entry in ``BENCH_TARGETS``; every argument after
the target goes to the harness's own parser untouched.
"""

from __future__ import annotations

import argparse

from hyperion.cli.common import add_module_targets

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
    add_module_targets(commands, "bench", BENCH_TARGETS, help="performance benchmarks",
                       description="Run a benchmark harness; everything after TARGET goes to the harness.")
