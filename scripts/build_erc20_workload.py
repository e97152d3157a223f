"""Compile the benchmark's Vyper contracts and write their checked-in artifacts.

Usage: python scripts/build_erc20_workload.py [--check]

The bench reads ``hyperion/bench/workloads/erc20.json`` (the token) and
``amm.json`` (the AMM pool) and so never needs Vyper at run time; rerun
this script (Vyper installed, e.g. via the ``test`` extra) whenever
``erc20.vy`` or ``amm.vy`` changes. ``--check`` exits non-zero when an
artifact is stale instead of rewriting it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hyperion.bench.workloads import amm, erc20  # noqa: E402

CONTRACTS = [
    (erc20.SOURCE_PATH, erc20.ARTIFACT_PATH, erc20.compile_erc20_source),
    (amm.SOURCE_PATH, amm.ARTIFACT_PATH, amm.compile_amm_source),
]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the artifacts are current")
    args = parser.parse_args(argv)
    stale = 0
    for source, artifact_path, compile_source in CONTRACTS:
        artifact = compile_source(source)
        text = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
        if args.check:
            current = artifact_path.read_text() if artifact_path.exists() else ""
            if current != text:
                print(f"{artifact_path} is stale; rerun scripts/build_erc20_workload.py", file=sys.stderr)
                stale += 1
            else:
                print(f"{artifact_path} is up to date (vyper {artifact['vyper_version']})")
            continue
        artifact_path.write_text(text)
        print(f"wrote {artifact_path} (vyper {artifact['vyper_version']}, "
              f"{len(artifact['bytecode']) // 2 - 1} bytes of init code)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
