"""Compile ``contracts/ai/*.vy`` into ``hyperion/ai/artifacts/<Name>.json``.

    python -m hyperion.ai.build            # (re)write the artifacts
    python -m hyperion.ai.build --check    # exit 1 when an artifact is stale or missing

Artifacts are checked in so that nodes, the SDK and the tests need no
compiler; each records the Vyper version and the source's sha256. ``--check``
recompiles when the pinned Vyper is installed and compares bytecode, else it
compares source hashes only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts" / "ai"
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
VYPER_VERSION = "0.4.3"
EVM_VERSION = "cancun"
CONTRACT_NAMES = ("ModelRegistry", "InferenceGateway", "InferenceJobs", "DigitBounty")


def source_sha256(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def compile_contract(name: str, contracts_dir: Path = CONTRACTS_DIR) -> dict:
    """Compile one contract with the installed Vyper (must be the pinned version)."""
    import vyper
    from vyper.compiler import compile_code
    from vyper.compiler.settings import Settings

    if vyper.__version__ != VYPER_VERSION:
        raise RuntimeError(f"artifacts are built with vyper {VYPER_VERSION}, found {vyper.__version__}")
    path = contracts_dir / f"{name}.vy"
    source = path.read_bytes()
    output = compile_code(source.decode(), contract_path=path.name,
                          output_formats=["bytecode", "bytecode_runtime", "abi"],
                          settings=Settings(evm_version=EVM_VERSION))
    return {
        "contract": name,
        "source": f"contracts/ai/{path.name}",
        "source_sha256": source_sha256(source),
        "vyper_version": VYPER_VERSION,
        "evm_version": EVM_VERSION,
        "bytecode": output["bytecode"],
        "bytecode_runtime": output["bytecode_runtime"],
        "abi": output["abi"],
    }


def artifact_path(name: str) -> Path:
    return ARTIFACTS_DIR / f"{name}.json"


def build(names=CONTRACT_NAMES) -> list[Path]:
    written = []
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = artifact_path(name)
        path.write_text(json.dumps(compile_contract(name), indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def check(names=CONTRACT_NAMES) -> list[str]:
    """Problems found (empty when every artifact is current)."""
    problems = []
    try:
        import vyper

        can_compile = vyper.__version__ == VYPER_VERSION
    except ImportError:
        can_compile = False
    for name in names:
        path = artifact_path(name)
        if not path.exists():
            problems.append(f"{name}: artifact missing")
            continue
        artifact = json.loads(path.read_text())
        source = (CONTRACTS_DIR / f"{name}.vy").read_bytes()
        if artifact.get("source_sha256") != source_sha256(source):
            problems.append(f"{name}: source changed since the artifact was built")
        elif can_compile and compile_contract(name)["bytecode"] != artifact.get("bytecode"):
            problems.append(f"{name}: bytecode differs from a fresh compilation")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hyperion.ai.build", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        print("artifacts up to date" if not problems else f"{len(problems)} stale artifact(s)")
        return 1 if problems else 0
    for path in build():
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
