"""``hyperion fuzz vm``: the compiled tier against the interpreter, both against per-instruction
execution (and pyrevm), on random programs.

Each case is drawn from ``(seed, index)`` alone: a fork, two generated
contracts that call each other (``programs.ProgramGenerator``), storage,
one to three transactions with random calldata, value and gas limits
(tight ones included, so that programs run out of gas at every kind of
instruction). The case runs on a fresh state once per engine:

* ``stepping``: MetisVM one instruction at a time (the tracers' loop:
  stack bounds, static gas, then the instruction), the reference for
  the two block-charged tiers below;
* ``interpreter``: MetisVM with the compiled tier off;
* ``compiled``: the compiled tier forced on (threshold 0) from an empty
  code cache, so every code, created ones included, runs compiled; the
  per-transaction compile budget varies with the case index (1, 24, 200
  or the default instructions), so that compiled traces and code run per
  instruction while the budget is spent meet in every way;
* ``pyrevm`` (``--pyrevm``, optional): revm through its Python bindings,
  for Cancun cases (pyrevm 0.3 does not implement Prague's calldata floor).

For every transaction the engines must agree on the status, the halt
reason, gas used, refund, return data, logs and created address, and
after the case on the state root. A divergence is written as a JSON
reproducer (``--out``, default ``./fuzz-vm-divergences``) that ``--replay
FILE`` runs again.

pyrevm keeps one journal across the transactions of a case (warm and
dirty state of earlier transactions leaks into later ones; see
``bench/engines/pyrevm.py``), so for pyrevm only a case's first
transaction is judged; a difference in a later transaction of a case
whose first one agreed is counted as that known bug, and the first such
case is written as its reproducer (``pyrevm-journal-*.json``). pyrevm
does not charge the sender for gas, so pyrevm cases use a zero gas
price and base fee, and no storage before the first transaction (pyrevm
prices slots inserted with ``insert_account_storage`` as warm and dirty).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from hyperion.fuzz.programs import ProgramGenerator

KEY = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
CONTRACT_A = bytes.fromhex("00000000000000000000000000000000000c0de1")
CONTRACT_B = bytes.fromhex("00000000000000000000000000000000000c0de2")
COINBASE = bytes.fromhex("00000000000000000000000000000000000000cb")
SENDER_BALANCE = 10**21
CONTRACT_BALANCE = 10**18
FORK_WEIGHTS = {  # recent forks carry most of the weight; every era is covered
    "Frontier": 1, "Homestead": 1, "TangerineWhistle": 1, "SpuriousDragon": 1, "Byzantium": 2,
    "Constantinople": 1, "Petersburg": 1, "Istanbul": 2, "Berlin": 2, "London": 2, "Paris": 2, "Shanghai": 3,
    "Cancun": 8, "Prague": 10, "Osaka": 6,
}
PYREVM_SPECS = {"Cancun": "CANCUN"}  # pyrevm 0.3.x lacks Prague's calldata floor (EIP-7623)
MAX_TX_GAS = 2_000_000
ENGINES = ("interpreter", "compiled", "stepping")
COMPILE_BUDGETS = (1, 24, 200, None)  # instructions a transaction may compile (None: the default)


@dataclass
class Transaction:
    to: Optional[bytes]  # None: a contract creation (data is the init code)
    data: bytes
    value: int
    gas: int


@dataclass
class Case:
    seed: int
    index: int
    fork: str
    accounts: dict  # address -> {"code": bytes, "balance": int, "storage": {int: int}}
    transactions: list
    gas_price: int = 1

    def to_json(self) -> dict:
        return {
            "seed": self.seed, "index": self.index, "fork": self.fork, "gas_price": self.gas_price,
            "accounts": {
                "0x" + address.hex(): {
                    "code": "0x" + account["code"].hex(), "balance": account["balance"],
                    "storage": {hex(k): hex(v) for k, v in account["storage"].items()},
                }
                for address, account in self.accounts.items()
            },
            "transactions": [
                {"to": None if tx.to is None else "0x" + tx.to.hex(), "data": "0x" + tx.data.hex(),
                 "value": tx.value, "gas": tx.gas}
                for tx in self.transactions
            ],
        }

    @classmethod
    def from_json(cls, obj: dict) -> "Case":
        accounts = {
            bytes.fromhex(address[2:]): {
                "code": bytes.fromhex(account["code"][2:]), "balance": int(account["balance"]),
                "storage": {int(k, 16): int(v, 16) for k, v in account["storage"].items()},
            }
            for address, account in obj["accounts"].items()
        }
        transactions = [
            Transaction(None if tx["to"] is None else bytes.fromhex(tx["to"][2:]), bytes.fromhex(tx["data"][2:]),
                        int(tx["value"]), int(tx["gas"]))
            for tx in obj["transactions"]
        ]
        return cls(int(obj["seed"]), int(obj["index"]), obj["fork"], accounts, transactions,
                   int(obj.get("gas_price", 1)))


def generate_case(seed: int, index: int, pyrevm: bool = False) -> Case:
    """The case ``index`` of the run with ``seed`` (a pure function of both)."""
    from hyperion.vm.forks import get_fork
    from hyperion.vm.opcodes import table_for

    rng = random.Random(seed * 1_000_003 + index)
    forks = PYREVM_SPECS if pyrevm else FORK_WEIGHTS
    names = list(forks)
    fork_name = rng.choices(names, [FORK_WEIGHTS[n] for n in names])[0]
    fork = get_fork(fork_name)
    others = (CONTRACT_A, CONTRACT_B)
    defined = frozenset(opcode for opcode, spec in enumerate(table_for(fork)) if spec is not None)
    generator = ProgramGenerator(rng, others, defined)
    accounts = {}
    for address, snippets in ((CONTRACT_A, rng.randrange(2, 14)), (CONTRACT_B, rng.randrange(1, 6))):
        storage = {k: rng.choice((1, 2, 2**256 - 1)) for k in (0, 1, 2, 3) if rng.random() < 0.5}
        if pyrevm:
            storage = {}  # pyrevm prices storage inserted before the first call as warm and dirty
        accounts[address] = {"code": generator.program(snippets), "balance": rng.choice((0, CONTRACT_BALANCE)),
                             "storage": storage}
    transactions = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        roll = rng.random()
        if roll < 0.08:  # a creation: the init code is a program that returns a program
            to, data = None, generator.init_code() if rng.random() < 0.5 else generator.program(rng.randrange(1, 6))
        else:
            to = CONTRACT_A if roll < 0.85 else CONTRACT_B
            data = rng.randbytes(rng.choice((0, 4, 32, 36, 68, rng.randrange(100))))
        value = rng.choice((0, 0, 0, 1, 10**18))
        gas_roll = rng.random()
        floor = (53_000 + 2 * len(data) // 32 if to is None else 21_000) + 40 * len(data)  # EIP-7623's worst
        if gas_roll < 0.4:
            gas = MAX_TX_GAS
        elif gas_roll < 0.8:
            gas = rng.randrange(floor, floor + 150_000)
        else:
            gas = rng.randrange(floor, floor + 8_000)
        transactions.append(Transaction(to, data, value, gas))
    return Case(seed, index, fork_name, accounts, transactions, gas_price=0 if pyrevm else 1)


# -- running a case -------------------------------------------------------------------------


def revm_block_hash(number: int) -> bytes:
    """The ancestor hashes revm's in-memory database makes up (keccak of the decimal number), so
    that BLOCKHASH reads the same on MetisVM and pyrevm (before, block 0's hash was 0 on MetisVM
    only, and programs that branch on it diverged from pyrevm: seed 7 case 1568)."""
    from hyperion.primitives.keccak import keccak256

    return keccak256(str(number).encode())


def _logs(logs) -> list:
    return [["0x" + log.address.hex(), ["0x" + t.hex() for t in log.topics], "0x" + log.data.hex()] for log in logs]


def run_metisvm(case: Case, compiled: bool, stepping: bool = False) -> dict:
    """The outcome of ``case`` on MetisVM: per-transaction results and the final state root.
    ``stepping``: every frame runs one instruction at a time (a tracer that records nothing)."""
    from hyperion.execution.environment import BlockEnv
    from hyperion.execution.transaction import InvalidTransaction, apply_transaction
    from hyperion.primitives.secp256k1 import private_key_to_address
    from hyperion.primitives.transactions import FeeMarketTransaction, LegacyTransaction
    from hyperion.state.memory import MemoryState
    from hyperion.vm.compiler.program import Program
    from hyperion.vm.compiler.tiering import TIERS
    from hyperion.vm.forks import get_fork
    from hyperion.vm.tracing import Tracer

    fork = get_fork(case.fork)
    state = MemoryState()
    sender = private_key_to_address(KEY)
    state.set_account(sender, balance=SENDER_BALANCE)
    for address, account in case.accounts.items():
        state.set_account(address, code=account["code"], balance=account["balance"],
                          storage=dict(account["storage"]))
    base_fee = case.gas_price if fork.has_base_fee else 0
    env = BlockEnv(fork=fork, coinbase=COINBASE, number=1, timestamp=1000, base_fee=base_fee,
                   gas_limit=30_000_000, block_hash=revm_block_hash)
    saved = TIERS.enabled, TIERS.threshold, Program.tx_budget
    TIERS.enabled, TIERS.threshold = compiled, 0
    if compiled:
        TIERS.clear()
        Program.tx_budget = COMPILE_BUDGETS[case.index % len(COMPILE_BUDGETS)] or Program.tx_budget
    results = []
    try:
        for nonce, tx in enumerate(case.transactions):
            if fork.has_base_fee:
                signed = FeeMarketTransaction(
                    chain_id=1, nonce=nonce, max_priority_fee_per_gas=0, max_fee_per_gas=case.gas_price, gas=tx.gas,
                    to=tx.to, value=tx.value, data=tx.data, access_list=()).signed(KEY)
            else:
                signed = LegacyTransaction(nonce=nonce, gas_price=case.gas_price, gas=tx.gas, to=tx.to,
                                           value=tx.value, data=tx.data).signed(KEY)
            try:
                result = apply_transaction(state, env, signed, tracer=Tracer() if stepping else None)
            except InvalidTransaction as error:
                results.append({"invalid": str(error)})
                continue
            except Exception as error:  # a bug of the engine (it should never raise): a divergence
                results.append({"crash": f"{type(error).__name__}: {error}"})
                break
            results.append({
                "success": result.success, "error": result.error, "gas_used": result.gas_used,
                "gas_refunded": result.gas_refunded, "output": "0x" + result.output.hex(), "logs": _logs(result.logs),
                "created": None if result.contract_address is None else "0x" + result.contract_address.hex(),
            })
    finally:
        TIERS.enabled, TIERS.threshold, Program.tx_budget = saved
        if compiled:
            TIERS.clear()
    return {"transactions": results, "state_root": "0x" + state.state_root().hex()}


def run_pyrevm(case: Case) -> dict:
    """The outcome of ``case`` on pyrevm: per transaction, what revm reports (no state root)."""
    import pyrevm

    from hyperion.primitives.secp256k1 import private_key_to_address

    sender = "0x" + private_key_to_address(KEY).hex()
    env = pyrevm.Env(
        cfg=pyrevm.CfgEnv(chain_id=1),
        block=pyrevm.BlockEnv(number=1, coinbase="0x" + COINBASE.hex(), timestamp=1000, difficulty=0,
                              prevrandao=b"\x00" * 32, basefee=0, gas_limit=30_000_000, excess_blob_gas=0),
    )
    evm = pyrevm.EVM(env=env, gas_limit=30_000_000, spec_id=PYREVM_SPECS[case.fork])
    evm.insert_account_info(sender, pyrevm.AccountInfo(balance=SENDER_BALANCE, nonce=0))
    for address, account in case.accounts.items():
        evm.insert_account_info("0x" + address.hex(), pyrevm.AccountInfo(
            balance=account["balance"], nonce=0, code=account["code"]))
        for key, value in account["storage"].items():
            evm.insert_account_storage("0x" + address.hex(), key, value)
    results = []
    for tx in case.transactions:
        output = b""
        try:
            if tx.to is None:
                evm.deploy(sender, tx.data, tx.value, tx.gas, 0)
            else:
                output = bytes(evm.message_call(sender, "0x" + tx.to.hex(), tx.data, tx.value, tx.gas, 0))
        except RuntimeError as error:
            if evm.result is None:
                results.append({"invalid": str(error)})
                continue
        result = evm.result
        # a pyrevm Log: address and topics as 0x-strings, data as (topics, bytes)
        logs = [[str(log.address).lower(), [str(t).lower() for t in log.topics], "0x" + bytes(log.data[1]).hex()]
                for log in (result.logs or [])]
        results.append({"success": bool(result.is_success), "gas_used": int(result.gas_used),
                        "output": "0x" + output.hex() if result.is_success and tx.to is not None else None,
                        "logs": logs})
    return {"transactions": results}


def run_engine(case: Case, engine: str) -> dict:
    if engine == "interpreter":
        return run_metisvm(case, compiled=False)
    if engine == "compiled":
        return run_metisvm(case, compiled=True)
    if engine == "stepping":
        return run_metisvm(case, compiled=False, stepping=True)
    if engine == "pyrevm":
        return run_pyrevm(case)
    raise ValueError(f"unknown engine {engine!r}")


def _pyrevm_view(outcome: dict) -> list:
    """What pyrevm can be compared on: status, gas used, logs, and the output of a success."""
    view = []
    for tx in outcome["transactions"]:
        if "invalid" in tx:
            view.append({"invalid": True})
            continue
        view.append({"success": tx["success"], "gas_used": tx["gas_used"], "logs": tx["logs"],
                     "output": tx["output"] if tx["success"] and not tx.get("created") else None})
    return view


@dataclass
class Verdict:
    divergent: bool = False
    journal: bool = False  # pyrevm differs only after the first transaction: its known journal bug
    where: str = ""
    outcomes: dict = field(default_factory=dict)


def check_case(case: Case, pyrevm: bool = False) -> Verdict:
    outcomes = {engine: run_engine(case, engine) for engine in ENGINES}
    verdict = Verdict(outcomes=outcomes)
    for one, other in (("interpreter", "compiled"), ("stepping", "interpreter")):
        if outcomes[one] != outcomes[other]:
            verdict.divergent = True
            verdict.where = _first_difference(outcomes[one], outcomes[other], one, other)
            return verdict
    if pyrevm:
        outcomes["pyrevm"] = run_engine(case, "pyrevm")
        ours, theirs = _pyrevm_view(outcomes["interpreter"]), _pyrevm_view(outcomes["pyrevm"])
        if ours[:1] != theirs[:1]:
            verdict.divergent = True
            verdict.where = _first_difference({"transactions": ours[:1]}, {"transactions": theirs[:1]},
                                              "metisvm", "pyrevm")
        elif ours != theirs:
            verdict.journal = True
            verdict.where = _first_difference({"transactions": ours}, {"transactions": theirs}, "metisvm", "pyrevm")
    return verdict


def _first_difference(a: Any, b: Any, name_a: str, name_b: str, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), name_a, name_b, f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, name_a, name_b, f"{path}[{i}]")
        if len(a) != len(b):
            return f"{path}: {len(a)} items on {name_a}, {len(b)} on {name_b}"
    return f"{path or 'outcome'}: {name_a}={a!r} {name_b}={b!r}"


def write_reproducer(directory: str, prefix: str, case: Case, verdict: Verdict) -> str:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{prefix}-{case.seed}-{case.index}.json")
    with open(path, "w") as out:
        json.dump({"case": case.to_json(), "difference": verdict.where, "outcomes": verdict.outcomes,
                   "replay": f"hyperion fuzz vm --replay {path}"}, out, indent=1)
    return path


# -- the command ---------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperion fuzz vm",
        description="Differential fuzzing of MetisVM: random structured programs on the interpreter, the "
                    "compiled tier and per-instruction execution (and pyrevm with --pyrevm); every divergence is written as a reproducer.")
    parser.add_argument("--cases", type=int, default=1000, help="number of cases (default 1000)")
    parser.add_argument("--seed", type=int, default=None, help="run seed (default: random, printed)")
    parser.add_argument("--start", type=int, default=0, help="first case index (default 0)")
    parser.add_argument("--pyrevm", action="store_true", help="also compare with pyrevm (Cancun/Prague cases)")
    parser.add_argument("--out", default="fuzz-vm-divergences", help="folder for reproducers")
    parser.add_argument("--replay", metavar="FILE", help="run one reproducer file again and show the outcomes")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop after this much wall time")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="worker processes (default 1)")
    return parser


def replay(path: str, pyrevm: bool) -> int:
    try:
        with open(path) as source:
            obj = json.load(source)
        case = Case.from_json(obj["case"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"hyperion fuzz vm: error: cannot read reproducer {path}: {error}", file=sys.stderr)
        return 2
    verdict = check_case(case, pyrevm=pyrevm or "pyrevm" in obj.get("outcomes", {}))
    print(json.dumps(verdict.outcomes, indent=1))
    if verdict.divergent:
        print(f"DIVERGENT: {verdict.where}")
        return 1
    if verdict.journal:
        print(f"pyrevm journal bug: {verdict.where}")
    print("engines agree")
    return 0


def main(argv: Optional[list] = None) -> int:
    """Entry point of ``hyperion fuzz vm`` (runs on a big-stack thread: calls nest 1024 deep)."""
    from hyperion.tools.big_stack import run_on_big_stack

    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM exits through the interpreter's shutdown, which stops --jobs workers with it
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    return run_on_big_stack(_main, args)


@dataclass
class Tally:
    ran: int = 0
    divergences: int = 0
    journal: int = 0
    journal_reproducer: Optional[str] = None


CHUNK = 100  # cases per task with --jobs


def run_cases(seed: int, start: int, count: int, pyrevm: bool, out: str, deadline: Optional[float] = None,
              journal_reproducer: bool = True) -> Tally:
    """Cases ``start .. start + count - 1``; prints and writes every divergence (wall-clock ``deadline``)."""
    tally = Tally()
    for index in range(start, start + count):
        if deadline is not None and time.time() > deadline:
            break
        case = generate_case(seed, index, pyrevm=pyrevm)
        verdict = check_case(case, pyrevm=pyrevm)
        tally.ran += 1
        if verdict.divergent:
            tally.divergences += 1
            path = write_reproducer(out, "divergence", case, verdict)
            print(f"DIVERGENCE case {index}: {verdict.where} -> {path}", flush=True)
        elif verdict.journal:
            tally.journal += 1
            if journal_reproducer and tally.journal_reproducer is None:
                tally.journal_reproducer = write_reproducer(out, "pyrevm-journal", case, verdict)
                print(f"pyrevm journal bug (known) case {index}: {verdict.where} -> {tally.journal_reproducer}",
                      flush=True)
    return tally


def _run_chunk(job: tuple) -> Tally:
    """A worker's task (``--jobs``): a range of cases, on a big stack."""
    from hyperion.tools.big_stack import run_on_big_stack

    return run_on_big_stack(run_cases, *job)


