"""Results of a bench run and their two renderings: a text table and JSON lines.

The JSON line per workload has exactly the keys ``workload``, ``gas``,
``mgas_per_s`` (one entry per engine, null when it did not run),
``ratio_vs_py_evm`` and ``ratio_vs_pyrevm``, plus ``gas_mismatch`` (gas per
engine) only when the engines disagree. A final ``{"summary": ...}`` line
holds the geometric means of the ratios and the machine description.
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from hyperion.bench.measure import Timing

METISVM = "metisvm"
PY_EVM = "py-evm"
PYREVM = "pyrevm"
#: whose gas is shown in the "gas" column, first available wins (py-evm is the reference spec-like EVM)
_GAS_REFERENCE_ORDER = (PY_EVM, METISVM, PYREVM)
_DISTRIBUTIONS = {METISVM: "hyperion", PY_EVM: "py-evm", PYREVM: "pyrevm"}


@dataclass
class EngineResult:
    timing: Timing | None = None
    #: why there is no timing: the engine is unavailable/not selected, or it failed
    problem: str | None = None
    failed: bool = False


@dataclass
class WorkloadResult:
    workload: str
    engines: dict[str, EngineResult] = field(default_factory=dict)

    def gas_by_engine(self) -> dict[str, int]:
        return {
            name: result.timing.outcome.gas_used
            for name, result in self.engines.items()
            if result.timing is not None
        }

    @property
    def gas(self) -> int | None:
        gas = self.gas_by_engine()
        for name in _GAS_REFERENCE_ORDER:
            if name in gas:
                return gas[name]
        return next(iter(gas.values()), None)

    @property
    def gas_mismatch(self) -> dict[str, int] | None:
        gas = self.gas_by_engine()
        return gas if len(set(gas.values())) > 1 else None

    def mgas_per_s(self, engine: str) -> float | None:
        result = self.engines.get(engine)
        if result is None or result.timing is None:
            return None
        return result.timing.mgas_per_s

    def ratio_vs(self, engine: str) -> float | None:
        """MetisVM's throughput divided by ``engine``'s (above 1: MetisVM is faster)."""
        ours, theirs = self.mgas_per_s(METISVM), self.mgas_per_s(engine)
        if ours is None or not theirs:
            return None
        return ours / theirs

    def notes(self) -> list[str]:
        notes = []
        mismatch = self.gas_mismatch
        if mismatch:
            detail = ", ".join(f"{name}={gas}" for name, gas in mismatch.items())
            notes.append(f"WARNING gas mismatch: {detail}")
        for name, result in self.engines.items():
            if result.failed:
                notes.append(f"{name} failed: {result.problem}")
            elif result.timing is not None:
                if result.timing.outcome.reverted:
                    notes.append(f"{name}: {result.timing.outcome.reverted} tx reverted")
                if result.timing.note and result.timing.runs == 1 and "quick" not in result.timing.note:
                    notes.append(f"{name}: {result.timing.note}")
        return notes

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "workload": self.workload,
            "gas": self.gas,
            "mgas_per_s": {name: _round(self.mgas_per_s(name)) for name in self.engines},
            "ratio_vs_py_evm": _round(self.ratio_vs(PY_EVM)),
            "ratio_vs_pyrevm": _round(self.ratio_vs(PYREVM)),
        }
        mismatch = self.gas_mismatch
        if mismatch:
            line["gas_mismatch"] = mismatch
        return line


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def geometric_mean(values: list[float]) -> float | None:
    positive = [v for v in values if v and v > 0]
    if not positive:
        return None
    return math.exp(sum(math.log(v) for v in positive) / len(positive))


def summarize(results: list[WorkloadResult]) -> dict[str, Any]:
    vs_py_evm = [r.ratio_vs(PY_EVM) for r in results]
    vs_pyrevm = [r.ratio_vs(PYREVM) for r in results]
    return {
        "geomean_ratio_vs_py_evm": _round(geometric_mean([v for v in vs_py_evm if v is not None])),
        "geomean_ratio_vs_pyrevm": _round(geometric_mean([v for v in vs_pyrevm if v is not None])),
        "workloads": len(results),
        "workloads_with_gas_mismatch": sum(1 for r in results if r.gas_mismatch),
    }


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, or the platform's best guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def engine_version(engine: str) -> str | None:
    try:
        return metadata.version(_DISTRIBUTIONS.get(engine, engine))
    except metadata.PackageNotFoundError:
        return None


def machine_description() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(terse=True),
    }


def _format_mgas(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}x"


def render_table(results: list[WorkloadResult], engines: list[str]) -> str:
    """A fixed-width table: workload, gas, Mgas/s per engine, MetisVM ratios, notes."""
    header = ["workload", "gas"] + [f"{name} Mgas/s" for name in engines]
    header += ["metisvm/py-evm", "metisvm/pyrevm", "notes"]
    rows = []
    for result in results:
        row = [result.workload, "n/a" if result.gas is None else f"{result.gas:,}"]
        row += [_format_mgas(result.mgas_per_s(name)) for name in engines]
        row += [_format_ratio(result.ratio_vs(PY_EVM)), _format_ratio(result.ratio_vs(PYREVM))]
        row.append("; ".join(result.notes()))
        rows.append(row)
    summary = summarize(results)
    rows.append(
        ["geometric mean", ""]
        + [""] * len(engines)
        + [
            _format_ratio(summary["geomean_ratio_vs_py_evm"]),
            _format_ratio(summary["geomean_ratio_vs_pyrevm"]),
            "",
        ]
    )
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    right_aligned = set(range(1, len(header) - 1))

    def line(cells: list[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right_aligned else cell.ljust(widths[i])
            for i, cell in enumerate(cells[:-1])
        ]
        return ("  ".join(parts) + "  " + cells[-1]).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    body = [line(header), rule, *(line(r) for r in rows[:-1]), rule, line(rows[-1])]
    return "\n".join(body)
