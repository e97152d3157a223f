"""The JSON-RPC transport: HTTP POST and WebSocket on one aiohttp port.

``RpcServer`` owns the thread pools the chain calls run in (light reads
and writes; heavy executions, traces and log queries, see ``dispatch``),
the filter manager and the subscription hub, and wires them to the
chain's event callbacks. Limits: request bodies and WebSocket messages of
at most 5 MiB, batches of at most 1000 calls, per-request and per-batch
deadlines (``Dispatcher``), at most 64 requests in flight per WebSocket
connection.

Bad framing costs one log line and no traceback: a malformed HTTP request
(a bad ``Content-Length``, an overlong line) is answered 400 by aiohttp,
and a WebSocket client frame without a mask closes the connection with
1002 (RFC 6455 section 5.1).

``stop()`` refuses new work, stops every running execution at its next
check point and gives the workers a bounded time to finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import orjson
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_websocket import WebSocketError

from hyperion.chain import limits
from hyperion.rpc.context import RpcContext
from hyperion.rpc.dispatch import Dispatcher
from hyperion.rpc.methods import method_table
from hyperion.rpc.errors import InvalidRequest, LimitExceeded, ParseError
from hyperion.rpc.filters import FilterManager
from hyperion.rpc.subscriptions import Session, SubscriptionHub

log = logging.getLogger("hyperion.rpc.server")

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_WS_MESSAGE_BYTES = 5 * 1024 * 1024
MAX_WS_IN_FLIGHT = 64
FILTER_SWEEP_SECONDS = 60.0
STOP_SECONDS = 3.0  # stop() returns within this, however busy the workers are

_JSON = "application/json"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}


def _error_body(error) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()})


class _FramingLogger(logging.LoggerAdapter):
    """aiohttp's request logger, except that a malformed request is one warning line, not a traceback."""

    def exception(self, msg, *args, exc_info=True, **kwargs):  # type: ignore[override]
        error = exc_info if isinstance(exc_info, BaseException) else None
        if isinstance(error, HttpProcessingError):
            remote = args[0] if args else "?"
            text = (getattr(error, "message", None) or str(error) or type(error).__name__).strip()
            self.logger.warning("bad http request from %s: %s (answered %s)", remote,
                                text.splitlines()[0].rstrip(":") if text else type(error).__name__,
                                getattr(error, "code", 400))
            return
        self.logger.exception(msg, *args, exc_info=exc_info, **kwargs)


class _MaskedFramesOnly:
    """Sits in front of aiohttp's WebSocket frame parser and closes on an unmasked client frame.

    aiohttp accepts unmasked frames from clients; RFC 6455 (5.1) says the
    server must close the connection then. This scans only frame headers
    (the payload is skipped by its length), so it costs little.
    """

    def __init__(self, parser, queue) -> None:
        self._parser = parser
        self._queue = queue
        self._header = bytearray()
        self._skip = 0
        self._failed = False

    def feed_data(self, data) -> tuple[bool, bytes]:
        if self._failed:
            return True, b""
        view = memoryview(data)
        position, size = 0, len(view)
        while position < size:
            if self._skip:
                step = min(self._skip, size - position)
                self._skip -= step
                position += step
                continue
            self._header.append(view[position])
            position += 1
            header = self._header
            if len(header) < 2:
                continue
            if not header[1] & 0x80:
                return self._fail()
            length = header[1] & 0x7F
            needed = 2 + (2 if length == 126 else 8 if length == 127 else 0) + 4
            if len(header) < needed:
                continue
            if length == 126:
                length = int.from_bytes(header[2:4], "big")
            elif length == 127:
                length = int.from_bytes(header[2:10], "big")
            self._skip = length
            self._header = bytearray()
        return self._parser.feed_data(data)

    def _fail(self) -> tuple[bool, bytes]:
        self._failed = True
        log.warning("ws client sent an unmasked frame: closing the connection (RFC 6455 5.1)")
        self._queue.set_exception(WebSocketError(WSCloseCode.PROTOCOL_ERROR, "unmasked client frame"))
        return True, b""

    def feed_eof(self) -> None:
        self._parser.feed_eof()

    def __getattr__(self, name: str):
        return getattr(self._parser, name)


class _StrictWebSocketResponse(web.WebSocketResponse):
    def _post_start(self, request, protocol, writer) -> None:  # aiohttp's hook: the parser exists now
        super()._post_start(request, protocol, writer)
        handler = request.protocol
        if getattr(handler, "_payload_parser", None) is self._parser:
            handler._payload_parser = _MaskedFramesOnly(self._parser, self._reader)


class _ExecutionPool(ThreadPoolExecutor):
    """A thread pool whose threads can run 1024 nested EVM calls (see ``limits.deep_stacks``)."""

    def _adjust_thread_count(self) -> None:  # where ThreadPoolExecutor starts its threads
        with limits.deep_stacks():
            super()._adjust_thread_count()


