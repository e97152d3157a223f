"""Running BlockchainTests fixtures (ethereum/tests and execution-spec-tests) through block import.

A blockchain test file maps test names to ``{network, genesisBlockHeader,
genesisRLP, pre, blocks, postState | postStateHash, lastblockhash,
config?}``. ``network`` names a fork (``Cancun``) or a transition
(``PragueToOsakaAtTime15k``); ``config.blobSchedule`` (execution-spec-tests)
gives the blob parameters of each blob fork and ``config.chainid`` the
chain id. Every test is one *case*:

1. the genesis state is built from ``pre``; its root must be the one in
   ``genesisRLP``'s header, and that header must hash to the fixture's;
2. each block is imported with ``hyperion.chain.importer.import_block`` on
   top of the block its header names as parent (any branch). A block with
   ``expectException`` must be rejected, any other must be accepted; a
   rejected block changes nothing, and the chain goes on from its parent;
3. the head (the last accepted block after the merge, the heaviest before
   it) must be ``lastblockhash``, and its state must equal ``postState``
   (or hash to ``postStateHash``).

Nothing stops the run: a malformed fixture or a crash is a failed case with
its message. A Git-LFS pointer file (content not present) is a skipped
case, never a pass. Tests of a fork MetisVM does not implement are skipped
with that reason.
"""

from __future__ import annotations

import multiprocessing
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union

from hyperion.chain.blocks import BlockDecodeError, Header, decode_block
from hyperion.chain.executor import ParallelExecutor, default_executor
from hyperion.execution.parallel import ParallelEngine
from hyperion.chain.importer import ChainSpec, ImportedBlock, InvalidBlock, import_block
from hyperion.chain.schedule import ForkSchedule, UnsupportedFork, canonical_fork_name, parse_blob_params
from hyperion.primitives import rlp
from hyperion.state.memory import MemoryState
from hyperion.tools.big_stack import run_on_big_stack
from hyperion.tools.fixtures import FixtureError, load_json, parse_alloc, parse_bytes, parse_int
from hyperion.tools.statetest import CaseResult, describe_state_diff

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"
MAX_DIFF_LINES = 20


@dataclass
class BlockEntry:
    """One block of a test: its RLP and, for a block that must be rejected, the expected exception."""

    rlp: bytes
    expect_exception: Optional[str]


@dataclass
class BlockTest:
    file: str
    name: str
    network: str
    spec: ChainSpec
    pre: dict
    genesis_rlp: bytes
    genesis_hash: bytes
    blocks: list[BlockEntry]
    post_state: Optional[dict]
    post_state_hash: Optional[bytes]
    last_block_hash: bytes


