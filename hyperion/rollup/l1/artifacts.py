"""Read the committed contract artifacts (abi, bytecode, runtime, storage layout) of ``hyperion.rollup.l1.build``."""

from __future__ import annotations

import functools
import json
from pathlib import Path

ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


class ArtifactError(ValueError):
    """An artifact is missing or malformed: run ``python -m hyperion.rollup.l1.build``."""


def artifact_names() -> list[str]:
    return sorted(path.stem for path in ARTIFACTS_DIR.glob("*.json"))


@functools.lru_cache(maxsize=None)
def load_artifact(name: str) -> dict:
    """``{"name", "abi", "bytecode" (bytes), "runtime" (bytes), "storage_layout"}`` of contract ``name``."""
    path = ARTIFACTS_DIR / f"{name}.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"no artifact for {name!r} in {ARTIFACTS_DIR}; run python -m hyperion.rollup.l1.build") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"artifact {path} is not valid JSON: {exc}") from None
    try:
        return {
            "name": raw["name"],
            "abi": raw["abi"],
            "bytecode": bytes.fromhex(raw["bytecode"].removeprefix("0x")),
            "runtime": bytes.fromhex(raw["runtime"].removeprefix("0x")),
            "storage_layout": raw["storage_layout"],
        }
    except (KeyError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"artifact {path} is malformed: {exc!r}") from None
