"""Compile the rollup contracts (``contracts/l1/*.vy``, ``contracts/l2/*.vy``) into ``hyperion/rollup/l1/artifacts``.

Usage: ``python -m hyperion.rollup.l1.build [--check] [NAME ...]``

Pinned and reproducible like the LazAI build: Vyper ``VYPER_VERSION`` only,
EVM version prague (BLOBHASH, MCOPY and transient storage are used), gas
optimisation, JSON with sorted keys. ``lib_*.vy`` files are modules imported
by the contracts and are not compiled on their own. ``--check`` recompiles in
memory and exits 1 when a committed artifact differs from its sources.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hyperion.rollup.l1.artifacts import ARTIFACTS_DIR

VYPER_VERSION = "0.4.3"
EVM_VERSION = "prague"
REPO_ROOT = Path(__file__).resolve().parents[3]
SOURCE_DIRS = (REPO_ROOT / "contracts" / "l1", REPO_ROOT / "contracts" / "l2")
_IMPORT = re.compile(r"^from \. import (lib_\w+)", re.MULTILINE)


class BuildError(ValueError):
    """The contracts cannot be built as pinned (wrong compiler, compile error)."""


def contract_sources() -> list[Path]:
    return sorted((p for d in SOURCE_DIRS for p in d.glob("*.vy") if not p.name.startswith("lib_")),
                  key=lambda p: p.stem)


def _module_closure(path: Path) -> list[Path]:
    """The source and every lib module it imports, transitively, in a stable order."""
    seen: dict[str, Path] = {}
    pending = [path]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen[current.name] = current
        pending.extend(current.parent / f"{name}.vy" for name in _IMPORT.findall(current.read_text()))
    return [seen[name] for name in sorted(seen)]


def source_hashes(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in _module_closure(path)}


def _check_compiler() -> None:
    try:
        import vyper
    except ImportError:
        raise BuildError(f"vyper is not installed; pip install vyper=={VYPER_VERSION}") from None
    version = vyper.__version__.split("+")[0]
    if version != VYPER_VERSION:
        raise BuildError(f"vyper {version} found, the build is pinned to {VYPER_VERSION}")


def compile_contract(path: Path) -> dict:
    """The artifact dict of one contract source."""
    import vyper
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import OptimizationLevel, Settings

    bundle = FilesystemInputBundle([path.parent])
    file_input = bundle.load_file(path.name)
    settings = Settings(evm_version=EVM_VERSION, optimize=OptimizationLevel.GAS)
    try:
        out = compile_from_file_input(file_input, input_bundle=bundle, settings=settings,
                                      output_formats=["abi", "bytecode", "bytecode_runtime", "layout"])
    except Exception as exc:  # vyper raises many exception types; report them uniformly
        raise BuildError(f"{path.name}: {exc}") from None
    return {
        "name": path.stem,
        "source": str(path.relative_to(REPO_ROOT)),
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "runtime": out["bytecode_runtime"],
        "storage_layout": out["layout"].get("storage_layout", {}),
        "vyper_version": vyper.__version__.split("+")[0],
        "evm_version": EVM_VERSION,
        "sources": source_hashes(path),
    }


def _compile_path(path_str: str) -> dict:
    return compile_contract(Path(path_str))


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def build_all(names: list[str] | None = None, jobs: int = 2) -> dict[str, dict]:
    """Compile the selected contracts (all when ``names`` is empty), in parallel processes."""
    _check_compiler()
    paths = contract_sources()
    if names:
        unknown = set(names) - {p.stem for p in paths}
        if unknown:
            raise BuildError(f"unknown contracts: {', '.join(sorted(unknown))}")
        paths = [p for p in paths if p.stem in names]
    if jobs > 1 and len(paths) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            artifacts = list(pool.map(_compile_path, [str(p) for p in paths]))
    else:
        artifacts = [compile_contract(p) for p in paths]
    return {a["name"]: a for a in artifacts}


def stale_artifacts(built: dict[str, dict]) -> list[str]:
    """Names whose committed artifact differs from the freshly built one."""
    return [name for name, artifact in built.items()
            if not (ARTIFACTS_DIR / f"{name}.json").exists()
            or (ARTIFACTS_DIR / f"{name}.json").read_text() != render(artifact)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hyperion.rollup.l1.build", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="contracts to build (default: all)")
    parser.add_argument("--check", action="store_true", help="verify the artifacts match the sources; write nothing")
    parser.add_argument("--jobs", "-j", type=int, default=min(2, os.cpu_count() or 1),
                        help="parallel compiler processes (default: up to 2)")
    args = parser.parse_args(argv)
    try:
        built = build_all(args.names, jobs=args.jobs)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = stale_artifacts(built)
        if stale:
            print(f"stale artifacts (run python -m hyperion.rollup.l1.build): {', '.join(stale)}", file=sys.stderr)
            return 1
        print(f"{len(built)} artifacts match their sources (vyper {VYPER_VERSION})")
        return 0
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    if not args.names:
        for leftover in ARTIFACTS_DIR.glob("*.json"):
            if leftover.stem not in built:
                leftover.unlink()
    for name, artifact in built.items():
        (ARTIFACTS_DIR / f"{name}.json").write_text(render(artifact))
        print(f"built {name}: {len(artifact['runtime']) // 2 - 1} bytes runtime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