class RpcServer:
    """Serve a chain over JSON-RPC; ``await start()`` then ``await stop()``."""

    def __init__(self, chain: Any, host: str = "127.0.0.1", port: int = 8545, *,
                 workers: int = 8, heavy_workers: int = 1, call_timeout: float = 5.0,
                 request_timeout: float = 10.0) -> None:
        self.chain = chain
        self.host = host
        self.port = port
        self.executor = _ExecutionPool(max_workers=workers, thread_name_prefix="rpc")
        self.heavy_executor = _ExecutionPool(max_workers=heavy_workers, thread_name_prefix="rpc-heavy")
        self.context = RpcContext(chain)
        self.context.filters = FilterManager(self.context)
        self.context.subscriptions = SubscriptionHub()
        self.dispatcher = Dispatcher(self.context, self.executor, methods=method_table(), call_timeout=call_timeout,
                                     heavy_executor=self.heavy_executor, request_timeout=request_timeout)
        self._runner: Optional[web.AppRunner] = None
        self._sweeper: Optional[asyncio.Task] = None
        self._sessions: set[Session] = set()
        self._websockets: set[web.WebSocketResponse] = set()
        self._mounts: list[tuple[str, web.Application]] = []

    def mount(self, prefix: str, app: web.Application) -> None:
        """Serve ``app`` under ``prefix`` on this port (e.g. the explorer); call before ``start``."""
        self._mounts.append((prefix, app))

    # -- lifecycle ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("POST", "/", self._handle_http)
        app.router.add_route("GET", "/", self._handle_get)
        app.router.add_route("OPTIONS", "/", self._handle_options)
        app.router.add_route("GET", "/health", self._handle_health)
        for prefix, sub_app in self._mounts:
            app.add_subapp(prefix, sub_app)
        return app

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.context.subscriptions.attach(self.chain, loop)
        self.context.filters.attach(self.chain)
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False,
                                     shutdown_timeout=STOP_SECONDS / 3,
                                     logger=_FramingLogger(logging.getLogger("aiohttp.server"), {}))
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:  # pick up the port the OS chose
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                self.port = server.sockets[0].getsockname()[1]
        self._sweeper = loop.create_task(self._sweep_filters())
        log.info("rpc listening host=%s port=%d", self.host, self.port)

    async def stop(self) -> bool:
        """Stop serving: new work is refused, running work is stopped at its next check point,
        connections close; returns False if some worker was still busy after the grace time."""
        started = time.monotonic()
        self.dispatcher.closing = True
        for pool in (self.executor, self.heavy_executor):
            pool.shutdown(wait=False, cancel_futures=True)  # queued work never starts
        limits.abort_all("the node is shutting down")
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.context.subscriptions.close()
        self.context.filters.close()
        for session in list(self._sessions):
            session.close()
        if self._websockets:
            closing = asyncio.gather(*(ws.close() for ws in list(self._websockets)), return_exceptions=True)
            try:
                await asyncio.wait_for(closing, STOP_SECONDS / 3)
            except asyncio.TimeoutError:
                pass
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        threads = [t for pool in (self.executor, self.heavy_executor) for t in list(getattr(pool, "_threads", ()))]
        while any(t.is_alive() for t in threads) and time.monotonic() - started < STOP_SECONDS:
            await asyncio.sleep(0.02)
        busy = [t.name for t in threads if t.is_alive()]
        if busy:
            log.warning("rpc workers still busy after %.1fs: %s", time.monotonic() - started, ", ".join(busy))
        return not busy

    async def _sweep_filters(self) -> None:
        while True:
            await asyncio.sleep(FILTER_SWEEP_SECONDS)
            self.context.filters.expire()

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle_options(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers=_CORS)

    async def _handle_health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, headers=_CORS)

    async def _handle_http(self, request: web.Request) -> web.StreamResponse:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return self._http_error(413, LimitExceeded(
                f"request body too large: {request.content_length} bytes, at most {MAX_BODY_BYTES}"))
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._http_error(413, LimitExceeded(f"request body too large, at most {MAX_BODY_BYTES} bytes"))
        if not body.strip():
            return self._http_error(400, ParseError("parse error: empty request body"))
        response = await self.dispatcher.handle_body(body)
        return web.Response(body=response or b"", content_type=_JSON, headers=_CORS)

    @staticmethod
    def _http_error(status: int, error) -> web.Response:
        return web.Response(status=status, body=_error_body(error), content_type=_JSON, headers=_CORS)

    async def _handle_get(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._handle_websocket(request)
        return self._http_error(405, InvalidRequest("send JSON-RPC requests with POST, or upgrade to WebSocket"))

    # -- WebSocket ---------------------------------------------------------------------------

    async def _handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = _StrictWebSocketResponse(max_msg_size=MAX_WS_MESSAGE_BYTES, heartbeat=30.0,
                                             compress=False)
        await websocket.prepare(request)
        session = Session()
        self._sessions.add(session)
        self._websockets.add(websocket)
        writer = asyncio.get_running_loop().create_task(self._write_loop(websocket, session))
        in_flight = asyncio.Semaphore(MAX_WS_IN_FLIGHT)
        tasks: set[asyncio.Task] = set()
        try:
            async for message in websocket:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await in_flight.acquire()
                    task = asyncio.get_running_loop().create_task(
                        self._answer_ws(message.data, session, in_flight))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif message.type == WSMsgType.ERROR:
                    log.debug("ws error: %s", websocket.exception())
                    break
        finally:
            self.context.subscriptions.drop_session(session)
            for task in list(tasks):
                task.cancel()
            session.close()
            await writer
            self._sessions.discard(session)
            self._websockets.discard(websocket)
        return websocket

    async def _answer_ws(self, payload: bytes | str, session: Session, in_flight: asyncio.Semaphore) -> None:
        try:
            response = await self.dispatcher.handle_body(payload, session)
            if response is not None:
                session.send(response)
        finally:
            in_flight.release()

    @staticmethod
    async def _write_loop(websocket: web.WebSocketResponse, session: Session) -> None:
        """Send queued responses and notifications in order until the session closes."""
        while True:
            message = await session.queue.get()
            if message is None:
                break
            try:
                await websocket.send_str(message.decode())
            except (ConnectionError, RuntimeError):
                session.close()
                break
        if not websocket.closed:
            await websocket.close()
