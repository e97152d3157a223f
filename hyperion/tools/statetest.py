"""Running GeneralStateTests-format fixtures against Hyperion's EVM.

A state test file maps test names to ``{env, pre, transaction, post}``;
``post`` maps a fork name to a list of entries, each one transaction
(``txbytes``, chosen by ``indexes`` from the transaction's data/gas/value
arrays) with the expected post-state root ``hash``, the ``logs`` hash and,
for transactions that must be rejected, ``expectException``. Every entry is
one *case*. A case passes when the transaction is accepted or rejected as
expected and both the state root and the logs hash match.

The runner never lets one case stop the run: malformed fixtures and
executor crashes become failed cases. The executor is a parameter so the
parsing and reporting logic can be tested without the EVM.
"""

from __future__ import annotations

import multiprocessing
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional, Union

from hyperion.execution.environment import BlockEnv
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.logs import logs_hash
from hyperion.tools.big_stack import run_on_big_stack
from hyperion.tools.fixtures import (
    LFS_SKIP_REASON,
    AccountSpec,
    FixtureError,
    LfsPointer,
    load_json,
    parse_address,
    parse_alloc,
    parse_bytes,
    parse_int,
    parse_word,
)
from hyperion.vm.forks import Fork, UnknownFork, apply_blob_schedule, get_fork

EMPTY_LOGS_HASH = logs_hash(())


class NoFixturesFound(ValueError):
    """A path given to the runner does not exist or holds no *.json file."""


class CaseIndex(NamedTuple):
    """Which data/gas/value entry of the fixture's transaction a case uses."""

    data: int
    gas: int
    value: int


@dataclass
class StateTestCase:
    """One post entry, parsed and ready to execute."""

    file: str
    name: str
    fork: Fork
    index: CaseIndex
    pre: dict[bytes, AccountSpec]
    env: BlockEnv
    tx_bytes: bytes
    expected_root: bytes
    expected_logs: bytes
    expected_exception: Optional[str]
    expected_state: Optional[dict[bytes, AccountSpec]] = None
    fork_name: Optional[str] = None  # as the fixture names it (``ConstantinopleFix``), else ``fork.name``
    checks_rejection: bool = True  # compare acceptance with expectException (see _build_case)


@dataclass
class ExecutionOutcome:
    """What executing a case produced. ``state`` (optional, never sent
    between processes) lets the checker explain a state-root mismatch."""

    state_root: bytes
    logs_hash: bytes
    rejection: Optional[str] = None
    state: Any = None


Executor = Callable[[StateTestCase], ExecutionOutcome]


@dataclass
class CaseResult:
    """The verdict on one case (or on a fixture that could not be read)."""

    file: str
    name: Optional[str]
    fork: Optional[str]
    index: Optional[CaseIndex]
    passed: bool
    skipped: bool = False
    reason: Optional[str] = None
    expected_root: Optional[str] = None
    actual_root: Optional[str] = None
    expected_logs: Optional[str] = None
    actual_logs: Optional[str] = None
    expected_exception: Optional[str] = None
    actual_exception: Optional[str] = None
    error: Optional[str] = None
    traceback: Optional[str] = None
    state_diff: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return not (self.passed or self.skipped)

    @property
    def case_id(self) -> str:
        """``file::name[fork] d=.. g=.. v=..``: names the case in known-failure lists."""
        text = self.file if self.name is None else f"{self.file}::{self.name}"
        if self.fork is not None:
            text += f"[{self.fork}]"
        if self.index is not None:
            text += f" d={self.index.data} g={self.index.gas} v={self.index.value}"
        return text


# -- loading ------------------------------------------------------------------


def state_test_block_hashes(current_number: int) -> Callable[[int], Optional[bytes]]:
    """BLOCKHASH in state tests, as geth's runner (which fills them) defines
    it: block n's hash is keccak256 of n written in decimal, for the 256
    blocks below the current one."""

    def block_hash(number: int) -> Optional[bytes]:
        if current_number - 256 <= number < current_number:
            return keccak256(str(number).encode())
        return None

    return block_hash


