"""Where the explorer reads the chain: the node's own JSON-RPC methods.

In the node the explorer hands each request to the RPC dispatcher in
process (no socket, but the same methods, limits and execution budgets as
any client); ``HttpSource`` reads another node over HTTP the same way. So
every page shows exactly what a wallet or Otterscan would see.
"""

from __future__ import annotations

import itertools
from typing import Any, Optional

import orjson

from hyperion.explorer.abis import Event, Function, KnownAbis


class RpcFailure(Exception):
    """A JSON-RPC error answer (code and message as the node gave them)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Source:
    """JSON-RPC calls plus typed helpers for contract reads and event queries."""

    def __init__(self, abis: KnownAbis) -> None:
        self.abis = abis
        self._ids = itertools.count(1)

    async def _send(self, body: bytes) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError

    async def call(self, method: str, *params: Any) -> Any:
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        answer = orjson.loads(await self._send(orjson.dumps(request)))
        if "error" in answer:
            error = answer["error"]
            raise RpcFailure(error.get("code", -32603), error.get("message", ""), error.get("data"))
        return answer.get("result")

    async def read(self, contract: bytes, function: str, *args: Any, block: str = "latest") -> Any:
        """A view of a known contract; one output comes back bare, several as a list."""
        fn: Function = self.abis.contract_function(contract, function)
        raw = await self.call("eth_call", {"to": _hex(contract), "data": _hex(fn.encode(list(args)))}, block)
        outputs = fn.decode_output(bytes.fromhex(raw[2:]))
        return outputs[0][2] if len(outputs) == 1 else [value for _, _, value in outputs]

    async def events(self, contract: bytes, event: str, *topics: Optional[bytes],
                     from_block: int = 0, to_block: str | int = "latest") -> list[dict]:
        """Decoded logs of one event of a known contract: ``{"args", "block", "tx", "index"}``."""
        ev: Event = self.abis.contract_event(contract, event)
        topic_filter: list = [_hex(ev.topic)] + [None if t is None else _hex(t) for t in topics]
        logs = await self.call("eth_getLogs", {"address": _hex(contract), "topics": topic_filter,
                                               "fromBlock": hex(from_block),
                                               "toBlock": to_block if isinstance(to_block, str) else hex(to_block)})
        decoded = []
        for log in logs:
            args = ev.decode([bytes.fromhex(t[2:]) for t in log["topics"]], bytes.fromhex(log["data"][2:]))
            decoded.append({"args": args, "block": int(log["blockNumber"], 16), "tx": log["transactionHash"],
                            "index": int(log["logIndex"], 16)})
        return decoded


class DispatcherSource(Source):
    """The node's dispatcher, in process."""

    def __init__(self, dispatcher: Any, abis: KnownAbis) -> None:
        super().__init__(abis)
        self.dispatcher = dispatcher

    async def _send(self, body: bytes) -> bytes:
        return await self.dispatcher.handle_body(body)


class HttpSource(Source):
    """Another node's JSON-RPC endpoint over HTTP."""

    def __init__(self, url: str, abis: KnownAbis) -> None:
        super().__init__(abis)
        self.url = url
        self._session = None

    async def _send(self, body: bytes) -> bytes:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        async with self._session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as resp:
            return await resp.read()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
