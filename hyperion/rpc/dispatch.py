"""JSON-RPC 2.0 request handling: decoding, validation, batches, routing, errors.

The transport (``server.py``) hands raw bytes to ``Dispatcher.handle_body``
and writes back what it returns. Methods are plain synchronous functions
registered with ``@rpc_method`` by the modules of ``hyperion.rpc.methods``,
which import this one; this module never imports them back: whoever builds
a ``Dispatcher`` hands it the table (``hyperion.rpc.methods.method_table()``); the chain behind them is synchronous and
guarded by its own lock, so methods that touch it run in a thread pool
and never block the event loop. A batch runs in one pool task, item after
item in order, like geth, which keeps a batch of consecutive-nonce
``eth_sendRawTransaction`` calls in nonce order and costs one thread hop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import orjson

from hyperion.rpc.errors import (
    INTERNAL_ERROR,
    ExecutionRevertedError,
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    RpcError,
    ServerError,
    decode_revert_reason,
)
from hyperion.rpc.params import Param, parse_positional

log = logging.getLogger("hyperion.rpc")

MAX_BATCH_SIZE = 1000
DEFAULT_CALL_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Method:
    """A registered RPC method and how to run it."""

    name: str
    func: Callable[..., Any]
    params: tuple[Param, ...]
    blocking: bool = True          # touches the chain: run in the thread pool
    wants_session: bool = False    # gets the connection (subscriptions) as ``session=``
    timeout: Optional[float] = None


_REGISTRY: dict[str, Method] = {}


def rpc_method(name: str, *params: Param, blocking: bool = True, session: bool = False,
               timeout: Optional[float] = None) -> Callable:
    """Register ``func(ctx, *parsed_params[, session=...])`` as the RPC method ``name``."""

    def register(func: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"RPC method {name} registered twice")
        _REGISTRY[name] = Method(name, func, tuple(params), blocking, session, timeout)
        return func

    return register


def registered_methods() -> dict[str, Method]:
    """The methods registered so far (the modules that define them register on import)."""
    return dict(_REGISTRY)


def map_exception(exc: BaseException) -> RpcError:
    """Translate chain exceptions (and bugs) into RPC errors."""
    if isinstance(exc, RpcError):
        return exc
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


_NO_ID = object()


@dataclass
class Dispatcher:
    """Routes decoded JSON-RPC messages to methods; owns the request limits."""

    context: Any
    executor: Optional[Executor] = None
    methods: dict[str, Method] = field(kw_only=True)  # name -> method, e.g. hyperion.rpc.methods.method_table()
    max_batch_size: int = MAX_BATCH_SIZE
    call_timeout: float = DEFAULT_CALL_TIMEOUT

    # -- entry points ---------------------------------------------------------------

    async def handle_body(self, body: bytes | str, session: Any = None) -> Optional[bytes]:
        """Answer one HTTP body / WebSocket message; None when nothing is to be sent."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return orjson.dumps(_error_response(None, ParseError(f"parse error: {exc}")))
        if isinstance(message, list):
            responses = await self._handle_batch(message, session)
        else:
            responses = await self._handle_single(message, session)
        await self._flush_chain()
        if responses is None:
            return None
        try:
            return orjson.dumps(responses)
        except TypeError as exc:  # a method returned something not JSON-able: a bug
            log.exception("unserialisable response")
            return orjson.dumps(_error_response(None, InternalError(f"internal error: {exc}")))

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

    async def _flush_chain(self) -> None:
        """Group commit: blocks mined while answering are synced before the answer leaves."""
        chain = getattr(self.context, "chain", None)
        if chain is None or not getattr(chain, "needs_flush", False):
            return
        if self.executor is None:
            chain.flush()
        else:
            await asyncio.get_running_loop().run_in_executor(self.executor, chain.flush)

    async def _handle_single(self, message: Any, session: Any) -> Optional[dict]:
        request_id, method, params, error = self._validate(message)
        if error is not None:
            return _error_response(None if request_id is _NO_ID else request_id, error)
        if not method.blocking or self.executor is None:
            return self._invoke(request_id, method, params, session)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self.executor, self._invoke, request_id, method, params, session)
        if method.timeout is None:
            return await future
        timeout = min(method.timeout, self.call_timeout)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            log.warning("rpc timeout method=%s timeout_s=%s", method.name, timeout)
            if request_id is _NO_ID:
                return None
            return self._response(request_id, error=ServerError(
                f"execution aborted (timeout = {timeout:g}s)"))

    async def _handle_batch(self, messages: list, session: Any) -> Optional[list]:
        if not messages:
            return _error_response(None, InvalidRequest("empty batch"))  # type: ignore[return-value]
        if len(messages) > self.max_batch_size:
            return _error_response(None, InvalidRequest(  # type: ignore[return-value]
                f"batch too large: {len(messages)} requests, at most {self.max_batch_size}"))
        if self.executor is None:
            responses = self._run_batch(messages, session)
        else:
            loop = asyncio.get_running_loop()
            responses = await loop.run_in_executor(self.executor, self._run_batch, messages, session)
        return responses or None

    def _run_batch(self, messages: list, session: Any) -> list:
        responses = []
        for message in messages:
            request_id, method, params, error = self._validate(message)
            if error is not None:
                responses.append(_error_response(None if request_id is _NO_ID else request_id, error))
                continue
            response = self._invoke(request_id, method, params, session)
            if response is not None:
                responses.append(response)
        return responses

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

    @staticmethod
    def _response(request_id: Any, result: Any = None, error: Optional[RpcError] = None) -> dict:
        if request_id is _NO_ID:
            request_id = None
        if error is not None:
            return _error_response(request_id, error)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
