"""JSON-RPC 2.0 request handling: decoding, validation, batches, routing, errors, work limits.

The transport (``server.py``) hands raw bytes to ``Dispatcher.handle_body``
and writes back what it returns. Methods are plain synchronous functions
registered with ``@rpc_method`` by the modules of ``hyperion.rpc.methods``,
which import this one; this module never imports them back: whoever builds
a ``Dispatcher`` hands it the table (``hyperion.rpc.methods.method_table()``).

Where work runs:

* ``blocking=False`` methods answer on the event loop (``eth_blockNumber``
  reads the published head, nothing else);
* *light* methods (state reads, sending transactions) run in the light
  thread pool;
* *heavy* methods (executions, traces, log queries) run in the heavy pool
  (one thread by default: executions share one interpreter lock anyway,
  and every extra thread that holds it delays the event loop's cheap
  answers), so that however many arrive, they take turns; at most
  ``max_heavy_pending`` wait, the rest are refused at once.

Budgets (``hyperion.chain.limits``): a heavy request, and every batch,
works under a deadline of ``request_timeout`` seconds counted from its
arrival; its executions also under the chain's own execution deadline
(geth's 5 s ``--rpc.evmtimeout``). A deadline stops the work itself, not
just the reply. A batch runs in one task, item after item in order, like
geth (a batch of consecutive-nonce ``eth_sendRawTransaction`` calls stays
in nonce order and costs one thread hop); the items it had no time for
are answered with geth's ``request timed out`` (-32002), and once the
answers pass ``max_batch_response_bytes`` the rest get ``response too
large`` (-32003). Answers are serialised in the worker thread.

In automine mode, a batch's run of consecutive ``eth_sendRawTransaction``
calls is mined together (``Chain.mining_deferred``): their senders are
recovered ahead on worker threads, each transaction is checked and pooled
as it comes, and when the run ends they are mined in as few blocks as the
gas limit allows, before any later call of the batch runs and before the
answer leaves (anvil likewise mines every ready transaction into one
block). A single request still gets a block of its own.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import orjson

from hyperion.chain import limits
from hyperion.rpc.errors import (
    INTERNAL_ERROR,
    ExecutionRevertedError,
    InternalError,
    InvalidParams,
    InvalidRequest,
    LimitExceeded,
    MethodNotFound,
    ParseError,
    RpcError,
    ServerError,
    decode_revert_reason,
)
from hyperion.rpc.params import Param, parse_positional

log = logging.getLogger("hyperion.rpc")

MAX_BATCH_SIZE = 1000
MAX_BATCH_RESPONSE_BYTES = 25_000_000   # geth's --rpc.batch-response-max-size
DEFAULT_CALL_TIMEOUT = limits.DEFAULT_EVM_TIMEOUT
DEFAULT_REQUEST_TIMEOUT = 10.0
MAX_HEAVY_PENDING = 256
REPLY_GRACE = 0.05  # lets a worker that stopped at its deadline answer with its own (more precise) error
# While heavy work runs, a thread that wants the GIL waits up to the interpreter's switch interval
# (5 ms) each time; cheap requests need several turns. A short interval while (and only while) heavy
# work runs keeps them quick; outside it, the default keeps the transaction path free of switches.
HEAVY_SWITCH_INTERVAL = 0.0005

TIMEOUT = -32002            # geth: errcodeTimeout
RESPONSE_TOO_LARGE = -32003  # geth: errcodeResponseTooLarge


@dataclass(frozen=True, slots=True)
class Method:
    """A registered RPC method and how to run it."""

    name: str
    func: Callable[..., Any]
    params: tuple[Param, ...]
    blocking: bool = True          # touches the chain: run in a thread pool
    wants_session: bool = False    # gets the connection (subscriptions) as ``session=``
    execution: bool = False        # runs code (eth_call, traces): stopped after the dispatcher's call_timeout
    heavy: bool = False            # executions, traces, log queries: the heavy pool, under a request budget


_REGISTRY: dict[str, Method] = {}


def rpc_method(name: str, *params: Param, blocking: bool = True, session: bool = False,
               execution: bool = False, heavy: bool = False) -> Callable:
    """Register ``func(ctx, *parsed_params[, session=...])`` as the RPC method ``name``.

    ``execution`` marks a method that executes code (eth_call, traces): its
    work is stopped after the call timeout (geth's --rpc.evmtimeout); such
    methods are heavy. ``heavy`` alone: long reads (log queries).
    """

    def register(func: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"RPC method {name} registered twice")
        _REGISTRY[name] = Method(name, func, tuple(params), blocking, session, execution, heavy or execution)
        return func

    return register


def registered_methods() -> dict[str, Method]:
    """The methods registered so far (the modules that define them register on import)."""
    return dict(_REGISTRY)


def map_exception(exc: BaseException) -> RpcError:
    """Translate chain exceptions (and bugs) into RPC errors."""
    if isinstance(exc, RpcError):
        return exc
    if isinstance(exc, limits.WorkAborted):
        return RpcError(exc.message, exc.code)
    try:
        from hyperion.chain import errors as chain_errors
    except ImportError:  # pragma: no cover - chain package absent
        chain_errors = None
    if chain_errors is not None:
        reverted = getattr(chain_errors, "ExecutionReverted", None)
        if reverted is not None and isinstance(exc, reverted):
            revert_data = bytes(getattr(exc, "data", b"") or b"")
            reason = decode_revert_reason(revert_data)
            return ExecutionRevertedError(revert_data, reason)
        not_found = getattr(chain_errors, "BlockNotFound", None)
        if not_found is not None and isinstance(exc, not_found):
            return ServerError(str(exc) or "header not found")
        chain_error = getattr(chain_errors, "ChainError", None)
        if chain_error is not None and isinstance(exc, chain_error):
            return ServerError(str(exc))
    if isinstance(exc, ValueError):
        # every typed bad-input error in the code base subclasses ValueError
        return InvalidParams(str(exc))
    return InternalError(f"internal error: {type(exc).__name__}: {exc}")


def _error_response(request_id: Any, error: RpcError) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


def _stopping() -> LimitExceeded:
    return LimitExceeded("the node is shutting down", limits.SERVER_ERROR_CODE)


def _timed_out() -> RpcError:
    return RpcError("request timed out", TIMEOUT)


_NO_ID = object()


class _BatchProgress:
    """What a batch's worker has answered so far, shared with the reply that may leave before it ends."""

    __slots__ = ("lock", "parts", "done", "size", "abandoned")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.parts: list[bytes] = []
        self.done = 0  # messages answered (notifications included)
        self.size = 0
        self.abandoned = False


# Consecutive calls of these in a batch are mined together when the batch's run of them ends.
GROUPED_METHODS = frozenset({"eth_sendRawTransaction"})


def _raw_run(messages: list, start: int) -> list[bytes]:
    """The raw transactions of the run of eth_sendRawTransaction calls starting at ``start`` (well-formed ones)."""
    raws = []
    for message in messages[start:]:
        if not isinstance(message, dict) or message.get("method") not in GROUPED_METHODS:
            break
        params = message.get("params")
        if isinstance(params, list) and params and isinstance(params[0], str) and params[0][:2] == "0x":
            try:
                raws.append(bytes.fromhex(params[0][2:]))
            except ValueError:
                continue
    return raws


class _SendGroup:
    """A run of consecutive transaction submissions in one batch, mined together (``Chain.mining_deferred``).

    Their answers wait until the run ends and its blocks are mined; a
    transaction the miner then drops gets its reason instead of its hash.
    """

    def __init__(self, chain: Any) -> None:
        self._deferred = getattr(chain, "mining_deferred", None)
        self._prepare = getattr(chain, "prepare_raw_transactions", None)
        self._scope = None
        self._context = None
        self.answers: list[tuple] = []

    def enter(self, messages: list, index: int) -> bool:
        """Join (or start, at ``messages[index]``) the run; a new run's senders are recovered ahead, together."""
        if self._deferred is None:
            return False
        if self._context is None:
            self._context = self._deferred()
            self._scope = self._context.__enter__()
            if self._prepare is not None:
                self._prepare(_raw_run(messages, index))
        return True

    def settle(self) -> list[tuple]:
        """End the run: mine it and return its answers (those of dropped transactions turned into errors)."""
        if self._context is None:
            return []
        context, self._context = self._context, None
        answers, self.answers = self.answers, []
        try:
            context.__exit__(None, None, None)
        except Exception as exc:  # mining failed (logged by the chain): nothing of the run is known to be mined
            error = map_exception(exc)
            return [(index, request_id, None if response is None else _error_response(request_id, error))
                    for index, request_id, response in answers]
        dropped = self._scope.dropped
        if not dropped:
            return answers
        settled = []
        for index, request_id, response in answers:
            tx_hash = (response or {}).get("result")
            reason = dropped.get(bytes.fromhex(tx_hash[2:])) if isinstance(tx_hash, str) else None
            if reason is not None:
                response = _error_response(request_id, ServerError(reason))
            settled.append((index, request_id, response))
        return settled


@dataclass
class Dispatcher:
    """Routes decoded JSON-RPC messages to methods; owns the request limits (see the module docstring)."""

    context: Any
    executor: Optional[Executor] = None
    methods: dict[str, Method] = field(kw_only=True)  # name -> method, e.g. hyperion.rpc.methods.method_table()
    max_batch_size: int = MAX_BATCH_SIZE
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    heavy_executor: Optional[Executor] = None  # None: the light pool runs heavy work too
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_batch_response_bytes: int = MAX_BATCH_RESPONSE_BYTES
    max_heavy_pending: int = MAX_HEAVY_PENDING
    _heavy_pending: int = field(default=0, init=False, repr=False)
    _switch_interval: float = field(default=0.005, init=False, repr=False)
    closing: bool = field(default=False, init=False)  # set by the server's stop(): new work is refused

    # -- entry points ---------------------------------------------------------------

    async def handle_body(self, body: bytes | str, session: Any = None) -> Optional[bytes]:
        """Answer one HTTP body / WebSocket message; None when nothing is to be sent."""
        arrived = time.monotonic()
        if self.closing:
            return orjson.dumps(_error_response(None, ServerError("the node is shutting down")))
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return orjson.dumps(_error_response(None, ParseError(f"parse error: {exc}")))
        if isinstance(message, list):
            response = await self._handle_batch(message, session, arrived)
        else:
            response = await self._handle_single(message, session, arrived)
        if self._may_write(message):
            await self._flush_chain()
        return response

    def handle_request(self, message: Any) -> Optional[dict]:
        """Answer one decoded request in the calling thread: the in-process transport (no loop, no pool)."""
        request_id, method, params, error = self._validate(message)
        if error is not None:
            return _error_response(None if request_id is _NO_ID else request_id, error)
        response = self._invoke(request_id, method, params, None)
        chain = getattr(self.context, "chain", None)
        if chain is not None and getattr(chain, "needs_flush", False):
            chain.flush()
        return response

    # -- internals --------------------------------------------------------------------

    def _may_write(self, message: Any) -> bool:
        """Whether answering ``message`` may have mined blocks (a light method in the pool ran);
        event-loop methods and the read-only heavy ones never wait for a sync."""
        messages = message if isinstance(message, list) else (message,)
        for item in messages:
            method = self.methods.get(item.get("method")) if isinstance(item, dict) else None
            if method is not None and method.blocking and not method.heavy:
                return True
        return False

    async def _flush_chain(self) -> None:
        """Group commit: blocks mined while answering are synced before the answer leaves."""
        chain = getattr(self.context, "chain", None)
        if chain is None or self.closing or not getattr(chain, "needs_flush", False):
            return  # (closing: the chain syncs when it closes)
        if self.executor is None:
            chain.flush()
        else:
            await asyncio.get_running_loop().run_in_executor(self.executor, chain.flush)

    def _pool(self, heavy: bool) -> Optional[Executor]:
        return (self.heavy_executor or self.executor) if heavy else self.executor

    async def _in_pool(self, heavy: bool, deadline: Optional[float], work: Callable[[], bytes],
                       on_timeout: Callable[[], Optional[bytes]]) -> Optional[bytes]:
        """Run ``work`` in its pool; past ``deadline`` answer ``on_timeout()`` (the work stops by itself)."""
        pool = self._pool(heavy)
        if pool is None:
            return work()
        if heavy and self._heavy_pending >= self.max_heavy_pending:
            raise LimitExceeded(f"too many heavy requests in flight (at most {self.max_heavy_pending}); retry later")
        if heavy:
            if self._heavy_pending == 0:
                self._switch_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(self._switch_interval, HEAVY_SWITCH_INTERVAL))
            self._heavy_pending += 1
        try:
            try:
                future = asyncio.get_running_loop().run_in_executor(pool, work)
            except RuntimeError:  # the pool is shut down: the node is stopping
                raise _stopping() from None
            if deadline is None:
                return await asyncio.shield(future)
            try:
                return await asyncio.wait_for(asyncio.shield(future), deadline - time.monotonic() + REPLY_GRACE)
            except asyncio.TimeoutError:
                return on_timeout()
        except asyncio.CancelledError:
            if future.cancelled():  # dropped from the pool's queue by stop()
                raise _stopping() from None
            raise
        finally:
            if heavy:
                self._heavy_pending -= 1
                if self._heavy_pending == 0:
                    sys.setswitchinterval(self._switch_interval)

    async def _handle_single(self, message: Any, session: Any, arrived: float) -> Optional[bytes]:
        request_id, method, params, error = self._validate(message)
        if error is not None:
            return orjson.dumps(_error_response(None if request_id is _NO_ID else request_id, error))
        if not method.blocking:
            return self._encode(request_id, self._invoke(request_id, method, params, session))
        if not method.heavy:
            return await self._in_pool(False, None, lambda: self._encode(
                request_id, self._invoke(request_id, method, params, session)), lambda: None)
        deadline, error = self._work_deadline(method, arrived)

        def work() -> Optional[bytes]:
            remaining = deadline - time.monotonic()
            try:
                if self.closing:
                    raise limits.WorkAborted("the node is shutting down")
                if remaining <= 0:
                    raise limits.WorkAborted(error.message, error.code)
                with limits.budget(remaining, error.message, error.code):
                    response = self._invoke(request_id, method, params, session)
            except limits.WorkAborted as exc:  # ran out while queued, before the method's own handling
                response = self._failure(request_id, map_exception(exc))
            return self._encode(request_id, response)

        def timed_out() -> Optional[bytes]:
            log.info("rpc deadline passed method=%s seconds=%.1f", method.name, deadline - arrived)
            return self._encode(request_id, self._failure(request_id, error))

        try:
            return await self._in_pool(True, deadline, work, timed_out)
        except LimitExceeded as exc:
            return self._encode(request_id, self._failure(request_id, exc))

    def _work_deadline(self, method: Method, arrived: float) -> tuple[float, RpcError]:
        """When a heavy request's work must stop, and the error it then gets."""
        if method.execution:
            seconds = min(self.call_timeout, self.request_timeout)
            return arrived + seconds, RpcError(limits.evm_timeout_message(seconds), limits.SERVER_ERROR_CODE)
        return arrived + self.request_timeout, _timed_out()

    async def _handle_batch(self, messages: list, session: Any, arrived: float) -> Optional[bytes]:
        if not messages:
            return orjson.dumps(_error_response(None, InvalidRequest("empty batch")))
        if len(messages) > self.max_batch_size:
            return orjson.dumps(_error_response(None, InvalidRequest(
                f"batch too large: {len(messages)} requests, at most {self.max_batch_size}")))
        heavy = any(isinstance(m, dict) and getattr(self.methods.get(m.get("method")), "heavy", False)
                    for m in messages)
        deadline = arrived + self.request_timeout
        progress = _BatchProgress()

        def timed_out() -> Optional[bytes]:
            # answer now: what is done, and "request timed out" for the rest (the batch stops by itself)
            with progress.lock:
                progress.abandoned = True
                parts, done = list(progress.parts), progress.done
            log.info("rpc batch deadline passed items=%d answered=%d", len(messages), done)
            return self._join(parts + self._timeout_parts(messages[done:]))

        try:
            return await self._in_pool(heavy, deadline,
                                       lambda: self._run_batch(messages, session, deadline, progress), timed_out)
        except LimitExceeded as exc:
            return orjson.dumps(_error_response(None, exc))

    def _run_batch(self, messages: list, session: Any, deadline: float, progress: "_BatchProgress") -> Optional[bytes]:
        group = _SendGroup(getattr(self.context, "chain", None))
        try:
            if self.closing:
                raise limits.WorkAborted("the node is shutting down")
            with limits.budget(max(deadline - time.monotonic(), 0.0), "request timed out", TIMEOUT):
                for index, message in enumerate(messages):
                    limits.check()
                    request_id, method, params, error = self._validate(message)
                    if error is None and method.name in GROUPED_METHODS and group.enter(messages, index):
                        group.answers.append((index, request_id, self._invoke(request_id, method, params, session)))
                        continue
                    if not self._publish(progress, group.settle(), messages):
                        break
                    if error is not None:
                        response = _error_response(None if request_id is _NO_ID else request_id, error)
                    elif method.execution:
                        with limits.budget(self.call_timeout, limits.evm_timeout_message(self.call_timeout)):
                            response = self._invoke(request_id, method, params, session)
                    else:
                        response = self._invoke(request_id, method, params, session)
                    if not self._publish(progress, [(index, request_id, response)], messages):
                        break
        except limits.WorkAborted:
            pass
        finally:
            answers = group.settle()  # transactions accepted are mined whatever happens to the batch
        self._publish(progress, answers, messages)
        with progress.lock:
            if progress.done < len(messages):
                progress.parts += self._timeout_parts(messages[progress.done:])
                progress.done = len(messages)
            return None if progress.abandoned else self._join(progress.parts)

    def _publish(self, progress: "_BatchProgress", answers: list, messages: list) -> bool:
        """Add ``(index, id, response)`` answers to the batch's; False once it must stop (too large, abandoned)."""
        for index, request_id, response in answers:
            part = None if response is None else self._encode(request_id, response)
            with progress.lock:
                if progress.abandoned:
                    return False
                if part is not None:
                    progress.parts.append(part)
                    progress.size += len(part)
                progress.done = index + 1
                if progress.size > self.max_batch_response_bytes:
                    progress.parts += self._error_parts(messages[index + 1:], RpcError(
                        "response too large", RESPONSE_TOO_LARGE))
                    progress.done = len(messages)
                    return False
        return True

    def _timeout_parts(self, messages: list) -> list[bytes]:
        return self._error_parts(messages, _timed_out())

    @staticmethod
    def _error_parts(messages: list, error: RpcError) -> list[bytes]:
        """Error answers for the calls among ``messages`` (notifications get none)."""
        parts = []
        for message in messages:
            if isinstance(message, dict) and "id" not in message:
                continue
            request_id = message.get("id") if isinstance(message, dict) else None
            if isinstance(request_id, bool) or not isinstance(request_id, (str, int, float, type(None))):
                request_id = None
            parts.append(orjson.dumps(_error_response(request_id, error)))
        return parts

    @staticmethod
    def _join(parts: list[bytes]) -> Optional[bytes]:
        return b"[" + b",".join(parts) + b"]" if parts else None

    @staticmethod
    def _encode(request_id: Any, response: Optional[dict]) -> Optional[bytes]:
        if response is None:
            return None
        try:
            return orjson.dumps(response, default=limits.json_default)
        except TypeError as exc:  # a method returned something not JSON-able: a bug
            log.exception("unserialisable response")
            rid = None if request_id is _NO_ID else request_id
            return orjson.dumps(_error_response(rid, InternalError(f"internal error: {exc}")))

    def _validate(self, message: Any) -> tuple[Any, Optional[Method], Any, Optional[RpcError]]:
        if not isinstance(message, dict):
            return _NO_ID, None, None, InvalidRequest("invalid request: expected a JSON object")
        request_id = message.get("id", _NO_ID)
        if request_id is not _NO_ID and request_id is not None and (
                isinstance(request_id, bool) or not isinstance(request_id, (str, int, float))):
            return _NO_ID, None, None, InvalidRequest("invalid request: id must be a string, number or null")
        if message.get("jsonrpc") != "2.0":
            return request_id, None, None, InvalidRequest('invalid request: "jsonrpc" must be "2.0"')
        name = message.get("method")
        if not isinstance(name, str) or not name:
            return request_id, None, None, InvalidRequest("invalid request: missing method")
        method = self.methods.get(name)
        if method is None:
            return request_id, None, None, MethodNotFound(name)
        params = message.get("params")
        if params is not None and not isinstance(params, list):
            return request_id, None, None, InvalidParams("non-array args")
        return request_id, method, params, None

    def _invoke(self, request_id: Any, method: Method, raw_params: Any, session: Any) -> Optional[dict]:
        started = time.perf_counter()
        try:
            args = parse_positional(raw_params, method.params)
            if method.wants_session:
                result = method.func(self.context, *args, session=session)
            else:
                result = method.func(self.context, *args)
            response = self._response(request_id, result=result)
        except Exception as exc:  # every failure becomes a JSON-RPC error, never a crash
            error = map_exception(exc)
            if error.code == INTERNAL_ERROR:
                log.exception("rpc internal error method=%s", method.name)
            response = self._response(request_id, error=error)
        if log.isEnabledFor(logging.DEBUG):
            outcome = response.get("error", {}).get("code", "ok") if response else "ok"
            log.debug("rpc method=%s id=%s outcome=%s ms=%.2f", method.name, request_id, outcome,
                      (time.perf_counter() - started) * 1000)
        if request_id is _NO_ID:
            return None  # a notification: no response
        return response

    def _failure(self, request_id: Any, error: RpcError) -> Optional[dict]:
        """The error answer of a call, None for a notification."""
        return None if request_id is _NO_ID else self._response(request_id, error=error)

    @staticmethod
    def _response(request_id: Any, result: Any = None, error: Optional[RpcError] = None) -> dict:
        if request_id is _NO_ID:
            request_id = None
        if error is not None:
            return _error_response(request_id, error)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
