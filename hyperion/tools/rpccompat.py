"""Replay the execution-apis ``rpc-compat`` suite against a real node, under hive's rules.

The suite (``ethereum/execution-apis`` ``tests/``) is a chain (``genesis.json`` +
``chain.rlp``) and one ``METHOD/NAME.io`` file per test: ``//`` comment lines,
then ``>> request`` / ``<< response`` line pairs. Hive's ``rpc-compat``
simulator imports the chain into *one* client and runs every test against it,
in the order ``filepath.Walk`` visits the files (names sorted within each
folder), so a test that sends a transaction leaves it in the pool for the
tests after it. We do the same.

A response passes when it equals the recorded one as JSON: object keys in any
order, arrays in order, strings byte-exact, numbers by value; where both the
response and the recording hold an ``error`` object (at the top or nested, as
in ``eth_simulateV1``'s per-call errors), its ``message`` is not compared.
A test headed ``// speconly:`` records only one valid example: a result
without an error is checked against the method's result schema instead
(``RESULT_SCHEMAS``; hive validates against execution-apis' generated OpenRPC
document, which is not available offline, so the checks here are written from
the same schemas), an error answer is still compared.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional

SPECONLY_PREFIX = "speconly:"
DEFAULT_TIMEOUT = 30.0  # seconds per request (hive: 5 s; a loaded 2-core machine needs more)
_LISTENING = re.compile(r"Listening on ([\d.]+):(\d+)")


class InvalidTestFile(ValueError):
    """A ``.io`` file that does not follow the suite's format."""


@dataclass(frozen=True)
class RpcTest:
    """One ``.io`` file: its name (``method/file`` without ``.io``), header comment and messages."""

    name: str
    comment: str
    speconly: bool
    messages: tuple[tuple[bool, str], ...]  # (is_request, JSON text)


@dataclass
class TestResult:
    name: str
    passed: bool
    reason: str = ""


def parse_test(name: str, text: str) -> RpcTest:
    """Parse one ``.io`` file (hive's loader: header comments, then ``>>``/``<<`` lines)."""
    comment, speconly, messages, in_header = [], False, [], True
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("//"):
            if in_header:
                note = line[2:].removeprefix(" ")
                comment.append(note)
                speconly = speconly or note.startswith(SPECONLY_PREFIX)
            continue
        if line.startswith(">>") or line.startswith("<<"):
            in_header = False
            data = line[2:].strip()
            try:
                json.loads(data)
            except ValueError as exc:
                raise InvalidTestFile(f"{name}: line {number}: invalid JSON ({exc})") from None
            messages.append((line.startswith(">>"), data))
            continue
        raise InvalidTestFile(f"{name}: line {number}: neither a comment nor a '>>'/'<<' line")
    if not messages or not messages[0][0]:
        raise InvalidTestFile(f"{name}: no request before the first response")
    return RpcTest(name, "\n".join(comment), speconly, tuple(messages))


def find_tests(root: Path, name_filter: Optional[str] = None) -> list[RpcTest]:
    """Every ``*.io`` test under ``root``, in hive's order (names sorted folder by folder)."""
    if not root.is_dir():
        raise FileNotFoundError(f"no rpc-compat suite at {root} (expected a folder of METHOD/NAME.io files)")
    tests = []
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for file in sorted(files):
            if not file.endswith(".io"):
                continue
            path = Path(folder) / file
            name = path.relative_to(root).as_posix()[: -len(".io")]
            if name_filter and not re.search(name_filter, name):
                continue
            tests.append(parse_test(name, path.read_text()))
    # os.walk yields a folder's files before its subfolders; filepath.Walk interleaves them by name
    return sorted(tests, key=lambda test: test.name.split("/"))


# -- comparison -------------------------------------------------------------------------------


