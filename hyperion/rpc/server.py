"""The JSON-RPC transport: HTTP POST and WebSocket on one aiohttp port.

``RpcServer`` owns the thread pool the chain calls run in, the filter
manager and the subscription hub, and wires them to the chain's event
callbacks. Limits: request bodies and WebSocket messages of at most 5 MiB,
batches of at most 1000 calls (``Dispatcher``), at most 64 requests in
flight per WebSocket connection.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import orjson
from aiohttp import WSMsgType, web

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

_JSON = "application/json"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "600",
}


def _error_body(error) -> bytes:
    return orjson.dumps({"jsonrpc": "2.0", "id": None, "error": error.to_json()})


class RpcServer:
    """Serve a chain over JSON-RPC; ``await start()`` then ``await stop()``."""

    def __init__(self, chain: Any, host: str = "127.0.0.1", port: int = 8545, *,
                 workers: int = 8, call_timeout: float = 5.0) -> None:
        self.chain = chain
        self.host = host
        self.port = port
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rpc")
        self.context = RpcContext(chain)
        self.context.filters = FilterManager(self.context)
        self.context.subscriptions = SubscriptionHub()
        self.dispatcher = Dispatcher(self.context, self.executor, methods=method_table(), call_timeout=call_timeout)
        self._runner: Optional[web.AppRunner] = None
        self._sweeper: Optional[asyncio.Task] = None
        self._sessions: set[Session] = set()
        self._websockets: set[web.WebSocketResponse] = set()

    # -- lifecycle ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("POST", "/", self._handle_http)
        app.router.add_route("GET", "/", self._handle_get)
        app.router.add_route("OPTIONS", "/", self._handle_options)
        app.router.add_route("GET", "/health", self._handle_health)
        return app

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.context.subscriptions.attach(self.chain, loop)
        self.context.filters.attach(self.chain)
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        if self.port == 0:  # pick up the port the OS chose
            server = getattr(site, "_server", None)
            if server is not None and server.sockets:
                self.port = server.sockets[0].getsockname()[1]
        self._sweeper = loop.create_task(self._sweep_filters())
        log.info("rpc listening host=%s port=%d", self.host, self.port)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.context.subscriptions.close()
        self.context.filters.close()
        for session in list(self._sessions):
            session.close()
        for websocket in list(self._websockets):
            await websocket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.executor.shutdown(wait=True, cancel_futures=True)

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
        websocket = web.WebSocketResponse(max_msg_size=MAX_WS_MESSAGE_BYTES, heartbeat=30.0,
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
