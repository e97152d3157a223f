"""An L1 endpoint as the rollup roles use it: JSON-RPC over HTTP, and blobs over the beacon API.

``L1Client`` speaks standard Ethereum JSON-RPC (any L1: anvil, geth,
reth, a provider) through web3.py's ``AsyncHTTPProvider``
(``hyperion.web3tx.rpc.AsyncRpc``: raw answers, JSON-RPC batches for catching
up many blocks at once). Transient failures (connection refused, timeouts,
HTTP errors, non-JSON answers) raise ``L1Unavailable`` so callers retry;
JSON-RPC errors raise ``L1RpcError``.

``BeaconBlobSource`` reads blobs back with the beacon API's
``GET /eth/v1/beacon/blobs/{block_id}?versioned_hashes=...`` (what
consensus clients serve since Fulu, and what anvil serves on its RPC port,
keyed by execution block number). With ``block_id="slot"`` the slot is
computed from the block's timestamp and the beacon genesis time, as op-node
does against a real beacon node. Every blob returned is checked against the
versioned hashes of the L1 transaction (``blobs.verify_blobs``): the blob
source is not trusted.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import aiohttp

from hyperion.rollup.blobs import MalformedBlobs, blob_versioned_hash
from hyperion.web3tx.rpc import DEFAULT_TIMEOUT, AsyncRpc, RpcError, Unavailable

log = logging.getLogger("hyperion.rollup.l1")

# the Prague/Osaka BLOB_BASE_FEE_UPDATE_FRACTION: only used to report the origin's blob fee to L2
BLOB_BASE_FEE_UPDATE_FRACTION = 5007716
MIN_BLOB_BASE_FEE = 1


class L1Unavailable(Unavailable):
    """The L1 endpoint could not be reached or answered with a server error: retry later."""


class L1RpcError(RpcError):
    """The L1 endpoint answered a JSON-RPC error."""


def qty(value: Optional[str]) -> Optional[int]:
    return None if value is None else int(value, 16)


def data(value: Optional[str]) -> Optional[bytes]:
    return None if value is None else bytes.fromhex(value[2:])


def hexq(value: int) -> str:
    return hex(value)


def hexd(value: bytes) -> str:
    return "0x" + value.hex()


def fake_exponential(factor: int, numerator: int, denominator: int) -> int:
    """EIP-4844's integer approximation of factor * e ** (numerator / denominator)."""
    i, output, accum = 1, 0, factor * denominator
    while accum > 0:
        output += accum
        accum = (accum * numerator) // (denominator * i)
        i += 1
    return output // denominator


@dataclass(frozen=True)
class L1Block:
    """An L1 block header (and, when fetched in full, its transactions as JSON objects)."""

    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    base_fee: int
    mix_hash: bytes
    parent_beacon_block_root: Optional[bytes]
    excess_blob_gas: Optional[int]
    transactions: tuple = field(default=(), compare=False, repr=False)

    @property
    def blob_base_fee(self) -> int:
        if self.excess_blob_gas is None:
            return 0
        return fake_exponential(MIN_BLOB_BASE_FEE, self.excess_blob_gas, BLOB_BASE_FEE_UPDATE_FRACTION)

    @classmethod
    def from_json(cls, obj: dict) -> "L1Block":
        txs = obj.get("transactions") or ()
        return cls(
            number=qty(obj["number"]), hash=data(obj["hash"]), parent_hash=data(obj["parentHash"]),
            timestamp=qty(obj["timestamp"]), base_fee=qty(obj.get("baseFeePerGas")) or 0,
            mix_hash=data(obj.get("mixHash")) or bytes(32),
            parent_beacon_block_root=data(obj.get("parentBeaconBlockRoot")),
            excess_blob_gas=qty(obj.get("excessBlobGas")),
            transactions=tuple(tx for tx in txs if isinstance(tx, dict)),
        )


def parse_log(entry: dict) -> dict:
    return {
        "address": data(entry["address"]), "topics": [data(t) for t in entry.get("topics", [])],
        "data": data(entry.get("data", "0x")), "logIndex": qty(entry["logIndex"]),
        "blockHash": data(entry["blockHash"]), "blockNumber": qty(entry["blockNumber"]),
        "transactionHash": data(entry["transactionHash"]), "removed": bool(entry.get("removed", False)),
    }


