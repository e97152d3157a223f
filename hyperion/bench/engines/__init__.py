"""EVM engines the bench compares, each an adapter behind ``base.Engine``."""

from __future__ import annotations

from hyperion.bench.engines.base import (
    SUPPORTED_FORKS,
    BatchOutcome,
    Engine,
    EngineError,
    PreparedBatch,
)
from hyperion.bench.engines.metisvm import MetisVmEngine, MetisVmInterpreterEngine
from hyperion.bench.engines.pyevm import PyEvmEngine
from hyperion.bench.engines.pyrevm import PyRevmEngine

__all__ = [
    "ENGINE_NAMES",
    "SUPPORTED_FORKS",
    "BatchOutcome",
    "Engine",
    "EngineError",
    "PreparedBatch",
    "make_engine",
]

_ENGINES: dict[str, type[Engine]] = {
    MetisVmInterpreterEngine.name: MetisVmInterpreterEngine,
    MetisVmEngine.name: MetisVmEngine,
    PyEvmEngine.name: PyEvmEngine,
    PyRevmEngine.name: PyRevmEngine,
}
#: all engines, in the column order of the report
ENGINE_NAMES: tuple[str, ...] = tuple(_ENGINES)


def make_engine(name: str) -> Engine:
    """The engine called ``name`` (see ``ENGINE_NAMES``)."""
    try:
        return _ENGINES[name]()
    except KeyError:
        raise EngineError(f"unknown engine {name!r}; choose from {', '.join(ENGINE_NAMES)}") from None
