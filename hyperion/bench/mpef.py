"""``hyperion bench mpef``: parallel block execution (MPEF, Block-STM) against sequential execution.

Blocks of about ``--gas`` (30M) each, on a MetisDB data dir as a node keeps
it (workers read it through their own LMDB snapshots):

- ``eth``: independent ETH transfers;
- ``erc20``: token transfers among many holders;
- ``pools``: swaps on many independent AMM pools;
- ``one-pool``: every swap on one pool (full conflict);
- ``mixed``: transfers, token transfers, swaps, a contended counter, reverts;
- ``state-tests``: the transactions of GeneralStateTests (stSStoreTest,
  stCallCodes, stMemoryTest, stRandom2), each sent by its own funded account
  to its own copy of the test's target (the other accounts are shared).

For every block and worker count (1 = the sequential executor; then 2 and,
where the machine has more cores, the core count) it runs rounds
interleaved, and prints the median wall time of the execution alone
(transactions decoded afresh each round, so senders are recovered inside the
timed part, as on import; ``--known-senders`` recovers them before, as when a
node builds from its pool, and shows what execution alone gains), the
speedup over sequential, re-executions per transaction, the coordinator's CPU
time and messages per transaction, how many transactions went each way
(A: the coordinator alone, B: a worker recovered the sender, C: a worker ran
it speculatively; see ``execution.parallel.engine.CostModel``), which mode
ran (and why, when a fallback kicked in), and whether the state root,
receipts and logs equal the sequential ones. ``cpu-bound`` is the speedup the
CPU times allow with a core per process (sequential CPU time over the busiest
process's): it holds on a loaded machine, where wall times do not. The load
average is printed: on a shared machine compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

from hyperion.bench.workloads import mpef as W

WORKLOADS = ("eth", "erc20", "pools", "one-pool", "mixed", "state-tests")
STATE_TEST_FOLDERS = ("stSStoreTest", "stCallCodes", "stMemoryTest", "stRandom2")
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "ethereum-tests" / \
    "GeneralStateTests"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperion bench mpef", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, action="append", metavar="N",
                        help="worker counts to run (repeatable; default 2 and the core count)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--blocks", nargs="+", choices=WORKLOADS, default=list(WORKLOADS), metavar="NAME",
                        help=f"blocks to run (default all: {', '.join(WORKLOADS)})")
    parser.add_argument("--gas", type=int, default=30_000_000, help="gas per block (default 30M)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per engine (default 3)")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES,
                        help="GeneralStateTests folder for the state-tests block")
    parser.add_argument("--dir", help="where to put the temporary MetisDB data dirs")
    parser.add_argument("--quick", action="store_true", help="3M-gas blocks, 1 round (a smoke check)")
    parser.add_argument("--known-senders", action="store_true",
                        help="recover senders before the timed part (as when a node builds from its pool): "
                             "the speedup of execution alone")
    return parser


# -- blocks -----------------------------------------------------------------------------------
def _generated(name: str, gas: int):
    """(world, transactions) for a generated block of about ``gas``."""
    per_tx = {"eth": 21_000, "erc20": 52_000, "pools": 32_000, "one-pool": 32_000, "mixed": 40_000}[name]
    count = max(4, gas // per_tx)
    world = W.make_world(count, tokens=4, pairs=count if name in ("pools", "mixed") else 1)
    build: Callable = {
        "eth": W.eth_transfers_block, "erc20": W.token_transfers_block, "pools": W.independent_swaps_block,
        "one-pool": W.one_pool_block, "mixed": W.mixed_block,
    }[name]
    return world, build(world, count)


def _state_test_block(gas: int, fixtures: Path):
    """Transactions of GeneralStateTests, re-sent from fresh accounts to fresh copies of their targets."""
    from hyperion.bench.workloads.mpef import World

    files = [path for folder in STATE_TEST_FOLDERS for path in sorted((fixtures / folder).glob("*.json"))]
    if not files:
        raise SystemExit(f"hyperion bench mpef: no state tests under {fixtures} (use --fixtures or --blocks)")
    world = World(keys=[], senders=[])
    txs = []
    budget = 0
    for number, path in enumerate(files):
        if budget >= gas:
            break
        test = next(iter(json.loads(path.read_text()).values()))
        transaction = test["transaction"]
        for address, account in test["pre"].items():
            address = bytes.fromhex(address[2:])
            world.alloc.setdefault(address, _account(account))
        to = transaction.get("to") or ""
        if to:
            original = bytes.fromhex(to[2:])
            to = W._address("state-test-target", number)
            world.alloc[to] = _account(test["pre"].get("0x" + original.hex(), {}))
        else:
            to = None
        key = W.keccak256(f"state-test-sender-{number}".encode())
        world.keys.append(key)
        sender = W.private_key_to_address(key)
        world.senders.append(sender)
        world.nonces.append(0)
        world.alloc[sender] = (0, 10**24, b"", {})
        tx_gas = min(int(transaction["gasLimit"][0], 16), 500_000)
        value = min(int(transaction["value"][0], 16), 10**18)
        data = bytes.fromhex(transaction["data"][0][2:])
        txs.append(W._tx(world, len(world.keys) - 1, to, value, data, gas=max(tx_gas, 60_000)))
        budget += tx_gas
    return world, txs


def _account(spec: dict) -> tuple:
    storage = {int(k, 16): int(v, 16) for k, v in spec.get("storage", {}).items() if int(v, 16)}
    return (int(spec.get("nonce", "0x0"), 16), int(spec.get("balance", "0x0"), 16),
            bytes.fromhex(spec.get("code", "0x")[2:]), storage)


# -- running ----------------------------------------------------------------------------------
def _env(gas_limit: int):
    from hyperion.vm.environment import BlockEnv
    from hyperion.vm.forks import get_fork

    return BlockEnv(fork=get_fork("Prague"), chain_id=W.CHAIN_ID, coinbase=W.COINBASE, number=1,
                    timestamp=1_700_000_000, gas_limit=gas_limit, base_fee=W.BASE_FEE)


def _run_once(executor, db, raws: list[bytes], env, options, known_senders: bool = False) -> dict:
    from hyperion.primitives.transactions import decode_transaction

    txs = [decode_transaction(raw) for raw in raws]  # (no cached senders: recovered inside the timed part)
    if known_senders:
        for tx in txs:
            tx.sender  # noqa: B018 (recovered and cached before the clock starts)
    state = db.pending(0)
    cpu = time.process_time()
    start = time.perf_counter()
    execution = executor.execute(state, env, txs, options)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return {
        "seconds": seconds, "cpu": cpu, "gas": execution.gas_used,
        "fingerprint": (state.state_root(), [r.consensus_receipt().encode() for r in execution.receipts]),
        "report": getattr(executor, "last_report", None),
    }


def _bench_block(name: str, args, workers: list[int], workdir: Path, log) -> dict:
    from hyperion.chain.executor import SEQUENTIAL, ExecutionOptions, ParallelExecutor
    from hyperion.state.metisdb import MetisDB

    world, txs = _state_test_block(args.gas, args.fixtures) if name == "state-tests" else _generated(name, args.gas)
    raws = [tx.encode() for tx in txs]
    gas_limit = max(args.gas, sum(tx.gas for tx in txs))
    env = _env(gas_limit)
    options = ExecutionOptions(base_fee_recipient=W.FEE_VAULT)
    executors = {1: SEQUENTIAL}
    for count in workers:
        executors[count] = ParallelExecutor(count)
    runs: dict[int, list[dict]] = {count: [] for count in executors}
    with MetisDB(workdir / name, sync=False) as db:
        genesis = db.pending()
        world.load_into(genesis)
        db.commit(genesis, 0)
        try:
            for count, executor in executors.items():  # warm-up: workers started, caches filled
                _run_once(executor, db, raws, env, options, args.known_senders)
            for _ in range(args.rounds):
                for count, executor in executors.items():  # interleaved rounds
                    runs[count].append(_run_once(executor, db, raws, env, options, args.known_senders))
        finally:
            for executor in executors.values():
                if executor is not SEQUENTIAL:
                    executor.close()
    sequential = runs[1]
    base_seconds = statistics.median(run["seconds"] for run in sequential)
    result = {"block": name, "transactions": len(txs), "gas": sequential[0]["gas"],
              "sequential_seconds": round(base_seconds, 4), "parallel": []}
    reference = sequential[0]["fingerprint"]
    for count in workers:
        series = runs[count]
        seconds = statistics.median(run["seconds"] for run in series)
        report = series[-1]["report"]
        result["parallel"].append({
            "workers": count,
            "seconds": round(seconds, 4),
            "speedup": round(base_seconds / seconds, 3) if seconds else None,
            "reexecutions_per_tx": round(statistics.mean(r["report"].reexecutions_per_transaction for r in series), 4),
            "coordinator_cpu_us_per_tx": round(statistics.median(r["report"].coordinator_cpu for r in series)
                                               / len(txs) * 1e6, 1),
            "cpu_speedup": _cpu_speedup(sequential, series, count),
            "messages_per_tx": round(report.messages / len(txs), 3),
            "ways": list(report.ways),
            "mode": report.mode,
            "reason": report.reason,
            "identical": all(run["fingerprint"] == reference for run in series + sequential),
        })
        log(f"  {name}: {count} workers {seconds:.3f}s vs sequential {base_seconds:.3f}s "
            f"(x{base_seconds / seconds:.2f})")
    return result


def _cpu_speedup(sequential: list[dict], series: list[dict], workers: int) -> Optional[float]:
    """The speedup the CPU times allow when every process has a core of its own: sequential CPU time
    over the busiest process's (the coordinator, or the workers' mean). Unlike wall time it holds
    on a loaded machine; wall time on a quiet one is the real measure."""
    base = statistics.median(run["cpu"] for run in sequential)
    busiest = statistics.median(max(run["report"].coordinator_cpu, run["report"].worker_cpu / max(1, workers - 1))
                                for run in series)
    return round(base / busiest, 3) if busiest else None


def _render(results: list[dict], machine: dict) -> str:
    lines = [f"hyperion bench mpef: {machine['cores']} cores, load average {machine['load_before']} -> "
             f"{machine['load_after']}",
             "",
             f"{'block':<12}{'txs':>6}{'Mgas':>7}{'workers':>9}{'seq s':>9}{'par s':>9}{'speedup':>9}"
             f"{'cpu-bound':>10}{'re-exec/tx':>12}{'coord us/tx':>13}{'msg/tx':>8}{'ways A/B/C':>16}  identical  mode"]
    for result in results:
        for run in result["parallel"]:
            mode = run["mode"] + (f" ({run['reason']})" if run["reason"] else "")
            lines.append(
                f"{result['block']:<12}{result['transactions']:>6}{result['gas'] / 1e6:>7.1f}{run['workers']:>9}"
                f"{result['sequential_seconds']:>9.3f}{run['seconds']:>9.3f}{run['speedup']:>8.2f}x"
                f"{run['cpu_speedup'] or 0:>9.2f}x{run['reexecutions_per_tx']:>12.3f}{run['coordinator_cpu_us_per_tx']:>13.1f}"
                f"{run['messages_per_tx']:>8.3f}{'/'.join(map(str, run['ways'])):>16}  "
                f"{'yes' if run['identical'] else 'NO':<9}  {mode}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``hyperion bench mpef``; returns the exit status (1 if any result differed)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.gas, args.rounds = 3_000_000, 1
    cores = os.cpu_count() or 1
    workers = sorted(set(args.workers or [2, cores]))
    if any(count < 2 for count in workers) or args.rounds < 1 or args.gas < 100_000:
        parser.error("--workers must be >= 2 (1 is the sequential baseline, always run), --rounds >= 1, "
                     "--gas >= 100000")
    log = (lambda message: print(message, file=sys.stderr)) if args.json else print
    machine = {"cores": cores, "load_before": [round(x, 2) for x in os.getloadavg()]}
    log(f"{cores} cores, load average {machine['load_before']}")
    results = []
    with tempfile.TemporaryDirectory(prefix="hyperion-bench-mpef-", dir=args.dir) as workdir:
        for name in args.blocks:
            results.append(_bench_block(name, args, workers, Path(workdir), log))
    machine["load_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        print(json.dumps({"machine": machine, "results": results}, indent=2))
    else:
        print()
        print(_render(results, machine))
    identical = all(run["identical"] for result in results for run in result["parallel"])
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