class L1Client(AsyncRpc):
    """JSON-RPC client of one L1 endpoint (create inside a running event loop; ``await close()``)."""

    Unavailable = L1Unavailable
    RpcError = L1RpcError

    # -- typed helpers --------------------------------------------------------------------
    async def chain_id(self) -> int:
        return qty(await self.call("eth_chainId"))

    async def block(self, spec: int | str, full: bool = False) -> Optional[L1Block]:
        obj = await self.call("eth_getBlockByNumber", hexq(spec) if isinstance(spec, int) else spec, full)
        return None if obj is None else L1Block.from_json(obj)

    async def block_by_hash(self, block_hash: bytes, full: bool = False) -> Optional[L1Block]:
        obj = await self.call("eth_getBlockByHash", hexd(block_hash), full)
        return None if obj is None else L1Block.from_json(obj)

    async def blocks(self, numbers: Sequence[int], full: bool = False) -> list[Optional[L1Block]]:
        results = await self.batch([("eth_getBlockByNumber", [hexq(n), full]) for n in numbers])
        out = []
        for result in results:
            if isinstance(result, L1RpcError):
                raise result
            out.append(None if result is None else L1Block.from_json(result))
        return out

    async def head_number(self, tag: str = "latest") -> Optional[int]:
        obj = await self.call("eth_getBlockByNumber", tag, False)
        return None if obj is None else qty(obj["number"])

    async def logs(self, address: bytes, from_block: int, to_block: int, topics: Optional[list] = None) -> list[dict]:
        query = {"address": hexd(address), "fromBlock": hexq(from_block), "toBlock": hexq(to_block)}
        if topics:
            query["topics"] = [hexd(t) if isinstance(t, bytes) else t for t in topics]
        return [parse_log(entry) for entry in await self.call("eth_getLogs", query)]

    async def receipts(self, tx_hashes: Sequence[bytes]) -> list[Optional[dict]]:
        results = await self.batch([("eth_getTransactionReceipt", [hexd(h)]) for h in tx_hashes])
        for result in results:
            if isinstance(result, L1RpcError):
                raise result
        return results

    async def transaction(self, tx_hash: bytes) -> Optional[dict]:
        return await self.call("eth_getTransactionByHash", hexd(tx_hash))

    async def send_raw_transaction(self, raw: bytes) -> bytes:
        return data(await self.call("eth_sendRawTransaction", hexd(raw)))

    async def nonce(self, address: bytes, tag: str = "pending") -> int:
        return qty(await self.call("eth_getTransactionCount", hexd(address), tag))

    async def balance(self, address: bytes, tag: str = "latest") -> int:
        return qty(await self.call("eth_getBalance", hexd(address), tag))

    async def eth_call(self, to: bytes, calldata: bytes, block: int | str = "latest") -> bytes:
        spec = hexq(block) if isinstance(block, int) else block
        return data(await self.call("eth_call", {"to": hexd(to), "data": hexd(calldata)}, spec))

    async def fees(self) -> tuple[int, int, int]:
        """``(base fee of the next block, suggested tip, blob base fee)``."""
        results = await self.batch([("eth_getBlockByNumber", ["latest", False]), ("eth_maxPriorityFeePerGas", []),
                                    ("eth_blobBaseFee", [])])
        head, tip, blob_fee = results
        if isinstance(head, L1RpcError):
            raise head
        base = qty(head.get("baseFeePerGas")) or 0
        tip = 10**9 if isinstance(tip, L1RpcError) or tip is None else qty(tip)
        blob_fee = L1Block.from_json(head).blob_base_fee if isinstance(blob_fee, L1RpcError) else qty(blob_fee)
        return base, tip, max(blob_fee or 0, MIN_BLOB_BASE_FEE)


class BeaconBlobSource:
    """Blobs of L1 blocks from a beacon API endpoint, verified against their versioned hashes."""

    def __init__(self, url: str, *, block_id: str = "number", seconds_per_slot: int = 12,
                 timeout: float = DEFAULT_TIMEOUT):
        if block_id not in ("number", "slot"):
            raise ValueError("block_id must be 'number' (anvil) or 'slot' (a beacon node)")
        self.url = url.rstrip("/")
        self.block_id = block_id
        self.seconds_per_slot = seconds_per_slot
        self._genesis_time: Optional[int] = None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, path: str) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.get(self.url + path) as response:
                body = await response.text()
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise L1Unavailable(f"beacon API {path}: HTTP {response.status}: {body[:200]}")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise L1Unavailable(f"beacon API {self.url} unreachable: {exc!r}") from None
        try:
            return json.loads(body)
        except json.JSONDecodeError:
            raise L1Unavailable(f"beacon API {path}: non-JSON answer") from None

    async def _block_id(self, block: L1Block) -> str:
        if self.block_id == "number":
            return str(block.number)
        if self._genesis_time is None:
            genesis = await self._get("/eth/v1/beacon/genesis")
            if not genesis:
                raise L1Unavailable("beacon API has no genesis")
            self._genesis_time = int(genesis["data"]["genesis_time"])
        return str((block.timestamp - self._genesis_time) // self.seconds_per_slot)

    async def blobs(self, block: L1Block, versioned_hashes: Sequence[bytes]) -> list[bytes]:
        """The blobs of ``versioned_hashes`` in ``block``, in that order; MalformedBlobs if the source lies."""
        query = ",".join(hexd(h) for h in versioned_hashes)
        reply = await self._get(f"/eth/v1/beacon/blobs/{await self._block_id(block)}?versioned_hashes={query}")
        if reply is None:
            raise L1Unavailable(f"beacon API has no blobs for L1 block {block.number}")
        try:
            blobs = [data(item) for item in reply["data"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedBlobs(f"beacon API answered a malformed blob list: {exc}") from None
        # match each blob to its versioned hash by recomputing its KZG commitment (the source may reorder or lie)
        by_hash = {}
        for blob in blobs:
            try:
                by_hash[blob_versioned_hash(blob)] = blob
            except MalformedBlobs:
                continue
        missing = [h for h in versioned_hashes if h not in by_hash]
        if missing:
            raise MalformedBlobs(f"beacon API did not return a blob matching versioned hash 0x{missing[0].hex()}")
        return [by_hash[h] for h in versioned_hashes]
