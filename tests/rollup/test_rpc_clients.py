"""The rollup's JSON-RPC clients (web3.py's providers underneath) against a real anvil L1, and against
endpoints that fail: L1Client, the follower's transaction forwarding, the devnet's calls."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp import web

from eth_account import Account

from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.rollup.devnet import rpc
from hyperion.rollup.engine import ForwardError, forward_raw_transaction
from hyperion.rollup.l1client import L1Client, L1RpcError, L1Unavailable
from tests.rollup.l1.anvil import ANVIL_KEYS, Anvil, anvil_binary


@pytest.fixture(scope="module")
def anvil():
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil, scripts/setup-e2e.sh)")
    node = Anvil()
    try:
        node.rpc("anvil_mine", "0x3")
        yield node
    finally:
        node.stop()


def run(coro_fn):
    """Run ``coro_fn(client)`` with an L1Client made and closed inside the loop."""
    async def main(url):
        client = L1Client(url, timeout=5)
        try:
            return await coro_fn(client)
        finally:
            await client.close()
    return main


def test_typed_calls_and_batches_against_anvil(anvil):
    async def scenario(client):
        assert await client.chain_id() == 31337
        head = await client.head_number()
        assert head == 3
        blocks = await client.blocks(list(range(head + 1)))
        assert [b.number for b in blocks] == [0, 1, 2, 3]
        assert all(b.parent_hash == a.hash for a, b in zip(blocks, blocks[1:]))
        assert (await client.block_by_hash(blocks[2].hash)) == blocks[2]
        assert await client.block(head + 100) is None
        funded = private_key_to_address(bytes.fromhex(ANVIL_KEYS[0][2:]))
        assert await client.balance(funded) > 0
        assert await client.nonce(funded) == 0
        base, tip, blob_fee = await client.fees()
        assert base > 0 and tip > 0 and blob_fee >= 1
        # the connection is reused and the client survives close() and a second round
        await client.close()
        assert await client.head_number() == head
    asyncio.run(run(scenario)(anvil.url))


def test_rpc_errors_are_typed_singly_and_per_call_in_a_batch(anvil):
    async def scenario(client):
        with pytest.raises(L1RpcError) as error:
            await client.call("hyperion_noSuchMethod", 1)
        assert error.value.method == "hyperion_noSuchMethod" and error.value.code == -32601
        ok, failed, number = await client.batch([("eth_chainId", []), ("hyperion_noSuchMethod", []),
                                                 ("eth_blockNumber", [])])
        assert ok == "0x7a69" and int(number, 16) == 3
        assert isinstance(failed, L1RpcError) and failed.code == -32601
        assert await client.batch([]) == []
    asyncio.run(run(scenario)(anvil.url))


def unused_port() -> int:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_endpoint_is_unavailable():
    port = unused_port()

    async def scenario(client):
        with pytest.raises(L1Unavailable, match="unreachable"):
            await client.chain_id()
        with pytest.raises(L1Unavailable, match="unreachable"):
            await client.blocks([0, 1])
    asyncio.run(run(scenario)(f"http://127.0.0.1:{port}"))


@pytest.mark.parametrize("answer, expected", [
    (lambda: web.Response(status=502, text="bad gateway"), "HTTP 502"),
    (lambda: web.Response(status=429, text="slow down"), "HTTP 429"),
    (lambda: web.Response(text="<html>not json</html>"), "non-JSON"),
    (lambda: web.json_response([1, 2]), "malformed"),
    (lambda: web.json_response({"jsonrpc": "2.0", "id": 99, "result": "0x1"}), "malformed|ids"),
])
def test_a_broken_endpoint_is_unavailable_never_a_crash(answer, expected):
    async def main():
        app = web.Application()
        async def handler(request):
            return answer()
        app.router.add_post("/", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        client = L1Client(f"http://127.0.0.1:{port}", timeout=5)
        try:
            with pytest.raises(L1Unavailable, match=expected):
                await client.batch([("eth_chainId", []), ("eth_blockNumber", [])])
            if expected not in ("malformed", "malformed|ids"):
                with pytest.raises(L1Unavailable, match=expected):
                    await client.call("eth_chainId")
        finally:
            await client.close()
            await runner.cleanup()
    asyncio.run(main())


def test_forwarding_passes_the_sequencers_answer_on(anvil):
    key = ANVIL_KEYS[1]
    signed = Account.sign_transaction({"chainId": 31337, "nonce": 0, "to": "0x" + "11" * 20, "value": 1,
                                       "gas": 21_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9}, key)
    assert forward_raw_transaction(anvil.url, signed.raw_transaction) == bytes(signed.hash)
    with pytest.raises(ForwardError) as refused:  # the same nonce again: the sequencer's refusal, as it gave it
        forward_raw_transaction(anvil.url, signed.raw_transaction)
    assert "cannot reach" not in str(refused.value) and str(refused.value)
    with pytest.raises(ForwardError, match="cannot reach the sequencer"):
        forward_raw_transaction(f"http://127.0.0.1:{unused_port()}", signed.raw_transaction)


def test_devnet_calls_raise_one_clear_error(anvil):
    assert rpc(anvil.url, "eth_chainId") == "0x7a69"
    with pytest.raises(RuntimeError, match="hyperion_noSuchMethod"):
        rpc(anvil.url, "hyperion_noSuchMethod")
    with pytest.raises(RuntimeError, match="unreachable"):
        rpc(f"http://127.0.0.1:{unused_port()}", "eth_chainId", timeout=2)