def _redact_error_messages(got: Any, want: Any) -> None:
    """Drop ``message`` from every ``error`` object present at the same place in both (in place)."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key, value in want.items():
            if key not in got:
                continue
            if key == "error":
                if isinstance(value, dict) and isinstance(got[key], dict) \
                        and "message" in value and "message" in got[key]:
                    del value["message"]
                    del got[key]["message"]
                continue
            _redact_error_messages(got[key], value)
    elif isinstance(want, list) and isinstance(got, list):
        for got_item, want_item in zip(got, want):
            _redact_error_messages(got_item, want_item)


def json_difference(got: Any, want: Any, path: str = "$") -> Optional[str]:
    """Where ``got`` differs from ``want`` (None: equal) under the suite's rules."""
    if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
        if got is want or (type(got) is type(want) and got == want):
            return None
        return f"{path}: got {_short(got)}, want {_short(want)}"
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        return None if float(got) == float(want) else f"{path}: got {got}, want {want}"
    if isinstance(want, str) and isinstance(got, str):
        return None if got == want else f"{path}: got {_short(got)}, want {_short(want)}"
    if isinstance(want, dict) and isinstance(got, dict):
        missing = [key for key in want if key not in got]
        extra = [key for key in got if key not in want]
        if missing or extra:
            parts = ([f"missing {missing}"] if missing else []) + ([f"unexpected {extra}"] if extra else [])
            return f"{path}: " + ", ".join(parts)
        for key, value in want.items():
            difference = json_difference(got[key], value, f"{path}.{key}")
            if difference:
                return difference
        return None
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return f"{path}: {len(got)} items, want {len(want)}"
        for index, (got_item, want_item) in enumerate(zip(got, want)):
            difference = json_difference(got_item, want_item, f"{path}[{index}]")
            if difference:
                return difference
        return None
    return f"{path}: got {_short(got)}, want {_short(want)}"


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


# -- result schemas of the speconly methods ----------------------------------------------------
# Written from execution-apis' src/schemas (base-types.yaml: uint = "^0x(0|[1-9a-f][0-9a-f]*)$",
# bytes = "^0x[0-9a-f]*$", hash32/address fixed lengths). Each check returns None or what is wrong.

_UINT = re.compile(r"^0x(0|[1-9a-f][0-9a-f]*)$")
_BYTES_ANY = re.compile(r"^0x[0-9a-f]*$")
_HASH = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _pattern(regex: re.Pattern, what: str) -> Callable[[Any, str], Optional[str]]:
    def check(value: Any, path: str) -> Optional[str]:
        if isinstance(value, str) and regex.match(value):
            return None
        return f"{path}: {_short(value)} is not {what}"
    return check


uint = _pattern(_UINT, "a hex quantity")
data = _pattern(_BYTES_ANY, "hex bytes")
hash32 = _pattern(_HASH, "a 32-byte hash")
bytes32 = hash32
address = _pattern(_ADDRESS, "an address")


def boolean(value: Any, path: str) -> Optional[str]:
    return None if isinstance(value, bool) else f"{path}: {_short(value)} is not a boolean"