def _parse_env(env: Any, config: Any) -> dict[str, Any]:
    """The BlockEnv fields of a test (all but the fork)."""
    if not isinstance(env, dict):
        raise FixtureError("env: expected an object")
    number = parse_int(env["currentNumber"], "env.currentNumber")
    if "currentRandom" in env:
        prev_randao = parse_word(env["currentRandom"], "env.currentRandom")
    else:
        prev_randao = parse_word(env.get("currentDifficulty", 0), "env.currentDifficulty")
    beacon_root = env.get("currentBeaconRoot")
    chain_id = 1
    if isinstance(config, dict) and "chainid" in config:
        chain_id = parse_int(config["chainid"], "config.chainid")
    return dict(
        chain_id=chain_id,
        coinbase=parse_address(env["currentCoinbase"], "env.currentCoinbase"),
        number=number,
        timestamp=parse_int(env["currentTimestamp"], "env.currentTimestamp"),
        gas_limit=parse_int(env["currentGasLimit"], "env.currentGasLimit"),
        base_fee=parse_int(env.get("currentBaseFee", 0), "env.currentBaseFee"),
        prev_randao=prev_randao,
        difficulty=parse_int(env.get("currentDifficulty", 0), "env.currentDifficulty"),
        excess_blob_gas=parse_int(env.get("currentExcessBlobGas", 0), "env.currentExcessBlobGas"),
        parent_beacon_block_root=(
            None if beacon_root is None else parse_word(beacon_root, "env.currentBeaconRoot")
        ),
        block_hash=state_test_block_hashes(number),
    )


