"""Compile the Vyper contract sets (``contracts/<set>/*.vy``) into ``hyperion/artifacts/<set>/``.

Usage: ``python -m hyperion.artifacts.build [--check] [--jobs N] [TARGET ...]``,
where a TARGET is a set named in ``hyperion.artifacts.CONTRACT_SETS`` or one
contract's name (default: every set).

The build is pinned and reproducible: it refuses to run with any Vyper other
than ``VYPER_VERSION``, compiles each set with its fixed settings (its EVM
version, gas optimisation) and writes JSON with sorted keys. Files named
``lib_*.vy`` are modules imported by the contracts and are not compiled on
their own. ``--check`` recompiles into memory and exits 1 when any committed
artifact differs from what the sources give (its bytecode, or the sha256 of
a source it was built from) or has no source left.
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

from hyperion.artifacts import CONTRACT_SETS, artifact_dir

VYPER_VERSION = "0.4.3"
REPO_ROOT = Path(__file__).resolve().parents[2]
_IMPORT = re.compile(r"^from \. import (lib_\w+)", re.MULTILINE)


class BuildError(ValueError):
    """The contracts cannot be built as pinned (wrong compiler, unknown target, compile error)."""


def sources_dir(contract_set: str) -> Path:
    return REPO_ROOT / CONTRACT_SETS[contract_set].sources


def contract_sources(contract_set: str) -> list[Path]:
    """The contracts of a set (its ``lib_*`` modules are compiled into them, not alone)."""
    return sorted(p for p in sources_dir(contract_set).glob("*.vy") if not p.name.startswith("lib_"))


def _module_closure(path: Path) -> list[Path]:
    """The source file and every lib module it imports, transitively, in a stable order."""
    seen: dict[str, Path] = {}
    pending = [path]
    while pending:
        current = pending.pop()
        if current.name in seen:
            continue
        seen[current.name] = current
        pending.extend(path.parent / f"{name}.vy" for name in _IMPORT.findall(current.read_text()))
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


def compile_contract(contract_set: str, path: Path) -> dict:
    """The artifact dict of one contract source of ``contract_set``."""
    import vyper
    from vyper.compiler import compile_from_file_input
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import OptimizationLevel, Settings

    folder = sources_dir(contract_set)
    evm_version = CONTRACT_SETS[contract_set].evm_version
    bundle = FilesystemInputBundle([folder])
    file_input = bundle.load_file(path.relative_to(folder))
    settings = Settings(evm_version=evm_version, optimize=OptimizationLevel.GAS)
    try:
        out = compile_from_file_input(file_input, input_bundle=bundle, settings=settings,
                                      output_formats=["abi", "bytecode", "bytecode_runtime", "layout"])
    except Exception as exc:  # vyper raises many exception types; report them uniformly
        raise BuildError(f"{path.name}: {exc}") from None
    return {
        "name": path.stem,
        "abi": out["abi"],
        "bytecode": out["bytecode"],
        "runtime": out["bytecode_runtime"],
        "storage_layout": out["layout"].get("storage_layout", {}),
        "vyper_version": vyper.__version__.split("+")[0],
        "evm_version": evm_version,
        "sources": source_hashes(path),
    }


def _compile_job(job: tuple[str, str]) -> tuple[str, dict]:
    contract_set, path = job
    return contract_set, compile_contract(contract_set, Path(path))


def render(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def resolve_targets(targets: list[str]) -> list[tuple[str, Path]]:
    """``(set, source)`` pairs to build: every contract of each named set, or the named contracts."""
    by_name = {path.stem: (contract_set, path) for contract_set in CONTRACT_SETS
               for path in contract_sources(contract_set)}
    if not targets:
        return list(by_name.values())
    jobs: list[tuple[str, Path]] = []
    for target in targets:
        if target in CONTRACT_SETS:
            jobs += [(target, path) for path in contract_sources(target)]
        elif target in by_name:
            jobs.append(by_name[target])
        else:
            raise BuildError(f"unknown set or contract {target!r}; sets: {', '.join(CONTRACT_SETS)}")
    return list(dict.fromkeys(jobs))


def build(targets: list[str] | None = None, jobs: int = 4) -> dict[str, dict[str, dict]]:
    """Compile the targets in parallel processes; returns ``{set: {name: artifact}}``."""
    _check_compiler()
    work = [(contract_set, str(path)) for contract_set, path in resolve_targets(list(targets or []))]
    if jobs > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_compile_job, work))
    else:
        results = [_compile_job(job) for job in work]
    built: dict[str, dict[str, dict]] = {}
    for contract_set, artifact in results:
        built.setdefault(contract_set, {})[artifact["name"]] = artifact
    return built


def stale_artifacts(built: dict[str, dict[str, dict]], whole_sets: bool = True) -> list[str]:
    """``set/name`` of every committed artifact that differs from the fresh build, or has no source."""
    stale = []
    for contract_set, artifacts in built.items():
        for name, artifact in artifacts.items():
            path = artifact_dir(contract_set) / f"{name}.json"
            if not path.exists() or path.read_text() != render(artifact):
                stale.append(f"{contract_set}/{name}")
        if whole_sets:
            stale += [f"{contract_set}/{path.stem} (no source)"
                      for path in sorted(artifact_dir(contract_set).glob("*.json")) if path.stem not in artifacts]
    return stale


def write(built: dict[str, dict[str, dict]], whole_sets: bool) -> list[Path]:
    written = []
    for contract_set, artifacts in built.items():
        folder = artifact_dir(contract_set)
        folder.mkdir(parents=True, exist_ok=True)
        if whole_sets:
            for leftover in folder.glob("*.json"):
                if leftover.stem not in artifacts:
                    leftover.unlink()
        for name, artifact in artifacts.items():
            path = folder / f"{name}.json"
            path.write_text(render(artifact))
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hyperion.artifacts.build", description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help=f"a set ({', '.join(CONTRACT_SETS)}) or a contract name (default: every set)")
    parser.add_argument("--check", action="store_true", help="verify the artifacts match the sources; write nothing")
    parser.add_argument("--jobs", "-j", type=int, default=min(4, os.cpu_count() or 1),
                        help="parallel compiler processes (default: up to 4)")
    args = parser.parse_args(argv)
    whole_sets = all(target in CONTRACT_SETS for target in args.targets)
    try:
        built = build(args.targets, jobs=args.jobs)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    count = sum(len(artifacts) for artifacts in built.values())
    if args.check:
        stale = stale_artifacts(built, whole_sets)
        if stale:
            print(f"stale artifacts (run python -m hyperion.artifacts.build): {', '.join(stale)}", file=sys.stderr)
            return 1
        print(f"{count} artifacts match their sources (vyper {VYPER_VERSION})")
        return 0
    for path in write(built, whole_sets):
        artifact = json.loads(path.read_text())
        print(f"built {path.parent.name}/{path.name}: {len(artifact['runtime']) // 2 - 1} bytes runtime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
