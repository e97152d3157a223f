"""Compiled contracts: the committed artifacts of every Vyper contract set, and how to read them.

Each contract set is a folder of sources under the repository's
``contracts/`` (``CONTRACT_SETS``) whose artifacts live here, in the folder
of the same name (``hyperion/artifacts/<set>/<Name>.json``), so nodes, the
SDK and the tests need no compiler. ``hyperion.artifacts.build`` writes and
checks them (``python -m hyperion.artifacts.build [--check] [SET ...]``).
Adding a set is one entry in ``CONTRACT_SETS`` plus its sources folder.

This module imports nothing from the rest of ``hyperion``: every layer may
read artifacts.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import NamedTuple

ARTIFACTS_DIR = Path(__file__).resolve().parent


class ContractSet(NamedTuple):
    """A folder of Vyper sources compiled together, with the settings they are pinned to."""

    sources: str       # folder relative to the repository root
    evm_version: str   # the EVM version the set is compiled for


CONTRACT_SETS: dict[str, ContractSet] = {
    "lazai": ContractSet("contracts/lazai", "prague"),  # the LazAI value layer (system contracts)
    "ai": ContractSet("contracts/ai", "cancun"),        # models, inference gateway, jobs
    "l1": ContractSet("contracts/l1", "prague"),        # the rollup on Ethereum: portal, inbox, output oracle
    "l2": ContractSet("contracts/l2", "prague"),        # the rollup's L2 predeploys: L1Block, message passer
}


class ArtifactError(ValueError):
    """An artifact is missing or malformed: run ``python -m hyperion.artifacts.build``."""


def artifact_dir(contract_set: str) -> Path:
    return ARTIFACTS_DIR / contract_set


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, Path]:
    """Contract name -> artifact file, over every set (names are unique across sets)."""
    found: dict[str, Path] = {}
    for contract_set in CONTRACT_SETS:
        for path in sorted(artifact_dir(contract_set).glob("*.json")):
            if path.stem in found:
                raise ArtifactError(f"contract {path.stem} is in two sets: {found[path.stem]} and {path}")
            found[path.stem] = path
    return found


def artifact_names(contract_set: str | None = None) -> list[str]:
    """Names of the built contracts (of one set, or all)."""
    if contract_set is not None:
        return sorted(path.stem for path in artifact_dir(contract_set).glob("*.json"))
    return sorted(_index())


@functools.lru_cache(maxsize=None)
def load_artifact(name: str) -> dict:
    """Contract ``name``: abi (list), bytecode and runtime (bytes), evm_version, vyper_version, sources."""
    path = _index().get(name)
    if path is None:
        raise ArtifactError(f"no artifact for contract {name!r}; run python -m hyperion.artifacts.build")
    try:
        raw = json.loads(path.read_text())
        return {
            "name": raw["name"],
            "abi": raw["abi"],
            "bytecode": bytes.fromhex(raw["bytecode"].removeprefix("0x")),
            "runtime": bytes.fromhex(raw["runtime"].removeprefix("0x")),
            "evm_version": raw["evm_version"],
            "vyper_version": raw["vyper_version"],
            "sources": raw["sources"],
        }
    except (OSError, json.JSONDecodeError, KeyError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"artifact {path} is malformed: {exc!r}") from None