def _describe_malformed(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"malformed fixture: missing key {exc.args[0]!r}"
    return f"malformed fixture: {exc}"


def _parse_index(entry: Any) -> CaseIndex:
    if not isinstance(entry, dict):
        raise FixtureError("post entry: expected an object")
    indexes = entry["indexes"]
    if not isinstance(indexes, dict):
        raise FixtureError("post entry: indexes is not an object")
    return CaseIndex(
        parse_int(indexes["data"], "indexes.data"),
        parse_int(indexes["gas"], "indexes.gas"),
        parse_int(indexes["value"], "indexes.value"),
    )


class _TestParts:
    """The parts of a test shared by all its post entries, parsed once on first use."""

    def __init__(self, test: dict) -> None:
        self._test = test
        self._parsed: Optional[tuple[dict, dict]] = None
        self.config = test.get("config")
        self._transactions: dict[CaseIndex, bytes] = {}

    def transaction(self, index: CaseIndex, chain_id: int) -> bytes:
        """The encoded transaction for ``index`` (built and signed once)."""
        tx = self._transactions.get(index)
        if tx is None:
            tx = self._transactions[index] = build_transaction(self._test["transaction"], index, chain_id)
        return tx

    def get(self) -> tuple[dict[bytes, AccountSpec], dict[str, Any]]:
        if self._parsed is None:
            self._parsed = (
                parse_alloc(self._test["pre"], "pre"),
                _parse_env(self._test["env"], self._test.get("config")),
            )
        return self._parsed


def _fork_with_config(fork: Fork, config: Any) -> Fork:
    """The post's fork with the blob schedule the fixture's ``config`` gives for it, if any."""
    if not fork.has_blobs or not isinstance(config, dict) or config.get("blobSchedule") is None:
        return fork
    try:
        return apply_blob_schedule([fork], config["blobSchedule"])[0]
    except ValueError as exc:
        raise FixtureError(f"config.blobSchedule: {exc}") from None


def _pick(values: Any, index: int, what: str) -> Any:
    if not isinstance(values, list):
        raise FixtureError(f"transaction.{what}: expected a list")
    if not 0 <= index < len(values):
        raise FixtureError(f"transaction.{what}: no entry {index}")
    return values[index]


def _access_list(entries: Any) -> tuple:
    if not isinstance(entries, list):
        raise FixtureError("transaction.accessLists: expected a list of {address, storageKeys}")
    return tuple(
        (parse_address(e["address"], "access list address"),
         tuple(parse_word(key, "access list storage key") for key in e["storageKeys"]))
        for e in entries
    )


def build_transaction(spec: Any, index: CaseIndex, chain_id: int) -> bytes:
    """The encoded transaction a post entry stands for, for fixtures that
    give no ``txbytes`` (ethereum/tests filled before 2021): the data, gas
    and value picked by ``index`` from the fixture's ``transaction``, signed
    with its ``secretKey``. Legacy transactions are signed without a chain
    id (valid under every fork); the typed form follows the fields present."""
    from hyperion.primitives.transactions import (
        AccessListTransaction,
        Authorization,
        BlobTransaction,
        FeeMarketTransaction,
        LegacyTransaction,
        SetCodeTransaction,
    )

    if not isinstance(spec, dict):
        raise FixtureError("transaction: expected an object")
    key = parse_bytes(spec["secretKey"], "transaction.secretKey", 32)
    to_text = spec.get("to") or ""
    to = parse_address(to_text, "transaction.to") if to_text not in ("", "0x") else None
    nonce = parse_int(spec["nonce"], "transaction.nonce")
    data = parse_bytes(_pick(spec["data"], index.data, "data"), "transaction.data")
    gas = parse_int(_pick(spec["gasLimit"], index.gas, "gasLimit"), "transaction.gasLimit")
    value = parse_int(_pick(spec["value"], index.value, "value"), "transaction.value")
    access_lists = spec.get("accessLists")
    access_list = None
    if access_lists is not None:
        entry = _pick(access_lists, index.data, "accessLists")
        access_list = None if entry is None else _access_list(entry)
    if "maxFeePerGas" in spec:
        fees = (parse_int(spec["maxPriorityFeePerGas"], "transaction.maxPriorityFeePerGas"),
                parse_int(spec["maxFeePerGas"], "transaction.maxFeePerGas"))
        if spec.get("blobVersionedHashes") is not None:
            tx = BlobTransaction(
                chain_id, nonce, *fees, gas, to, value, data, access_list or (),
                parse_int(spec["maxFeePerBlobGas"], "transaction.maxFeePerBlobGas"),
                tuple(parse_word(h, "blob versioned hash") for h in spec["blobVersionedHashes"]),
            )
        elif spec.get("authorizationList") is not None:
            authorizations = tuple(
                Authorization(
                    parse_int(a["chainId"], "authorization chainId"),
                    parse_address(a["address"], "authorization address"),
                    parse_int(a["nonce"], "authorization nonce"),
                    parse_int(a.get("yParity", a.get("v")), "authorization yParity"),
                    parse_int(a["r"], "authorization r"),
                    parse_int(a["s"], "authorization s"),
                )
                for a in spec["authorizationList"]
            )
            tx = SetCodeTransaction(chain_id, nonce, *fees, gas, to, value, data, access_list or (), authorizations)
        else:
            tx = FeeMarketTransaction(chain_id, nonce, *fees, gas, to, value, data, access_list or ())
        return tx.signed(key).encode()
    gas_price = parse_int(spec["gasPrice"], "transaction.gasPrice")
    if access_list is not None:
        return AccessListTransaction(chain_id, nonce, gas_price, gas, to, value, data, access_list).signed(key).encode()
    return LegacyTransaction(nonce, gas_price, gas, to, value, data).signed(key).encode()


def _build_case(file: str, name: str, fork: Fork, index: CaseIndex, entry: dict, parts: _TestParts,
                fork_name: Optional[str] = None) -> StateTestCase:
    pre, env_fields = parts.get()
    fork = _fork_with_config(fork, parts.config)
    if "txbytes" in entry:
        tx_bytes = parse_bytes(entry["txbytes"], "txbytes")
    else:
        tx_bytes = parts.transaction(index, env_fields["chain_id"])
    expected_exception = entry.get("expectException") or None
    expected_state = entry.get("state")
    return StateTestCase(
        file=file,
        name=name,
        fork=fork,
        index=index,
        pre=pre,
        env=BlockEnv(fork=fork, **env_fields),
        tx_bytes=tx_bytes,
        expected_root=parse_bytes(entry["hash"], "hash", 32),
        expected_logs=parse_bytes(entry["logs"], "logs", 32),
        expected_exception=None if expected_exception is None else str(expected_exception),
        expected_state=None if expected_state is None else parse_alloc(expected_state, "post state"),
        fork_name=fork_name,
        # fixtures filled before txbytes existed have no expectException either:
        # the post-state root alone says whether the transaction was applied
        checks_rejection="txbytes" in entry or "expectException" in entry,
    )


def iter_cases(
    path: Path,
    file: Optional[str] = None,
    fork: Optional[Fork] = None,
    name_filter: Optional[str] = None,
) -> Iterator[Union[StateTestCase, CaseResult]]:
    """The cases of one fixture file, in file order.

    Yields a ``StateTestCase`` per runnable post entry and a ready
    ``CaseResult`` for entries that are skipped (a fork name MetisVM does
    not know) or malformed. Fork names are matched with their aliases
    (``ConstantinopleFix`` is Petersburg, ``EIP150`` Tangerine Whistle). ``fork`` restricts the run to that fork's entries;
    ``name_filter`` keeps tests whose ``file::name`` contains it. A Git-LFS
    pointer file (content not present) yields one skipped result.
    """
    file = str(path) if file is None else file
    try:
        fixture = load_json(path)
        if not isinstance(fixture, dict):
            raise FixtureError("top level is not an object of tests")
    except LfsPointer:
        if name_filter is None or name_filter in file:
            yield CaseResult(file, None, None, None, passed=False, skipped=True, reason=LFS_SKIP_REASON)
        return
    except FixtureError as exc:
        if name_filter is None or name_filter in file:
            yield CaseResult(file, None, None, None, passed=False, error=str(exc))
        return
    for name, test in fixture.items():
        if name_filter is not None and name_filter not in f"{file}::{name}":
            continue
        try:
            if not isinstance(test, dict):
                raise FixtureError("test is not an object")
            post = test["post"]
            if not isinstance(post, dict):
                raise FixtureError("post is not an object of forks")
        except (FixtureError, KeyError) as exc:
            yield CaseResult(file, name, None, None, passed=False, error=_describe_malformed(exc))
            continue
        parts = _TestParts(test)
        for fork_name, entries in post.items():
            try:
                post_fork = get_fork(fork_name)
            except UnknownFork:
                post_fork = None
            if fork is not None and (post_fork is None or post_fork.name != fork.name):
                continue
            if not isinstance(entries, list):
                yield CaseResult(file, name, fork_name, None, passed=False,
                                 error=f"malformed fixture: post[{fork_name!r}] is not a list")
                continue
            for entry in entries:
                try:
                    index = _parse_index(entry)
                except (FixtureError, KeyError) as exc:
                    yield CaseResult(file, name, fork_name, None, passed=False, error=_describe_malformed(exc))
                    continue
                if post_fork is None:
                    yield CaseResult(file, name, fork_name, index, passed=False, skipped=True,
                                     reason=f"fork {fork_name} not supported")
                    continue
                try:
                    yield _build_case(file, name, post_fork, index, entry, parts, fork_name)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    yield CaseResult(file, name, fork_name, index, passed=False, error=_describe_malformed(exc))


# -- executing ----------------------------------------------------------------


def execute_case(case: StateTestCase, engine=None) -> ExecutionOutcome:
    """The real executor: Hyperion's in-memory state, transaction decoder and
    state-transition function. A rejected transaction leaves the state as
    it was (no fee, no coinbase touch). With a parallel ``engine`` the
    transaction runs as a one-transaction block through it."""
    from hyperion.execution.parallel import TransactionNotIncludable
    from hyperion.execution.transaction import InvalidTransaction, apply_transaction
    from hyperion.primitives.transactions import TransactionDecodeError, decode_transaction
    from hyperion.state.memory import MemoryState

    state = MemoryState()
    for address, account in case.pre.items():
        state.set_account(
            address,
            nonce=account.nonce,
            balance=account.balance,
            code=account.code,
            storage=dict(account.storage),
        )
    try:
        tx = decode_transaction(case.tx_bytes)
        if engine is None:
            result = apply_transaction(state, case.env, tx)
        else:
            result = engine.run(state, case.env, [tx]).results[0]
    except (TransactionDecodeError, InvalidTransaction) as exc:
        return ExecutionOutcome(state.state_root(), EMPTY_LOGS_HASH, f"{type(exc).__name__}: {exc}", state)
    except TransactionNotIncludable as exc:
        return ExecutionOutcome(state.state_root(), EMPTY_LOGS_HASH, f"InvalidTransaction: {exc.reason}", state)
    return ExecutionOutcome(state.state_root(), logs_hash(result.logs), None, state)


class ParallelCaseExecutor:
    """``execute_case`` through the parallel executor on ``workers`` processes (``statetest
    --parallel N``): each case is a one-transaction block, forced down the parallel path.
    Picklable for ``--jobs``: each process starts its own warm workers."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._engine = None

    def __getstate__(self) -> dict:
        return {"workers": self.workers}

    def __setstate__(self, state: dict) -> None:
        self.workers = state["workers"]
        self._engine = None

    def __call__(self, case: StateTestCase) -> ExecutionOutcome:
        if self._engine is None:
            from hyperion.execution.parallel import ParallelEngine

            self._engine = ParallelEngine(self.workers, **ParallelEngine.CHECK)
        return execute_case(case, self._engine)


def _hex(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else "0x" + data.hex()


MAX_DIFF_LINES = 20


def describe_state_diff(state: Any, expected: dict[bytes, AccountSpec]) -> list[str]:
    """Where a post state differs from the fixture's expected accounts (only
    the accounts and slots the fixture lists; extra accounts are not seen)."""
    lines: list[str] = []
    for address, account in expected.items():
        where = "0x" + address.hex()
        if not state.account_exists(address):
            lines.append(f"{where}: account missing")
            continue
        for what, actual, wanted in (
            ("nonce", state.get_nonce(address), account.nonce),
            ("balance", state.get_balance(address), account.balance),
        ):
            if actual != wanted:
                lines.append(f"{where}: {what} {actual} != expected {wanted}")
        if state.get_code(address) != account.code:
            lines.append(f"{where}: code differs")
        for slot, wanted in account.storage.items():
            actual = state.get_storage(address, slot)
            if actual != wanted:
                lines.append(f"{where}: storage[{slot:#x}] = {actual:#x}, expected {wanted:#x}")
        if len(lines) >= MAX_DIFF_LINES:
            return lines[:MAX_DIFF_LINES] + ["..."]
    return lines


def check_case(case: StateTestCase, executor: Executor = execute_case) -> CaseResult:
    """Execute one case and compare it with the fixture's expectations."""
    result = CaseResult(
        case.file, case.name, case.fork_name or case.fork.name, case.index, passed=False,
        expected_root=_hex(case.expected_root), expected_logs=_hex(case.expected_logs),
        expected_exception=case.expected_exception,
    )
    try:
        outcome = executor(case)
    except Exception as exc:  # any crash is this case's failure, never the run's
        result.error = f"{type(exc).__name__}: {exc}"
        result.traceback = traceback.format_exc()
        return result
    result.actual_root = _hex(outcome.state_root)
    result.actual_logs = _hex(outcome.logs_hash)
    result.actual_exception = outcome.rejection
    problems = []
    if not case.checks_rejection:
        pass
    elif case.expected_exception is not None and outcome.rejection is None:
        problems.append("transaction accepted but the fixture expects it to be rejected")
    elif case.expected_exception is None and outcome.rejection is not None:
        problems.append("transaction rejected but the fixture expects it to be valid")
    if outcome.state_root != case.expected_root:
        problems.append("state root mismatch")
        if case.expected_state is not None and outcome.state is not None:
            try:
                result.state_diff = describe_state_diff(outcome.state, case.expected_state)
            except Exception as exc:  # a diagnostic must not turn into a crash
                result.state_diff = [f"(could not diff the state: {type(exc).__name__}: {exc})"]
    if outcome.logs_hash != case.expected_logs:
        problems.append("logs hash mismatch")
    result.passed = not problems
    result.error = "; ".join(problems) or None
    return result


