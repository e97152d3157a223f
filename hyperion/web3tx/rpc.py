"""Raw JSON-RPC calls through web3.py's providers: answers as the JSON-RPC spec gives them.

Derivation, the explorer's pages and process supervision read a few fields of
an answer (hex strings) and pass the rest on: web3's result formatters and
middleware would cost more than the call itself on the derivation path. So these
callers use web3's providers (request ids, encoding, transport, batches) and take
the answers as they come. Sending a transaction with simulation, nonce and
fees is ``Web3Sender``'s job, not this module's.

Errors are typed for retrying: ``Unavailable`` when the endpoint could not be
reached or answered something that is not JSON-RPC (HTTP errors, timeouts,
non-JSON, a malformed batch), ``RpcError`` for a JSON-RPC error answer.
A subclass of ``AsyncRpc`` may name its own subclasses of both.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional, Sequence

import aiohttp
import requests
from web3 import AsyncHTTPProvider, HTTPProvider
from web3._utils.http_session_manager import HTTPSessionManager
from web3.providers.async_base import AsyncJSONBaseProvider

DEFAULT_TIMEOUT = 20.0
_HEADERS = {"Content-Type": "application/json"}


class Unavailable(Exception):
    """The endpoint could not be reached, or answered with an HTTP error or no JSON-RPC: retry later."""


class RpcError(Exception):
    """The endpoint answered a JSON-RPC error (``code``, ``message`` and ``data`` as it gave them)."""

    def __init__(self, method: str, error: Any):
        self.method = method
        self.code = error.get("code") if isinstance(error, dict) else None
        self.message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        self.data = error.get("data") if isinstance(error, dict) else None
        super().__init__(f"{method}: {self.message}")


def _result(method: str, reply: Any, rpc_error: type = RpcError, unavailable: type = Unavailable) -> Any:
    if not isinstance(reply, dict) or not ("result" in reply or "error" in reply):
        raise unavailable(f"{method}: malformed reply {str(reply)[:200]}")
    if "error" in reply:
        raise rpc_error(method, reply["error"])
    return reply["result"]


def call(url: str, method: str, *params: Any, timeout: float = 30.0) -> Any:
    """One call with web3's blocking ``HTTPProvider`` (no retries: the caller decides)."""
    with requests.Session() as session:
        provider = HTTPProvider(url, request_kwargs={"timeout": timeout, "headers": _HEADERS},
                                exception_retry_configuration=None, session=session)
        try:
            reply = provider.make_request(method, list(params))
        except requests.HTTPError as exc:
            raise Unavailable(f"{url} answered HTTP {exc.response.status_code} to {method}") from None
        except (requests.RequestException, OSError) as exc:
            raise Unavailable(f"{url} unreachable: {exc}") from None
        except ValueError as exc:  # not JSON (or not UTF-8)
            raise Unavailable(f"{url} answered non-JSON to {method}: {str(exc)[:200]}") from None
    return _result(method, reply)


class _KeepAliveSession(HTTPSessionManager):
    """web3's HTTP session manager, reduced to one keep-alive session per client.

    web3's own closes the connection after every request and takes a thread-pool lock to
    look its session up, which nearly doubled the CPU cost of a call; derivation polls and
    batches all the time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.session: Optional[aiohttp.ClientSession] = None

    async def async_cache_and_return_session(self, endpoint_uri: Any, session: Any = None,
                                             request_timeout: Any = None) -> aiohttp.ClientSession:
        if self.session is None or self.session.closed:
            self.session = aiohttp.ClientSession(raise_for_status=True)
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None


class AsyncRpc:
    """Raw JSON-RPC on one endpoint: an HTTP URL, or any web3 async JSON provider (create inside a
    running event loop; ``await close()``)."""

    Unavailable: type = Unavailable
    RpcError: type = RpcError

    def __init__(self, endpoint: str | AsyncJSONBaseProvider, *, timeout: float = DEFAULT_TIMEOUT):
        self._session: Optional[_KeepAliveSession] = None
        if isinstance(endpoint, str):
            # no retries inside web3: callers retry, and a resent eth_sendRawTransaction is refused as known
            endpoint = AsyncHTTPProvider(endpoint, request_kwargs={"timeout": aiohttp.ClientTimeout(total=timeout),
                                                                   "headers": _HEADERS},
                                         exception_retry_configuration=None)
            self._session = endpoint._request_session_manager = _KeepAliveSession()
        self.provider = endpoint
        self.url = getattr(endpoint, "endpoint_uri", None) or str(endpoint)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, what: str, send) -> Any:
        try:
            return await send(self.provider)
        except aiohttp.ClientResponseError as exc:
            raise self.Unavailable(f"{self.url} answered HTTP {exc.status} to {what}") from None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise self.Unavailable(f"{self.url} unreachable: {exc!r}") from None
        except ValueError as exc:  # the body is not JSON (or not UTF-8)
            raise self.Unavailable(f"{self.url} answered non-JSON to {what}: {str(exc)[:200]}") from None
        except (AttributeError, TypeError, KeyError) as exc:  # web3 sorting a batch answer that is no list of objects
            raise self.Unavailable(f"{self.url} answered {what} with a malformed reply: {exc!r}") from None

    async def call(self, method: str, *params: Any) -> Any:
        reply = await self._request(method, lambda provider: provider.make_request(method, list(params)))
        return _result(method, reply, self.RpcError, self.Unavailable)

    async def batch(self, calls: Sequence[tuple[str, list]]) -> list[Any]:
        """Several calls in one request; each result is the value or an ``RpcError`` (returned, not raised)."""
        if not calls:
            return []
        what = f"a batch of {len(calls)} calls"
        reply = await self._request(what, lambda provider: provider.make_batch_request(
            [(method, list(params)) for method, params in calls]))
        # web3 sorts the answers by id, and its ids are consecutive: check that each call has its answer
        if not isinstance(reply, list) or len(reply) != len(calls) or not all(isinstance(r, dict) for r in reply):
            raise self.Unavailable(f"{what}: malformed reply {str(reply)[:200]}")
        ids = [item.get("id") for item in reply]
        if not all(isinstance(i, int) for i in ids) or ids != list(range(ids[0], ids[0] + len(ids))):
            raise self.Unavailable(f"{what}: the reply's ids do not match the requests")
        return [self.RpcError(method, item["error"]) if "error" in item else item.get("result")
                for (method, _params), item in zip(calls, reply)]
