"""``hyperion bench vm``: MetisVM's interpreter and compiled tier against py-evm and pyrevm.

Every workload (the state-test benchmarks under
``<repo>/../shared/fixtures/evm-benchmarks/benchmarks``, the Vyper ERC-20
batch and the Vyper AMM-swap batch) runs on each selected engine under the
same fork: ``interpreter`` and ``compiled`` (MetisVM's two tiers), ``py-evm``
and ``pyrevm``. Each engine warms up once (the compiled tier compiles then:
its CPU time is the compile time), then the engines take turns, round
after round, until each has run ``--min-time`` CPU seconds; the median run
counts (see measure.py). Only transaction execution is timed, in CPU time:
no engine pays signature recovery or state setup in the timed part.

Gas totals are compared across engines; an engine whose gas differs is
left out of the ratios against it, and the row says why (pyrevm on a
batch of several transactions: its journal leaks warm state from one
transaction into the next). Break-even runs = compile time / (interpreter
time - compiled time). An engine that is not installed is reported as
n/a/null. Exit status: 0, 1 if an engine failed on a workload, 2 on a
usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from hyperion.bench.engines import ENGINE_NAMES, SUPPORTED_FORKS, EngineError, make_engine
from hyperion.bench.engines.pyrevm import JOURNAL_NOTE
from hyperion.bench.measure import DEFAULT_MIN_TIME, DEFAULT_SLOW_RUN_SECONDS, measure_interleaved
from hyperion.bench.report import (
    COMPILED,
    EngineResult,
    WorkloadResult,
    engine_version,
    load_average,
    machine_description,
    render_table,
    summarize,
    target_lines,
)
from hyperion.bench.workloads import WorkloadError, default_benchmarks_dir, load_all_workloads
from hyperion.tools.progress import Progress

DEFAULT_FORK = "cancun"


def _parse_engines(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ENGINE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown engine(s) {', '.join(unknown) or '(none given)'}; choose from {', '.join(ENGINE_NAMES)}"
        )
    return [name for name in ENGINE_NAMES if name in names]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperion bench vm",
        description="Compare MetisVM's interpreter and compiled tier with py-evm and pyrevm "
                    "on EVM benchmark workloads (Mgas/s, CPU time, interleaved rounds).",
    )
    parser.add_argument(
        "--engines",
        type=_parse_engines,
        default=list(ENGINE_NAMES),
        help=f"comma-separated engines to run (default: {','.join(ENGINE_NAMES)})",
    )
    parser.add_argument("--filter", default="", help="only workloads whose name contains this substring")
    parser.add_argument(
        "--min-time",
        type=_positive_float,
        default=DEFAULT_MIN_TIME,
        help=f"CPU seconds of timed runs per workload and engine after warm-up (default {DEFAULT_MIN_TIME:g})",
    )
    parser.add_argument(
        "--slow-run",
        type=_positive_float,
        default=DEFAULT_SLOW_RUN_SECONDS,
        help="a first run slower than this many seconds is reported without repeats "
        f"(default {DEFAULT_SLOW_RUN_SECONDS:g})",
    )
    parser.add_argument("--quick", action="store_true", help="one run per engine, no warm-up (smoke test)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    parser.add_argument(
        "--fork",
        choices=SUPPORTED_FORKS,
        default=DEFAULT_FORK,
        help=f"fork all engines execute under (default {DEFAULT_FORK})",
    )
    parser.add_argument(
        "--benchmarks",
        type=Path,
        default=None,
        help=f"directory of state-test-format benchmarks (default {default_benchmarks_dir()})",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    return parser


def _run_workload(workload, engines, availability, args) -> tuple[WorkloadResult, bool]:
    result = WorkloadResult(workload.name, transactions=len(workload.transactions))
    any_failed = False
    batches = {}
    for name in ENGINE_NAMES:
        if name not in engines:
            result.engines[name] = EngineResult(problem="not selected")
            continue
        if availability[name] is not None:
            result.engines[name] = EngineResult(problem=availability[name])
            continue
        try:
            batches[name] = engines[name].prepare(workload, args.fork)
        except Exception as error:  # an engine bug must not abort the other measurements
            problem = str(error) if isinstance(error, EngineError) else f"{type(error).__name__}: {error}"
            result.engines[name] = EngineResult(problem=problem, failed=True)
            any_failed = True
    timings = measure_interleaved(batches, min_time=args.min_time, quick=args.quick,
                                  slow_run_seconds=args.slow_run)
    for name, timing in timings.items():
        if isinstance(timing, Exception):
            problem = str(timing) if isinstance(timing, (EngineError, ValueError)) else \
                f"{type(timing).__name__}: {timing}"
            result.engines[name] = EngineResult(problem=problem, failed=True)
            any_failed = True
        else:
            result.engines[name] = EngineResult(timing=timing)
    compiled = batches.get(COMPILED)
    if compiled is not None:
        result.compile_seconds = compiled.compile_seconds
        result.compile_seconds_per_tx = compiled.compile_seconds_per_tx
    result.judge_gas(JOURNAL_NOTE)
    return result, any_failed


def _header_lines(args, engines, availability) -> list[str]:
    machine = machine_description()
    lines = [
        f"hyperion bench vm: fork {args.fork.capitalize()}, "
        + ("quick (1 run, no warm-up)" if args.quick
           else f"warm-up + interleaved rounds, median CPU time of runs >= {args.min_time:g} s"),
        f"machine: {machine['cpu']} ({machine['cpus']} CPUs), {machine['python']}, {machine['platform']}",
        f"load average at start: {machine['load_average']}",
    ]
    for name in engines:
        reason = availability[name]
        version = engine_version(name)
        status = f"n/a ({reason})" if reason else (version or "version unknown")
        lines.append(f"  {name}: {status}")
    return lines


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    try:
        workloads = load_all_workloads(args.benchmarks)
    except WorkloadError as error:
        print(f"error: {error}", file=err)
        return 2
    workloads = [w for w in workloads if args.filter in w.name]
    if args.list:
        for workload in workloads:
            print(f"{workload.name}\t{len(workload.transactions)} tx\t{workload.description}", file=out)
        return 0
    if not workloads:
        print(f"error: no workload matches filter {args.filter!r}", file=err)
        return 2

    engines = {name: make_engine(name) for name in args.engines}
    availability = {name: engine.unavailable_reason() for name, engine in engines.items()}
    header = _header_lines(args, engines, availability)
    info = err if args.json else out
    for line in header:
        print(line, file=info)
    info.flush()

    results = []
    any_failed = False
    with Progress("bench vm", total=len(workloads), unit="workloads", animate=False, stream=err) as bar:
        for workload in workloads:
            bar.update(description=f"bench vm: {workload.name}")
            result, failed = _run_workload(workload, engines, availability, args)
            any_failed |= failed
            results.append(result)
            bar.advance()
            if args.json:
                bar.print(json.dumps(result.to_json()), out)
                for note in result.notes():
                    bar.print(f"{workload.name}: {note}", err)
            else:
                bar.print(f"  done {workload.name}", err)

    summary = summarize(results)
    if args.json:
        summary.update(fork=args.fork, machine=machine_description(), engines={
            name: (None if availability[name] else engine_version(name)) for name in engines
        })
        print(json.dumps({"summary": summary}), file=out)
    else:
        print(render_table(results, list(engines)), file=out)
        for name, engine in engines.items():
            if engine.note and availability[name] is None:
                print(f"note: {engine.note}", file=out)
        print("ratios: MetisVM's compiled tier (the interpreter if the compiled tier did not run), Mgas/s "
              "divided by the other engine's (above 1x: MetisVM is faster); CPU time", file=out)
        print(f"load average at end: {load_average()}", file=out)
        if not args.quick:  # a quick run times the compiling run: no target applies
            for line in target_lines(results, summary):
                print(line, file=out)
    return 1 if any_failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``hyperion bench vm`` and ``python -m hyperion.bench.vm``."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    return run(args, sys.stdout, sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
