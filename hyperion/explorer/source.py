"""Where the explorer reads the chain: the node's own JSON-RPC methods.

In the node the explorer hands each request to the RPC dispatcher in
process (no socket, but the same methods, limits and execution budgets as
any client); ``HttpSource`` reads another node over HTTP the same way. So
every page shows exactly what a wallet or Otterscan would see. Both are
web3.py providers under ``hyperion.web3tx.rpc.AsyncRpc``, which hands the
pages the answers as the node gave them.
"""

from __future__ import annotations

from typing import Any, Optional

from web3.providers.async_base import AsyncJSONBaseProvider

from hyperion.explorer.abis import Event, Function, KnownAbis
from hyperion.web3tx.rpc import AsyncRpc, RpcError, Unavailable

RpcFailure = RpcError  # a JSON-RPC error answer: ``code``, ``message`` and ``data`` as the node gave them
SourceUnavailable = Unavailable  # the node could not be reached, or did not answer JSON-RPC

HTTP_TIMEOUT = 15.0


def _hex(value: bytes) -> str:
    return "0x" + value.hex()


class Source(AsyncRpc):
    """JSON-RPC calls plus typed helpers for contract reads and event queries."""

    def __init__(self, endpoint: str | AsyncJSONBaseProvider, abis: KnownAbis) -> None:
        super().__init__(endpoint, timeout=HTTP_TIMEOUT)
        self.abis = abis

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


class _DispatcherProvider(AsyncJSONBaseProvider):
    """A web3 provider answered by the node's dispatcher in process (the dispatcher's own limits apply)."""

    def __init__(self, dispatcher: Any) -> None:
        super().__init__()
        self.dispatcher = dispatcher

    async def make_request(self, method: Any, params: Any) -> Any:
        return self.decode_rpc_response(await self.dispatcher.handle_body(self.encode_rpc_request(method, params)))


class DispatcherSource(Source):
    """The node's dispatcher, in process."""

    def __init__(self, dispatcher: Any, abis: KnownAbis) -> None:
        super().__init__(_DispatcherProvider(dispatcher), abis)


class HttpSource(Source):
    """Another node's JSON-RPC endpoint over HTTP."""
