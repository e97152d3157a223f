"""``hyperion bench db``: MetisDB against py-trie on the same state operations.

For each state size (default 10k, 100k and 1M accounts) both engines hold the
same accounts, whose trie nodes are identical (MetisDB's ``nodes`` table is
copied, keyed by hash, into the dict py-trie's ``HexaryTrie`` runs over, so py-trie does not
spend minutes inserting them one by one; that load is not measured), and then:

(a) update+commit: rounds of a batch of random accounts getting a new balance,
    then the state root. MetisDB: ``pending()``, ``set_balance`` per account,
    ``commit`` (one durable LMDB transaction with flat records, trie nodes,
    changeset and root index). py-trie: ``trie[keccak(address)] = leaf`` per
    account, then ``root_hash``. Both roots must be equal after every round.
    Each round times both engines on the same batch, one right after the
    other, so the ratio reported is the median of the per-round ratios (a
    paired measurement: on a shared machine whose speed drifts by tens of
    percent within seconds, it is far steadier than a ratio of medians, which
    is also printed as ``ratio_of_medians``). MetisDB's commits leave the
    accounts table's writes to its flat overlay, flushed every so many
    versions; here the last round's commit flushes, and the totals over all
    rounds are reported too (``amortized``, against py-trie's total time).
(b) point reads of an account's balance: MetisDB cached (read cache hit),
    uncached (cache emptied: LMDB + record decoding), py-trie ``get`` (keys
    hashed in advance, values not decoded: in py-trie's favour).
(c) proof generation: ``Snapshot.account_proof`` vs py-trie ``get_proof``.

Reads are timed in chunks of ``CHUNK`` calls; the per-call median over the
chunks is reported. Garbage collection is disabled during timed sections for
both engines (as ``timeit`` does). py-trie is skipped above
``--pytrie-max-accounts`` (default 100k: at 1M its update rounds take minutes);
raise it to include 1M. A benchmark, not a test: it prints numbers and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

from hyperion.bench import missing_peer
from hyperion.bench.report import machine_description
from hyperion.primitives.keccak import EMPTY_KECCAK, keccak256
from hyperion.state.account import encode_account
from hyperion.tools.progress import Progress
from hyperion.trie.codec import EMPTY_TRIE_ROOT

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
DEFAULT_BATCH = 10_000
CHUNK = 1_000
INITIAL_BALANCE = 10**18


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "").replace("k", "000").replace("M", "000000"))
                 for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 10k,100k,1M, got {text!r}") from None
    if not sizes or any(size < 100 for size in sizes):
        raise argparse.ArgumentTypeError("sizes must be >= 100 accounts")
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hyperion bench db", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES),
                        help="state sizes in accounts (default 10k,100k,1M)")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                        help="accounts updated per commit (capped at a tenth of the state)")
    parser.add_argument("--rounds", type=int, default=5, help="update+commit rounds per size")
    parser.add_argument("--reads", type=int, default=20_000, help="point reads per measurement")
    parser.add_argument("--proofs", type=int, default=2_000, help="proofs per measurement")
    parser.add_argument("--pytrie-max-accounts", type=int, default=100_000,
                        help="skip py-trie above this state size (default 100k)")
    parser.add_argument("--dir", type=Path, default=None, help="where to create the databases")
    parser.add_argument("--no-sync", action="store_true", help="commit without fsync")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for smoke tests")
    return parser


class _GcPaused:
    """Disable the cyclic GC for a timed section (as ``timeit`` does)."""

    def __enter__(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.collect()
        gc.disable()

    def __exit__(self, *exc_info: object) -> None:
        if self._was_enabled:
            gc.enable()


def _per_call_median(call: Callable[[Any], Any], items: list, chunk: int = CHUNK,
                     before_chunk: Optional[Callable[[], None]] = None) -> float:
    """Median seconds per call, over chunks of ``chunk`` calls."""
    chunk = max(1, min(chunk, len(items)))
    samples = []
    with _GcPaused():
        for start in range(0, len(items) - chunk + 1, chunk):
            part = items[start : start + chunk]
            if before_chunk is not None:
                before_chunk()
            began = time.perf_counter()
            for item in part:
                call(item)
            samples.append((time.perf_counter() - began) / len(part))
    return statistics.median(samples)


def _leaf(nonce: int, balance: int) -> bytes:
    return encode_account(nonce, balance, EMPTY_TRIE_ROOT, EMPTY_KECCAK)


def _bench_size(size: int, args: argparse.Namespace, workdir: Path, log) -> dict[str, Any]:
    from hyperion.state.metisdb import MetisDB

    rng = random.Random(size)
    addresses = [keccak256(index.to_bytes(8, "big"))[:20] for index in range(size)]
    batch = max(1, min(args.batch, size // 10))
    result: dict[str, Any] = {"accounts": size, "batch": batch, "rounds": args.rounds}
    # Commits leave the accounts table's writes to the flat overlay until it holds
    # flat_overlay_limit versions (131072 by default, a flush every ~13 rounds of 10k):
    # here the last round's commit flushes, so the rounds carry that cost at a higher
    # rate than a node would.
    db = MetisDB(workdir / f"metisdb-{size}", sync=not args.no_sync,
                 flat_overlay_limit=max(1, batch * args.rounds - 1))
    try:
        began = time.perf_counter()
        with _GcPaused():
            genesis = db.pending()
            for address in addresses:
                genesis.set_balance(address, INITIAL_BALANCE)
            root = db.commit(genesis, 0)
        result["load_seconds"] = round(time.perf_counter() - began, 3)
        log(f"  loaded {size} accounts into MetisDB in {result['load_seconds']} s")

        pytrie = None
        if size <= args.pytrie_max_accounts:
            pytrie = _pytrie_over_copy(db, root)
            log("  py-trie ready (node dict copied from MetisDB)")
        else:
            result["pytrie_note"] = f"skipped above {args.pytrie_max_accounts} accounts (--pytrie-max-accounts)"

        # (a) update + commit
        ours, theirs = [], []
        our_seconds, their_seconds = 0.0, 0.0
        nonces = dict.fromkeys(addresses, 0)
        for number in range(1, args.rounds + 1):
            chosen = rng.sample(addresses, batch)
            balances = [rng.randrange(1, 10**24) for _ in chosen]
            with _GcPaused():
                began = time.perf_counter()
                pending = db.pending()
                for address, balance in zip(chosen, balances):
                    pending.set_balance(address, balance)
                our_root = db.commit(pending, number)
                elapsed = time.perf_counter() - began
                our_seconds += elapsed
                ours.append(batch / elapsed)
            if pytrie is not None:
                with _GcPaused():
                    began = time.perf_counter()
                    for address, balance in zip(chosen, balances):
                        pytrie[keccak256(address)] = _leaf(nonces[address], balance)
                    their_root = pytrie.root_hash
                    elapsed = time.perf_counter() - began
                    their_seconds += elapsed
                    theirs.append(batch / elapsed)
                if their_root != our_root:
                    raise RuntimeError(f"state roots differ at {size} accounts: MetisDB "
                                       f"{our_root.hex()} vs py-trie {their_root.hex()}")
            log(f"  round {number}: MetisDB {ours[-1]:,.0f} updates/s"
                + (f", py-trie {theirs[-1]:,.0f}" if theirs else ""))
        result["update_commit"] = _pair(statistics.median(ours), statistics.median(theirs) if theirs else None)
        update = result["update_commit"]
        # Totals over all rounds, the last one's accounts-table flush included.
        update["amortized"] = _pair(batch * args.rounds / our_seconds,
                                    batch * args.rounds / their_seconds if theirs else None)
        if theirs:
            paired = statistics.median(mine / other for mine, other in zip(ours, theirs))
            update["ratio_of_medians"] = update["ratio"]
            update["ratio"] = round(paired, 2)
            update["round_ratios"] = [round(mine / other, 2) for mine, other in zip(ours, theirs)]

        # (b) point reads
        sample = rng.sample(addresses, min(args.reads, size))
        with db.reader() as snapshot:
            for address in sample:  # fill the cache
                snapshot.get_balance(address)
            cached = _per_call_median(snapshot.get_balance, sample)
            uncached = _per_call_median(snapshot.get_balance, sample, before_chunk=db.clear_cache)
            proofs = rng.sample(addresses, min(args.proofs, size))
            proof_rate = 1 / _per_call_median(snapshot.account_proof, proofs, chunk=max(1, len(proofs) // 10))
        reads: dict[str, Any] = {
            "metisdb_cached_median_us": round(cached * 1e6, 3),
            "metisdb_uncached_median_us": round(uncached * 1e6, 3),
        }
        if pytrie is not None:
            keys = [keccak256(address) for address in sample]
            pytrie_read = _per_call_median(pytrie.get, keys)
            reads["pytrie_median_us"] = round(pytrie_read * 1e6, 3)
            reads["cached"] = _pair(1 / cached, 1 / pytrie_read)
            reads["uncached"] = _pair(1 / uncached, 1 / pytrie_read)
            proof_keys = [keccak256(address) for address in proofs]
            pytrie_proof_rate = 1 / _per_call_median(pytrie.get_proof, proof_keys,
                                                     chunk=max(1, len(proof_keys) // 10))
            result["proofs"] = _pair(proof_rate, pytrie_proof_rate)
        else:
            reads["cached"] = _pair(1 / cached, None)
            reads["uncached"] = _pair(1 / uncached, None)
            result["proofs"] = _pair(proof_rate, None)
        result["reads"] = reads
    finally:
        db.close()
    return result


def _pair(ours: float, theirs: Optional[float]) -> dict[str, Any]:
    return {
        "metisdb_ops_per_s": round(ours, 1),
        "pytrie_ops_per_s": None if theirs is None else round(theirs, 1),
        "ratio": None if not theirs else round(ours / theirs, 2),
    }


def _pytrie_over_copy(db, root: bytes):
    """py-trie's HexaryTrie over a dict holding a copy of MetisDB's trie nodes."""
    from trie import HexaryTrie as PyTrie

    from hyperion.state.metisdb.nodelog import split_record

    with db._env.begin(buffers=False) as txn:
        rlps = (split_record(record)[0] for record in txn.cursor(db=db._tables.nodes).iternext(keys=False))
        nodes = {keccak256(rlp): rlp for rlp in rlps}
    return PyTrie(nodes, root_hash=root)


def _render(results: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    lines = [f"MetisDB vs py-trie on {machine['cpu']} ({machine['cpus']} CPUs), {machine['python']}", ""]
    header = f"{'accounts':>9} {'operation':<30} {'MetisDB ops/s':>14} {'py-trie ops/s':>14} {'ratio':>8}"
    lines.append(header)
    lines.append("-" * len(header))

    def row(size: int, name: str, pair: dict[str, Any]) -> None:
        theirs = pair["pytrie_ops_per_s"]
        ratio = pair["ratio"]
        lines.append(f"{size:>9,} {name:<30} {pair['metisdb_ops_per_s']:>14,.0f} "
                     f"{'n/a' if theirs is None else f'{theirs:,.0f}':>14} "
                     f"{'n/a' if ratio is None else f'{ratio:.1f}x':>8}")

    for result in results:
        size = result["accounts"]
        row(size, f"update+commit (batch {result['batch']:,})", result["update_commit"])
        reads = result["reads"]
        row(size, "point read, cached", reads["cached"])
        row(size, "point read, uncached", reads["uncached"])
        row(size, "proof generation", result["proofs"])
        update = result["update_commit"]
        if "round_ratios" in update:
            lines.append(f"{'':>9} update+commit: ratio is the median of the paired rounds "
                         f"{', '.join(f'{ratio:.1f}x' for ratio in update['round_ratios'])}; "
                         f"ratio of medians {update['ratio_of_medians']:.1f}x")
        amortized = update["amortized"]
        lines.append(f"{'':>9} update+commit over all rounds (the last also flushes the accounts table): "
                     f"{amortized['metisdb_ops_per_s']:,.0f} ops/s"
                     + (f", {amortized['ratio']:.1f}x py-trie's total" if amortized["ratio"] else ""))
        lines.append(f"{'':>9} cached read median {reads['metisdb_cached_median_us']} us, uncached "
                     f"{reads['metisdb_uncached_median_us']} us; MetisDB load {result['load_seconds']} s"
                     + (f"; py-trie {result['pytrie_note']}" if "pytrie_note" in result else ""))
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of ``hyperion bench db``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batch, args.rounds, args.reads, args.proofs = [2_000, 10_000], 1_000, 2, 2_000, 200
    if args.batch < 1 or args.rounds < 1 or args.reads < CHUNK or args.proofs < 10:
        parser.error("--batch and --rounds must be >= 1, --reads >= 1000, --proofs >= 10")
    try:
        import trie  # noqa: F401  (is py-trie installed?)
    except ImportError:
        print(f"hyperion bench db: {missing_peer('py-trie')}; MetisDB numbers only", file=sys.stderr)
        args.pytrie_max_accounts = -1
    log = (lambda message: print(message, file=sys.stderr)) if args.json else print
    machine = machine_description()
    results = []
    with tempfile.TemporaryDirectory(prefix="hyperion-bench-db-", dir=args.dir) as workdir, \
            Progress("bench db", total=len(args.sizes), unit="sizes", animate=False) as bar:
        for size in args.sizes:
            bar.update(description=f"bench db: {size:,} accounts")
            log(f"{size:,} accounts:")
            results.append(_bench_size(size, args, Path(workdir), log))
            bar.advance()
    if args.json:
        print(json.dumps({"machine": machine, "sync": not args.no_sync, "results": results}, indent=2))
    else:
        print()
        print(_render(results, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
