"""Compile the ERC-20 benchmark token and write its checked-in artifact.

Usage: python scripts/build_erc20_workload.py [--check]

The bench reads ``hyperion/bench/workloads/erc20.json`` and so never needs
Vyper at run time; rerun this script (Vyper installed, e.g. via the
``test`` extra) whenever ``erc20.vy`` changes. ``--check`` exits non-zero
when the artifact is stale instead of rewriting it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hyperion.bench.workloads.erc20 import ARTIFACT_PATH, SOURCE_PATH, compile_erc20_source  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the artifact is current")
    args = parser.parse_args(argv)
    artifact = compile_erc20_source(SOURCE_PATH)
    text = json.dumps(artifact, indent=2, sort_keys=True) + "\n"
    if args.check:
        current = ARTIFACT_PATH.read_text() if ARTIFACT_PATH.exists() else ""
        if current != text:
            print(f"{ARTIFACT_PATH} is stale; rerun scripts/build_erc20_workload.py", file=sys.stderr)
            return 1
        print(f"{ARTIFACT_PATH} is up to date (vyper {artifact['vyper_version']})")
        return 0
    ARTIFACT_PATH.write_text(text)
    print(f"wrote {ARTIFACT_PATH} (vyper {artifact['vyper_version']}, "
          f"{len(artifact['bytecode']) // 2 - 1} bytes of init code)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