def is_lfs_pointer(path: Path) -> bool:
    """Whether ``path`` is a Git-LFS pointer file instead of the content it stands for."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(LFS_POINTER_PREFIX)) == LFS_POINTER_PREFIX
    except OSError:
        return False


def _network_matches(network: str, fork: Optional[str]) -> bool:
    """``--fork NAME`` keeps tests of that network and transitions into that fork."""
    if fork is None:
        return True
    if network.lower() == fork.lower():
        return True
    target = network.rsplit("To", 1)[-1].split("At", 1)[0] if "To" in network else network
    try:
        return canonical_fork_name(target) == canonical_fork_name(fork)
    except UnsupportedFork:
        return False


def _parse_test(file: str, name: str, test: Any) -> BlockTest:
    if not isinstance(test, dict):
        raise FixtureError("test is not an object")
    network = test["network"]
    if not isinstance(network, str):
        raise FixtureError("network is not a string")
    config = test.get("config") or {}
    if not isinstance(config, dict):
        raise FixtureError("config is not an object")
    blob_schedule = {}
    raw_blobs = config.get("blobSchedule") or {}
    if not isinstance(raw_blobs, dict):
        raise FixtureError("config.blobSchedule is not an object")
    for fork_name, entry in raw_blobs.items():
        blob_schedule[fork_name] = parse_blob_params(entry, f"config.blobSchedule.{fork_name}")
    schedule = ForkSchedule.from_network(network, blob_schedule)
    schedule.check_supported()
    chain_id = parse_int(config.get("chainid", 1), "config.chainid")
    blocks_raw = test["blocks"]
    if not isinstance(blocks_raw, list):
        raise FixtureError("blocks is not a list")
    blocks = []
    for index, entry in enumerate(blocks_raw):
        if not isinstance(entry, dict):
            raise FixtureError(f"blocks[{index}] is not an object")
        blocks.append(BlockEntry(parse_bytes(entry["rlp"], f"blocks[{index}].rlp"), _expected_exception(entry, network)))
    genesis_header = test["genesisBlockHeader"]
    if not isinstance(genesis_header, dict):
        raise FixtureError("genesisBlockHeader is not an object")
    genesis_rlp = test.get("genesisRLP")
    genesis_rlp = (_header_from_json(genesis_header) if genesis_rlp is None
                   else parse_bytes(genesis_rlp, "genesisRLP"))
    post_state = test.get("postState")
    post_state_hash = test.get("postStateHash")
    if post_state is None and post_state_hash is None:
        raise FixtureError("neither postState nor postStateHash given")
    return BlockTest(
        file=file, name=name, network=network, spec=ChainSpec(chain_id, schedule),
        pre=parse_alloc(test["pre"], "pre"),
        genesis_rlp=genesis_rlp,
        genesis_hash=parse_bytes(genesis_header["hash"], "genesisBlockHeader.hash", 32),
        blocks=blocks,
        post_state=None if post_state is None else parse_alloc(post_state, "postState"),
        post_state_hash=None if post_state_hash is None else parse_bytes(post_state_hash, "postStateHash", 32),
        last_block_hash=parse_bytes(test["lastblockhash"], "lastblockhash", 32),
    )


def _expected_exception(entry: dict, network: str) -> Optional[str]:
    """The exception a block must be rejected with, or None for a block that must be accepted.

    ``expectException`` (execution-spec-tests and current ethereum/tests), or
    the older ``expectExceptionALL`` / ``expectException<Network>``; a block
    given without its ``blockHeader`` is an invalid block in both formats.
    """
    for key in ("expectException", "expectExceptionALL", f"expectException{network}"):
        if entry.get(key):
            return str(entry[key])
    if "blockHeader" not in entry:
        return "an invalid block (given without its blockHeader)"
    return None


_HEADER_JSON_FIELDS = (
    ("parentHash", 32), ("uncleHash", 32), ("coinbase", 20), ("stateRoot", 32), ("transactionsTrie", 32),
    ("receiptTrie", 32), ("bloom", 256), ("difficulty", None), ("number", None), ("gasLimit", None),
    ("gasUsed", None), ("timestamp", None), ("extraData", 0), ("mixHash", 32), ("nonce", 8),
)
_OPTIONAL_HEADER_JSON_FIELDS = (("baseFeePerGas", None), ("withdrawalsRoot", 32), ("blobGasUsed", None),
                                ("excessBlobGas", None), ("parentBeaconBlockRoot", 32), ("requestsHash", 32))


def _header_from_json(fields: dict) -> bytes:
    """The RLP of a genesis block given only as ``genesisBlockHeader`` fields (older fixtures)."""
    items = []
    for name, size in _HEADER_JSON_FIELDS + _OPTIONAL_HEADER_JSON_FIELDS:
        if name not in fields:
            if (name, size) in _OPTIONAL_HEADER_JSON_FIELDS:
                break
            raise FixtureError(f"genesisBlockHeader: missing {name}")
        if size is None:
            items.append(parse_int(fields[name], f"genesisBlockHeader.{name}"))
        else:
            items.append(parse_bytes(fields[name], f"genesisBlockHeader.{name}", size or None))
    return rlp.encode([items, [], []] + ([[]] if len(items) > 16 else []))


def _describe_malformed(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"malformed fixture: missing key {exc.args[0]!r}"
    return f"malformed fixture: {exc}"


def iter_tests(path: Path, file: Optional[str] = None, fork: Optional[str] = None,
               name_filter: Optional[str] = None) -> Iterator[Union[BlockTest, CaseResult]]:
    """The tests of one fixture file: a ``BlockTest`` per runnable test, a ready ``CaseResult`` per
    skipped or malformed one."""
    file = str(path) if file is None else file
    if is_lfs_pointer(path):
        if name_filter is None or name_filter in file:
            yield CaseResult(file, None, None, None, passed=False, skipped=True,
                             reason="LFS pointer, content not present")
        return
    try:
        fixture = load_json(path)
        if not isinstance(fixture, dict):
            raise FixtureError("top level is not an object of tests")
    except FixtureError as exc:
        if name_filter is None or name_filter in file:
            yield CaseResult(file, None, None, None, passed=False, error=str(exc))
        return
    for name, test in fixture.items():
        if name_filter is not None and name_filter not in f"{file}::{name}":
            continue
        network = test.get("network") if isinstance(test, dict) else None
        if isinstance(network, str) and not _network_matches(network, fork):
            continue
        try:
            yield _parse_test(file, name, test)
        except UnsupportedFork as exc:
            yield CaseResult(file, name, network, None, passed=False, skipped=True,
                             reason=f"fork not supported: {exc}")
        except (FixtureError, KeyError, TypeError, AttributeError, ValueError) as exc:
            yield CaseResult(file, name, network if isinstance(network, str) else None, None, passed=False,
                             error=_describe_malformed(exc))


# -- running one test ---------------------------------------------------------------------------


@dataclass
class _Known:
    """A block the test chain holds: header, ommers, total difficulty and its (never mutated) state."""

    header: Header
    ommers: list
    total_difficulty: int
    state: MemoryState


class _TestChain:
    """Every accepted block of one test, by hash: the ``Ancestry`` block import reads."""

    def __init__(self) -> None:
        self.known: dict[bytes, _Known] = {}

    def header(self, block_hash: bytes) -> Optional[Header]:
        entry = self.known.get(block_hash)
        return None if entry is None else entry.header

    def ommers(self, block_hash: bytes) -> list:
        entry = self.known.get(block_hash)
        return [] if entry is None else entry.ommers

    def total_difficulty(self, block_hash: bytes) -> Optional[int]:
        entry = self.known.get(block_hash)
        return None if entry is None else entry.total_difficulty

    def add(self, header: Header, ommers: list, total_difficulty: int, state: MemoryState) -> _Known:
        frozen = MemoryState()
        frozen.share_from(state)
        state.release_ownership()
        entry = self.known[header.hash] = _Known(header, ommers, total_difficulty, frozen)
        return entry

    def child_state(self, parent_hash: bytes) -> MemoryState:
        state = MemoryState()
        state.share_from(self.known[parent_hash].state)
        return state


def _load_state(alloc: dict) -> MemoryState:
    state = MemoryState()
    for address, account in alloc.items():
        state.set_account(address, nonce=account.nonce, balance=account.balance, code=account.code,
                          storage=dict(account.storage))
    return state


def _hex(data: Optional[bytes]) -> Optional[str]:
    return None if data is None else "0x" + data.hex()


def _state_diff(state: MemoryState, expected: dict) -> list[str]:
    lines = describe_state_diff(state, expected)
    for address, _account in state.accounts():
        if address not in expected:
            lines.append(f"0x{address.hex()}: account present, not expected")
        if len(lines) >= MAX_DIFF_LINES:
            return lines[:MAX_DIFF_LINES] + ["..."]
    return lines


def run_test(test: BlockTest, executor=None) -> CaseResult:
    """Run one test (see the module docstring) and return its verdict (``executor``: how
    blocks' transactions run; sequential by default)."""
    result = CaseResult(test.file, test.name, test.network, None, passed=False)
    problems: list[str] = []
    chain = _TestChain()
    genesis_state = _load_state(test.pre)
    try:
        genesis = decode_block(test.genesis_rlp)
    except BlockDecodeError as exc:
        result.error = f"malformed fixture: genesisRLP: {exc}"
        return result
    if genesis.hash != test.genesis_hash:
        problems.append(f"genesis hash 0x{genesis.hash.hex()} != fixture's 0x{test.genesis_hash.hex()}")
    genesis_root = genesis_state.state_root()
    if genesis_root != genesis.header.state_root:
        problems.append(f"genesis state root from pre 0x{genesis_root.hex()} != genesis header's "
                        f"0x{genesis.header.state_root.hex()}")
    head = chain.add(genesis.header, [], genesis.header.difficulty, genesis_state)
    for index, entry in enumerate(test.blocks):
        outcome = _import_entry(chain, entry, test.spec, executor)
        if isinstance(outcome, InvalidBlock):
            if outcome.rule == "UNSUPPORTED_FORK":
                raise UnsupportedFork(outcome.reason)
            if entry.expect_exception is None:
                problems.append(f"block {index + 1} rejected but the fixture expects it to be valid: {outcome}")
                result.actual_exception = str(outcome)
        else:
            if entry.expect_exception is not None:
                problems.append(f"block {index + 1} (number {outcome.block.number}) accepted but the fixture "
                                f"expects {entry.expect_exception}")
                result.expected_exception = entry.expect_exception
            known = chain.add(outcome.block.header, outcome.block.ommers, outcome.total_difficulty, outcome.state)
            if outcome.rules.merged or known.total_difficulty > head.total_difficulty:
                head = known
    if head.header.hash != test.last_block_hash:
        problems.append(f"head 0x{head.header.hash.hex()} (block {head.header.number}) != lastblockhash "
                        f"0x{test.last_block_hash.hex()}")
    actual_root = head.state.state_root()
    result.actual_root = _hex(actual_root)
    if test.post_state is not None:
        expected_root = _load_state(test.post_state).state_root()
        result.expected_root = _hex(expected_root)
        if actual_root != expected_root:
            problems.append("post-state mismatch")
            result.state_diff = _state_diff(head.state, test.post_state)
    else:
        result.expected_root = _hex(test.post_state_hash)
        if actual_root != test.post_state_hash:
            problems.append("post-state root mismatch")
    result.passed = not problems
    result.error = "; ".join(problems) or None
    return result


@dataclass
class _Accepted:
    block: Any
    total_difficulty: int
    rules: Any
    state: MemoryState


def _import_entry(chain: _TestChain, entry: BlockEntry, spec: ChainSpec,
                  executor=None) -> Union[_Accepted, InvalidBlock]:
    """Import one fixture block on its parent; the InvalidBlock when it is rejected."""
    try:
        block = decode_block(entry.rlp)
    except BlockDecodeError as exc:
        return InvalidBlock("RLP_STRUCTURES_ENCODING", str(exc))
    parent = chain.known.get(block.header.parent_hash)
    if parent is None:
        return InvalidBlock("UNKNOWN_PARENT", f"parent 0x{block.header.parent_hash.hex()} is not known",
                            block.header.number, block.hash)
    state = chain.child_state(block.header.parent_hash)
    try:
        imported: ImportedBlock = import_block(block, parent.header, state, spec, chain, executor=executor)
    except InvalidBlock as exc:
        return exc
    return _Accepted(imported.block, imported.total_difficulty, imported.rules, state)


def check_test(test: BlockTest, executor=None) -> CaseResult:
    """``run_test`` with crashes turned into a failed case."""
    try:
        return run_test(test, executor)
    except UnsupportedFork as exc:
        return CaseResult(test.file, test.name, test.network, None, passed=False, skipped=True,
                          reason=f"fork not supported: {exc}")
    except Exception as exc:  # any crash is this case's failure, never the run's
        return CaseResult(test.file, test.name, test.network, None, passed=False,
                          error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())


def run_file(path: Path, file: Optional[str] = None, fork: Optional[str] = None,
             name_filter: Optional[str] = None, parallel: Optional[int] = None) -> list[CaseResult]:
    """Every test of one fixture file, run in the calling thread (``parallel``: see ``_executor``)."""
    file = str(path) if file is None else file
    results = []
    try:
        for item in iter_tests(path, file, fork, name_filter):
            results.append(item if isinstance(item, CaseResult) else check_test(item, _executor(parallel)))
    except Exception as exc:  # a loader bug must cost one file, not the run
        results.append(CaseResult(file, None, None, None, passed=False,
                                  error=f"runner crashed: {type(exc).__name__}: {exc}",
                                  traceback=traceback.format_exc()))
    return results


_EXECUTORS: dict = {}


def _executor(parallel: Optional[int]):
    """The executor blocks run with, one warm one per setting.

    ``None``: the node's default (parallel on the machine's cores where the
    measured costs say it pays, else sequential). ``N``: N workers, every
    block with transactions down the parallel path and every transaction run
    speculatively and validated (``ParallelEngine.CHECK``: ``blocktest
    --parallel N`` is there to check it); 1 is sequential.
    """
    if parallel is not None and parallel <= 1:
        return None
    executor = _EXECUTORS.get(parallel)
    if executor is None:
        executor = _EXECUTORS[parallel] = (default_executor() if parallel is None
                                           else ParallelExecutor(parallel, **ParallelEngine.CHECK))
    return executor


def executor_tally() -> dict[str, int]:
    """Blocks run by this process's parallel executors, by how they ran (``BlockReport.summary``)."""
    tally: dict[str, int] = {}
    for executor in _EXECUTORS.values():
        engine = getattr(executor, "engine", None)
        if engine is not None:
            for key, count in engine.tally.items():
                tally[key] = tally.get(key, 0) + count
    return tally


def _run_file_job(job: tuple) -> list[CaseResult]:
    path, fork, name_filter, parallel = job
    return run_on_big_stack(run_file, Path(path), path, fork, name_filter, parallel)


def run_files(files: Sequence[Path], *, fork: Optional[str] = None, name_filter: Optional[str] = None,
              jobs: int = 1, parallel: Optional[int] = None) -> Iterator[list[CaseResult]]:
    """Each file's results, in the order of ``files``; ``jobs`` > 1 spreads files over worker processes."""
    if jobs <= 1 or len(files) <= 1:
        for path in files:
            yield run_on_big_stack(run_file, path, str(path), fork, name_filter, parallel)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes=min(jobs, len(files))) as pool:
        yield from pool.imap(_run_file_job, [(str(p), fork, name_filter, parallel) for p in files], chunksize=1)


__all__ = ["BlockEntry", "BlockTest", "check_test", "executor_tally", "is_lfs_pointer", "iter_tests", "run_file",
           "run_files", "run_test"]