def run_file(
    path: Path,
    file: Optional[str] = None,
    fork: Optional[Fork] = None,
    name_filter: Optional[str] = None,
    executor: Executor = execute_case,
) -> list[CaseResult]:
    """Every case of one fixture file, run in the calling thread."""
    file = str(path) if file is None else file
    results = []
    try:
        for item in iter_cases(path, file, fork, name_filter):
            results.append(item if isinstance(item, CaseResult) else check_case(item, executor))
    except Exception as exc:  # a loader bug must cost one file, not the run
        results.append(CaseResult(file, None, None, None, passed=False,
                                  error=f"runner crashed: {type(exc).__name__}: {exc}",
                                  traceback=traceback.format_exc()))
    return results


# -- finding and scheduling ---------------------------------------------------


def find_fixture_files(paths: Iterable[Union[str, Path]]) -> list[Path]:
    """The fixture files named by ``paths``: files as given, folders searched
    recursively for *.json (sorted, so runs are reproducible)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                raise NoFixturesFound(f"no *.json fixture files under {given}")
            files.extend(found)
        else:
            raise NoFixturesFound(f"no such file or folder: {given}")
    return files


def _run_file_job(job: tuple) -> list[CaseResult]:
    """One file in a worker process (module level so it pickles)."""
    path, fork_name, name_filter, executor = job
    fork = None if fork_name is None else get_fork(fork_name)
    return run_on_big_stack(run_file, Path(path), path, fork, name_filter, executor)


def run_files(
    files: list[Path],
    *,
    fork: Optional[Fork] = None,
    name_filter: Optional[str] = None,
    jobs: int = 1,
    executor: Optional[Executor] = None,
) -> Iterator[list[CaseResult]]:
    """Each file's results, in the order of ``files``.

    ``executor`` defaults to ``execute_case``. With ``jobs`` > 1 the files
    are spread over that many worker processes (the executor must then be a
    module-level function so it pickles).
    """
    if executor is None:
        executor = execute_case
    if jobs <= 1 or len(files) <= 1:
        for path in files:
            yield run_on_big_stack(run_file, path, str(path), fork, name_filter, executor)
        return
    fork_name = None if fork is None else fork.name
    job_list = [(str(path), fork_name, name_filter, executor) for path in files]
    # spawn, not fork: the parent may already run threads.
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=min(jobs, len(files))) as pool:
        yield from pool.imap(_run_file_job, job_list, chunksize=1)