def _main(args: argparse.Namespace) -> int:
    if args.replay:
        return replay(args.replay, args.pyrevm)
    if args.cases < 1 or args.jobs < 1:
        print("hyperion fuzz vm: error: --cases and --jobs must be >= 1", file=sys.stderr)
        return 2
    if args.pyrevm:
        try:
            import pyrevm  # noqa: F401
        except ImportError as error:
            print(f"hyperion fuzz vm: error: --pyrevm needs pyrevm ({error}); install the [bench] extra",
                  file=sys.stderr)
            return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"hyperion fuzz vm: seed {seed}, cases {args.start}..{args.start + args.cases - 1}"
          f"{', with pyrevm' if args.pyrevm else ''}{f', {args.jobs} processes' if args.jobs > 1 else ''}",
          flush=True)
    started = time.monotonic()
    deadline = None if args.max_seconds is None else time.time() + args.max_seconds
    total = Tally()
    jobs = [(seed, start, min(CHUNK, args.start + args.cases - start), args.pyrevm, args.out, deadline)
            for start in range(args.start, args.start + args.cases, CHUNK)]
    if args.jobs == 1:
        results = (run_cases(*job, journal_reproducer=total.journal_reproducer is None) for job in jobs)
        pool = None
    else:
        import multiprocessing

        pool = multiprocessing.get_context("spawn").Pool(args.jobs)
        results = pool.imap(_run_chunk, jobs)
    try:
        for tally in results:
            before = total.ran
            total.ran += tally.ran
            total.divergences += tally.divergences
            total.journal += tally.journal
            total.journal_reproducer = total.journal_reproducer or tally.journal_reproducer
            if total.ran // 1000 != before // 1000:
                print(f"  {total.ran} cases, {total.divergences} divergences, {time.monotonic() - started:.0f} s",
                      flush=True)
    finally:
        if pool is not None:
            pool.terminate()
    summary = f"{total.ran} cases, {total.divergences} divergences"
    if args.pyrevm:
        summary += f", {total.journal} cases where pyrevm differs only after the first transaction (its journal bug)"
    print(f"{summary}; seed {seed}; {time.monotonic() - started:.1f} s")
    return 1 if total.divergences else 0