def integer(value: Any, path: str) -> Optional[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return None if ok else f"{path}: {_short(value)} is not a non-negative integer"


def string(value: Any, path: str) -> Optional[str]:
    return None if isinstance(value, str) else f"{path}: {_short(value)} is not a string"


def array(item: Callable) -> Callable[[Any, str], Optional[str]]:
    def check(value: Any, path: str) -> Optional[str]:
        if not isinstance(value, list):
            return f"{path}: {_short(value)} is not an array"
        for index, element in enumerate(value):
            problem = item(element, f"{path}[{index}]")
            if problem:
                return problem
        return None
    return check


def mapping(key: Callable, value_check: Callable) -> Callable[[Any, str], Optional[str]]:
    def check(value: Any, path: str) -> Optional[str]:
        if not isinstance(value, dict):
            return f"{path}: {_short(value)} is not an object"
        for name, element in value.items():
            problem = key(name, f"{path} key") or value_check(element, f"{path}.{name}")
            if problem:
                return problem
        return None
    return check


def obj(required: dict, optional: Optional[dict] = None, closed: bool = False) -> Callable:
    """An object with ``required`` and ``optional`` fields; ``closed``: no other fields allowed."""
    optional = optional or {}

    def check(value: Any, path: str) -> Optional[str]:
        if not isinstance(value, dict):
            return f"{path}: {_short(value)} is not an object"
        for name, field_check in required.items():
            if name not in value:
                return f"{path}: missing {name!r}"
            problem = field_check(value[name], f"{path}.{name}")
            if problem:
                return problem
        for name, field_check in optional.items():
            if name in value and value[name] is not None:
                problem = field_check(value[name], f"{path}.{name}")
                if problem:
                    return problem
        if closed:
            unknown = set(value) - set(required) - set(optional)
            if unknown:
                return f"{path}: unexpected {sorted(unknown)}"
        return None
    return check


def one_of(*checks: Callable) -> Callable[[Any, str], Optional[str]]:
    def check(value: Any, path: str) -> Optional[str]:
        problems = [c(value, path) for c in checks]
        return None if any(p is None for p in problems) else problems[0]
    return check


def nullable(check: Callable) -> Callable[[Any, str], Optional[str]]:
    return lambda value, path: None if value is None else check(value, path)


_ACCESS_LIST = array(obj({"address": address, "storageKeys": array(hash32)}))
_STRUCT_LOG = obj(
    {"pc": integer, "op": string, "gas": integer, "gasCost": integer, "depth": integer},
    {"stack": array(uint), "memory": array(bytes32), "storage": mapping(bytes32, bytes32), "returnData": data,
     "refund": integer, "error": string},
)
_TRACE = obj({"gas": integer, "failed": boolean, "returnValue": data, "structLogs": array(_STRUCT_LOG)})
_BLOCK_TRACE = array(obj({"txHash": hash32, "result": _TRACE}))
_POOL_TX = obj({"hash": hash32, "from": address, "nonce": uint, "type": uint, "input": data},
               {"to": nullable(address), "gas": uint, "value": uint, "blockHash": nullable(hash32),
                "blockNumber": nullable(uint), "transactionIndex": nullable(uint), "chainId": uint})
_POOL_BY_SENDER = mapping(address, mapping(lambda key, path: None if isinstance(key, str) and key.isdigit()
                                           else f"{path}: {key!r} is not a decimal nonce", _POOL_TX))
_RETENTION = obj({"disabled": boolean}, {"oldestBlock": uint, "deleteStrategy": obj(
    {"type": lambda v, p: None if v == "window" else f"{p}: {_short(v)} is not 'window'", "retentionBlocks": uint},
    closed=True)}, closed=True)
_PAYLOAD = obj({
    "parentHash": hash32, "feeRecipient": address, "stateRoot": hash32, "receiptsRoot": hash32,
    "logsBloom": data, "prevRandao": hash32, "blockNumber": uint, "gasLimit": uint, "gasUsed": uint,
    "timestamp": uint, "extraData": data, "baseFeePerGas": uint, "blockHash": hash32,
    "transactions": array(data),
}, {"withdrawals": array(obj({"index": uint, "validatorIndex": uint, "address": address, "amount": uint})),
    "blobGasUsed": uint, "excessBlobGas": uint})

RESULT_SCHEMAS: dict[str, Callable[[Any, str], Optional[str]]] = {
    "eth_estimateGas": uint,
    "eth_createAccessList": obj({"accessList": _ACCESS_LIST, "gasUsed": uint}, {"error": string}),
    "eth_feeHistory": obj({"oldestBlock": uint, "baseFeePerGas": array(uint), "gasUsedRatio": array(
        lambda v, p: None if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{p}: not a number")},
        {"baseFeePerBlobGas": array(uint), "blobGasUsedRatio": array(
            lambda v, p: None if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{p}: not a number"),
         "reward": array(array(uint))}),
    "debug_traceTransaction": _TRACE,
    "debug_traceBlockByNumber": _BLOCK_TRACE,
    "debug_traceBlockByHash": _BLOCK_TRACE,
    "txpool_content": obj({"pending": _POOL_BY_SENDER, "queued": _POOL_BY_SENDER}),
    "txpool_contentFrom": obj({"pending": mapping(string, _POOL_TX), "queued": mapping(string, _POOL_TX)}),
    "txpool_status": obj({"pending": uint, "queued": uint}),
    "eth_capabilities": obj({
        "head": obj({"number": uint, "hash": hash32}, closed=True),
        **{part: _RETENTION for part in ("state", "tx", "logs", "receipts", "blocks", "stateproofs")},
    }, closed=True),
    "testing_buildBlockV1": obj({"executionPayload": _PAYLOAD, "blockValue": uint},
                                {"blobsBundle": obj({"commitments": array(data), "proofs": array(data),
                                                     "blobs": array(data)}),
                                 "shouldOverrideBuilder": boolean, "executionRequests": array(data)}),
    "eth_sendRawTransaction": hash32,
}


def schema_difference(method: str, result: Any) -> Optional[str]:
    check = RESULT_SCHEMAS.get(method)
    if check is None:
        return f"no result schema known for speconly method {method}"
    return check(result, "$.result")


# -- running ----------------------------------------------------------------------------------


def post(url: str, body: str, timeout: float) -> str:
    """POST the fixture's request bytes as they are and return the answer's text as it is.

    Deliberately not web3.py: the suite's requests are exact bodies (ids, odd params, malformed
    requests) and its answers are compared as sent, HTTP error statuses included; a JSON-RPC client
    would re-encode both.
    """
    request = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()
    except urllib.error.HTTPError as exc:  # a JSON-RPC error may come with a non-200 status
        return exc.read().decode()


def run_test(url: str, test: RpcTest, timeout: float = DEFAULT_TIMEOUT) -> TestResult:
    """Replay one test; passed, or the first difference."""
    response: Optional[str] = None
    method = ""
    for step, (is_request, text) in enumerate(test.messages, 1):
        if is_request:
            request = json.loads(text)
            method = request.get("method", "") if isinstance(request, dict) else ""  # (a batch has none)
            try:
                response = post(url, text, timeout)
            except OSError as exc:
                return TestResult(test.name, False, f"message {step}: request failed: {exc}")
            continue
        if response is None:
            return TestResult(test.name, False, f"message {step}: response before request")
        try:
            got = json.loads(response)
        except ValueError:
            return TestResult(test.name, False, f"message {step}: invalid JSON response {response[:200]!r}")
        want = json.loads(text)
        response = None
        if test.speconly and isinstance(got, dict) and "error" not in got:
            problem = schema_difference(method, got.get("result"))
            if problem:
                return TestResult(test.name, False, f"message {step}: schema: {problem}")
            continue
        _redact_error_messages(got, want)
        problem = json_difference(got, want)
        if problem:
            return TestResult(test.name, False, f"message {step}: {problem}")
    if response is not None:
        return TestResult(test.name, False, "a response was not checked")
    return TestResult(test.name, True)


def run_tests(url: str, tests: Iterable[RpcTest], timeout: float = DEFAULT_TIMEOUT) -> Iterator[TestResult]:
    for test in tests:
        yield run_test(url, test, timeout)


# -- the node under test ----------------------------------------------------------------------


@dataclass
class SuiteNode:
    """A ``hyperion node`` serving the suite's chain: ``init`` + ``import`` into a temporary data dir."""

    suite: Path
    log: Optional[Path] = None
    startup_timeout: float = 120.0
    process: Optional[subprocess.Popen] = field(default=None, init=False)
    url: str = field(default="", init=False)
    _data_dir: Optional[Path] = field(default=None, init=False)

    def _hyperion(self, *args: str) -> None:
        result = subprocess.run([sys.executable, "-m", "hyperion", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"hyperion {args[0]} failed: {(result.stderr or result.stdout).strip()}")

    def __enter__(self) -> "SuiteNode":
        for needed in ("genesis.json", "chain.rlp"):
            if not (self.suite / needed).is_file():
                raise FileNotFoundError(f"{self.suite / needed} is missing")
        self._data_dir = Path(tempfile.mkdtemp(prefix="hyperion-rpccompat-"))
        try:
            chain = self._data_dir / "chain"
            self._hyperion("init", "--genesis", str(self.suite / "genesis.json"), "--data-dir", str(chain))
            self._hyperion("import", "--data-dir", str(chain), str(self.suite / "chain.rlp"))
            self._start(chain)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, chain: Path) -> None:
        stderr = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hyperion", "node", "--data-dir", str(chain), "--host", "127.0.0.1",
                 "--port", "0", "--no-explorer"],
                stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        finally:
            if self.log:
                stderr.close()
        deadline = time.monotonic() + self.startup_timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the node exited early with status {self.process.wait()}")
            match = _LISTENING.search(line)
            if match:
                self.url = f"http://127.0.0.1:{match.group(2)}"
                return
        raise RuntimeError("the node did not report its port in time")

    def __exit__(self, *exc_info: Any) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            if self.process.stdout:
                self.process.stdout.close()
            self.process = None
        if self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None


# -- known failures ---------------------------------------------------------------------------


def read_known_failures(path: Path) -> dict[str, str]:
    """``name  # cause`` lines (blank lines and ``#`` lines ignored) -> {name: cause}."""
    known = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, cause = line.partition("#")
        name = name.strip()
        if not name or not cause.strip():
            raise ValueError(f"{path}:{number}: expected 'METHOD/NAME  # cause'")
        known[name] = cause.strip()
    return known
