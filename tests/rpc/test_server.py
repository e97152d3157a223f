"""The aiohttp transport: HTTP POST, limits, CORS, and WebSocket subscriptions."""

import asyncio

import aiohttp
import orjson

from hyperion.rpc.server import MAX_BODY_BYTES, RpcServer
from tests.rpc.fake_chain import FakeChain
from tests.rpc.helpers import legacy_tx, request


def run_with_server(scenario):
    async def main():
        chain = FakeChain()
        server = RpcServer(chain, "127.0.0.1", 0, workers=2)
        await server.start()
        try:
            async with aiohttp.ClientSession() as client:
                await scenario(server, chain, client, f"http://127.0.0.1:{server.port}/")
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_http_post_single_and_batch():
    async def scenario(server, chain, client, url):
        async with client.post(url, json=request("eth_chainId")) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == "*"
            assert (await response.json())["result"] == "0x539"
        async with client.post(url, json=[request("eth_blockNumber", request_id=i) for i in range(5)]) as response:
            answers = await response.json()
            assert [a["id"] for a in answers] == list(range(5))

    run_with_server(scenario)


def test_http_errors_and_limits():
    async def scenario(server, chain, client, url):
        async with client.post(url, data=b"{not json") as response:
            assert (await response.json())["error"]["code"] == -32700
        async with client.post(url, data=b"") as response:
            assert response.status == 400 and (await response.json())["error"]["code"] == -32700
        # an announced oversized body is refused before it is read
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1))
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        assert b" 413 " in status_line

        # a chunked one is cut off at the limit
        async def chunks():
            for _ in range(6):
                yield b"x" * (1024 * 1024)

        async with client.post(url, data=chunks()) as response:
            assert response.status == 413
            assert (await response.json())["error"]["code"] == -32005
        async with client.get(url) as response:
            assert response.status == 405
        async with client.options(url) as response:
            assert response.status == 204
        # the server still answers after all that
        async with client.post(url, json=request("net_listening")) as response:
            assert (await response.json())["result"] is True

    run_with_server(scenario)


def test_websocket_requests_and_subscriptions():
    async def scenario(server, chain, client, url):
        async with client.ws_connect(url) as ws:
            await ws.send_str(orjson.dumps(request("eth_subscribe", "newHeads", request_id=1)).decode())
            heads_id = (await ws.receive_json())["result"]
            await ws.send_str(orjson.dumps(request("eth_subscribe", "logs", {}, request_id=2)).decode())
            logs_id = (await ws.receive_json())["result"]
            await ws.send_str(orjson.dumps(request("eth_subscribe", "newPendingTransactions", request_id=3)).decode())
            pending_id = (await ws.receive_json())["result"]
            tx = legacy_tx()
            await ws.send_str(orjson.dumps(request("eth_sendRawTransaction", "0x" + tx.encode().hex(),
                                                   request_id=4)).decode())
            seen = {}
            while len(seen) < 4:
                message = await ws.receive_json(timeout=5)
                if "id" in message:
                    seen["response"] = message["result"]
                else:
                    seen[message["params"]["subscription"]] = message["params"]["result"]
            assert seen["response"] == "0x" + tx.hash.hex()
            assert seen[pending_id] == "0x" + tx.hash.hex()
            assert seen[heads_id]["number"] == "0x1"
            assert seen[logs_id]["transactionHash"] == "0x" + tx.hash.hex()
            await ws.send_str(orjson.dumps(request("eth_unsubscribe", heads_id, request_id=5)).decode())
            assert (await ws.receive_json())["result"] is True
            await ws.send_str(orjson.dumps([request("eth_chainId", request_id=6)]).decode())
            assert (await ws.receive_json())[0]["result"] == "0x539"
            await ws.send_str("garbage")
            assert (await ws.receive_json())["error"]["code"] == -32700
        await asyncio.sleep(0.05)
        assert len(server.context.subscriptions) == 0  # dropped with the connection

    run_with_server(scenario)


def test_websocket_message_limit_closes_only_that_connection():
    from hyperion.rpc.server import MAX_WS_MESSAGE_BYTES

    async def scenario(server, chain, client, url):
        async with client.ws_connect(url, max_msg_size=0) as ws:
            try:
                await ws.send_str("x" * (MAX_WS_MESSAGE_BYTES + 1))
            except ConnectionError:
                pass  # the server hung up while the message was still going out
            message = await ws.receive(timeout=5)
            assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                                    aiohttp.WSMsgType.ERROR)
        async with client.post(url, json=request("eth_chainId")) as response:
            assert (await response.json())["result"] == "0x539"

    run_with_server(scenario)
