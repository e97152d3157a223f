import orjson
import pytest

from hyperion.rpc.methods import method_table
from tests.rpc.fake_chain import REVERT_SELECTOR
from tests.rpc.helpers import call, fee_market_tx, legacy_tx, make_dispatcher, request


@pytest.fixture
def dispatcher():
    return make_dispatcher()


def test_simple_methods(dispatcher):
    assert call(dispatcher, request("eth_chainId")) == {"jsonrpc": "2.0", "id": 1, "result": "0x539"}
    assert call(dispatcher, request("net_version"))["result"] == "1337"
    assert call(dispatcher, request("web3_sha3", "0x"))["result"] == (
        "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
    assert call(dispatcher, request("web3_clientVersion"))["result"].startswith("Hyperion/")


def test_parse_error_has_null_id(dispatcher):
    answer = call(dispatcher, b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert answer["id"] is None and answer["error"]["code"] == -32700


@pytest.mark.parametrize("body,code", [
    ({"jsonrpc": "1.0", "id": 1, "method": "eth_chainId"}, -32600),
    ({"jsonrpc": "2.0", "id": 1}, -32600),
    ({"jsonrpc": "2.0", "id": [1], "method": "eth_chainId"}, -32600),
    ('"just a string"', -32600),
    ({"jsonrpc": "2.0", "id": 1, "method": "eth_noSuchThing"}, -32601),
    ({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": {"a": 1}}, -32602),
    ({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x12"]}, -32602),
])
def test_request_errors(dispatcher, body, code):
    assert call(dispatcher, body)["error"]["code"] == code


def test_method_not_found_message(dispatcher):
    error = call(dispatcher, request("foo_bar"))["error"]
    assert error == {"code": -32601, "message": "the method foo_bar does not exist/is not available"}


def test_batch_keeps_order_and_skips_notifications(dispatcher):
    batch = [request("eth_chainId", request_id=7),
             {"jsonrpc": "2.0", "method": "eth_chainId"},
             request("nope_nope", request_id="x"),
             request("net_version", request_id=9)]
    answers = call(dispatcher, batch)
    assert [a["id"] for a in answers] == [7, "x", 9]
    assert "error" in answers[1] and answers[2]["result"] == "1337"


def test_batch_limits(dispatcher):
    assert call(dispatcher, [])["error"]["code"] == -32600
    small = make_dispatcher(max_batch_size=3)
    answer = call(small, [request("eth_chainId")] * 4)
    assert answer["error"]["code"] == -32600 and "batch too large" in answer["error"]["message"]
    assert len(call(small, [request("eth_chainId")] * 3)) == 3


def test_notification_gets_no_answer(dispatcher):
    assert call(dispatcher, {"jsonrpc": "2.0", "method": "eth_chainId"}) is None
    assert call(dispatcher, [{"jsonrpc": "2.0", "method": "eth_chainId"}]) is None


def test_internal_errors_do_not_escape(dispatcher):
    def broken_head():
        raise RuntimeError("disk on fire")

    dispatcher.context.chain.head = broken_head
    error = call(dispatcher, request("eth_blockNumber"))["error"]
    assert error["code"] == -32603 and "disk on fire" in error["message"]


def test_send_raw_transaction_and_pool_error(dispatcher):
    raw = "0x" + legacy_tx().encode().hex()
    answer = call(dispatcher, request("eth_sendRawTransaction", raw))
    assert answer["result"] == "0x" + legacy_tx().hash.hex()
    again = call(dispatcher, request("eth_sendRawTransaction", raw))
    assert again["error"] == {"code": -32000, "message": "already known"}
    garbage = call(dispatcher, request("eth_sendRawTransaction", "0x0102"))
    assert garbage["error"]["code"] == -32602


def test_call_revert_is_code_3_with_data(dispatcher):
    args = {"to": "0x" + "11" * 20, "data": "0x" + REVERT_SELECTOR.hex()}
    error = call(dispatcher, request("eth_call", args))["error"]
    assert error["code"] == 3
    assert error["message"] == "execution reverted: boom"
    assert error["data"].startswith("0x08c379a0")
    estimate = call(dispatcher, request("eth_estimateGas", args))["error"]
    assert estimate["code"] == 3 and estimate["message"] == "execution reverted: boom"


def test_call_passes_overrides(dispatcher):
    args = {"to": "0x" + "11" * 20, "input": "0x0102"}
    overrides = {"0x" + "22" * 20: {"balance": "0x1"}}
    assert call(dispatcher, request("eth_call", args, "latest", overrides))["result"] == "0x0201"
    fields, spec, state, block = dispatcher.context.chain.calls[-1]
    assert spec == "latest" and state == {b"\x22" * 20: {"balance": 1}} and block is None


def test_block_and_transaction_lookups(dispatcher):
    tx = fee_market_tx()
    call(dispatcher, request("eth_sendRawTransaction", "0x" + tx.encode().hex()))
    assert call(dispatcher, request("eth_blockNumber"))["result"] == "0x1"
    block = call(dispatcher, request("eth_getBlockByNumber", "latest", True))["result"]
    assert block["transactions"][0]["hash"] == "0x" + tx.hash.hex()
    assert block["transactions"][0]["gasPrice"] == hex(2_000_000_000)  # base fee 1 gwei + tip 1 gwei
    assert call(dispatcher, request("eth_getBlockByNumber", "0x99", False))["result"] is None
    by_hash = call(dispatcher, request("eth_getBlockByHash", block["hash"], False))["result"]
    assert by_hash["transactions"] == ["0x" + tx.hash.hex()]
    receipt = call(dispatcher, request("eth_getTransactionReceipt", "0x" + tx.hash.hex()))["result"]
    assert receipt["status"] == "0x1" and receipt["type"] == "0x2" and len(receipt["logs"]) == 1
    assert receipt["logs"][0]["blockTimestamp"] == block["timestamp"]
    assert call(dispatcher, request("eth_getTransactionReceipt", "0x" + "00" * 32))["result"] is None
    count = call(dispatcher, request("eth_getBlockTransactionCountByHash", block["hash"]))["result"]
    assert count == "0x1"
    by_index = call(dispatcher, request("eth_getTransactionByBlockNumberAndIndex", "0x1", "0x0"))["result"]
    assert by_index["hash"] == "0x" + tx.hash.hex()
    receipts = call(dispatcher, request("eth_getBlockReceipts", "latest"))["result"]
    assert [r["transactionHash"] for r in receipts] == ["0x" + tx.hash.hex()]


def test_state_reads_and_proof(dispatcher):
    chain = dispatcher.context.chain
    chain.balances[b"\x11" * 20] = 10**18
    chain.storage[(b"\x11" * 20, 1)] = 0xABC
    assert call(dispatcher, request("eth_getBalance", "0x" + "11" * 20, "latest"))["result"] == hex(10**18)
    assert call(dispatcher, request("eth_getBalance", "0x" + "11" * 20,
                                    {"blockNumber": "0x0"}))["result"] == hex(10**18)
    slot = call(dispatcher, request("eth_getStorageAt", "0x" + "11" * 20, "0x1", "latest"))["result"]
    assert slot == "0x" + "00" * 30 + "0abc"
    missing = call(dispatcher, request("eth_getBalance", "0x" + "11" * 20, "0x99"))["error"]
    assert missing["code"] == -32000 and "header not found" in missing["message"]
    proof = call(dispatcher, request("eth_getProof", "0x" + "11" * 20, ["0x1", "0x" + "00" * 31 + "01"],
                                     "latest"))["result"]
    assert proof["balance"] == hex(10**18)
    # geth echoes a 32-byte key as given, any other as a quantity
    assert proof["storageProof"][0] == {"key": "0x1", "value": "0xabc", "proof": []}
    assert proof["storageProof"][1]["key"] == "0x" + "00" * 31 + "01"


def test_filters(dispatcher):
    block_filter = call(dispatcher, request("eth_newBlockFilter"))["result"]
    log_filter = call(dispatcher, request("eth_newFilter", {"fromBlock": "latest"}))["result"]
    pending_filter = call(dispatcher, request("eth_newPendingTransactionFilter"))["result"]
    assert call(dispatcher, request("eth_getFilterChanges", block_filter))["result"] == []
    tx = legacy_tx()
    call(dispatcher, request("eth_sendRawTransaction", "0x" + tx.encode().hex()))
    blocks = call(dispatcher, request("eth_getFilterChanges", block_filter))["result"]
    assert blocks == ["0x" + dispatcher.context.chain.head().hash.hex()]
    logs = call(dispatcher, request("eth_getFilterChanges", log_filter))["result"]
    assert len(logs) == 1 and logs[0]["transactionHash"] == "0x" + tx.hash.hex()
    assert call(dispatcher, request("eth_getFilterChanges", log_filter))["result"] == []
    assert call(dispatcher, request("eth_getFilterChanges", pending_filter))["result"] == ["0x" + tx.hash.hex()]
    assert call(dispatcher, request("eth_uninstallFilter", block_filter))["result"] is True
    assert call(dispatcher, request("eth_uninstallFilter", block_filter))["result"] is False
    gone = call(dispatcher, request("eth_getFilterChanges", block_filter))["error"]
    assert gone == {"code": -32000, "message": "filter not found"}


def test_filters_expire():
    dispatcher = make_dispatcher()
    dispatcher.context.filters._timeout = 0.0
    filter_id = call(dispatcher, request("eth_newBlockFilter"))["result"]
    assert call(dispatcher, request("eth_getFilterChanges", filter_id))["error"]["message"] == "filter not found"


def test_subscribe_needs_websocket(dispatcher):
    error = call(dispatcher, request("eth_subscribe", "newHeads"))["error"]
    assert error == {"code": -32601, "message": "notifications not supported"}


def test_every_method_survives_garbage_params(dispatcher):
    garbage = [["0xzz"], [None, None, None, None, None], [{"x": [1, 2]}], ["latest", "nope"], [True], [12.5]]
    for name in method_table():
        if name == "eth_subscribe":
            continue
        for params in garbage:
            answer = call(dispatcher, {"jsonrpc": "2.0", "id": 1, "method": name, "params": params})
            if "error" in answer and answer["error"]["code"] == -32603:
                # only the fake chain's missing facade methods may fail this way
                assert "'FakeChain' object has no attribute" in answer["error"]["message"], (name, params)


def test_response_is_compact_json(dispatcher):
    raw = __import__("asyncio").run(dispatcher.handle_body(orjson.dumps(request("eth_chainId"))))
    assert raw == b'{"jsonrpc":"2.0","id":1,"result":"0x539"}'


def test_slow_call_times_out_without_blocking_others():
    import asyncio
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    dispatcher = make_dispatcher(call_timeout=0.2)
    dispatcher.executor = ThreadPoolExecutor(2)
    work_ended = threading.Event()

    def slow_call(*args, **kwargs):
        time.sleep(1.0)  # no check point: the deadline can only answer for it
        work_ended.set()
        raise AssertionError("never reported")

    dispatcher.context.chain.call = slow_call

    async def answered_while_it_runs(body: bytes) -> tuple[dict, bool]:
        answer = await dispatcher.handle_body(body)
        return orjson.loads(answer), not work_ended.is_set()

    async def scenario():
        slow = answered_while_it_runs(orjson.dumps(request("eth_call", {"to": "0x" + "11" * 20})))
        quick = answered_while_it_runs(orjson.dumps(request("eth_blockNumber", request_id=2)))
        return await asyncio.gather(slow, quick)

    (slow_answer, slow_early), (quick_answer, quick_early) = asyncio.run(scenario())
    assert slow_answer["error"] == {"code": -32000, "message": "execution aborted (timeout = 0.2s)"}
    assert quick_answer["result"] == "0x0"
    # both answered before the stuck work ended: neither waited for it (events, not a time a loaded machine misses)
    assert slow_early and quick_early
    dispatcher.executor.shutdown(wait=True)


# -- work budgets ----------------------------------------------------------------------------------


def _spinning_call(*args, **kwargs):
    """An execution that never ends by itself: only its budget stops it."""
    from hyperion.chain import limits

    while True:
        limits.check()
        __import__("time").sleep(0.002)


def _pooled(**kwargs):
    from concurrent.futures import ThreadPoolExecutor

    dispatcher = make_dispatcher(**kwargs)
    dispatcher.executor = ThreadPoolExecutor(2)
    dispatcher.heavy_executor = ThreadPoolExecutor(1)
    return dispatcher


def test_a_batch_runs_under_one_budget_and_each_execution_under_its_own():
    import time

    dispatcher = _pooled(call_timeout=0.2, request_timeout=0.5)
    dispatcher.context.chain.call = _spinning_call
    batch = [request("eth_call", {"to": "0x" + "11" * 20}, request_id=i) for i in range(5)]
    batch.insert(1, {"jsonrpc": "2.0", "method": "eth_chainId", "params": []})  # a notification: no answer
    started = time.monotonic()
    answers = call(dispatcher, batch)
    # answered near its 0.5 s budget (the answers below show the budget: without it all five run their 0.2 s)
    assert time.monotonic() - started < 5.0
    assert [a["id"] for a in answers] == [0, 1, 2, 3, 4]
    assert answers[0]["error"] == {"code": -32000, "message": "execution aborted (timeout = 0.2s)"}
    assert answers[1]["error"]["message"] == "execution aborted (timeout = 0.2s)"
    assert answers[-1]["error"] == {"code": -32002, "message": "request timed out"}
    dispatcher.executor.shutdown(wait=True)
    dispatcher.heavy_executor.shutdown(wait=True)


def test_a_batch_stuck_outside_check_points_is_answered_at_its_deadline():
    import threading
    import time

    dispatcher = _pooled(request_timeout=0.3)
    work_ended = threading.Event()

    def stuck_call(*args, **kwargs):
        time.sleep(1.5)  # no check point at all
        work_ended.set()

    dispatcher.context.chain.call = stuck_call
    batch = [request("eth_chainId", request_id=0), request("eth_call", {"to": "0x" + "11" * 20}, request_id=1),
             request("eth_chainId", request_id=2)]
    answers = call(dispatcher, batch)
    assert not work_ended.is_set(), "the batch's answer waited for the stuck call"
    assert answers[0]["result"] == "0x539"
    assert [a["error"]["code"] for a in answers[1:]] == [-32002, -32002]
    dispatcher.executor.shutdown(wait=True)
    dispatcher.heavy_executor.shutdown(wait=True)


def test_batch_answers_stop_at_the_response_size_limit(dispatcher):
    dispatcher.max_batch_response_bytes = 100
    answers = call(dispatcher, [request("eth_chainId", request_id=i) for i in range(6)])
    assert [a["id"] for a in answers] == list(range(6))
    assert answers[0]["result"] == "0x539"
    assert answers[-1]["error"] == {"code": -32003, "message": "response too large"}


def test_heavy_requests_beyond_the_queue_are_refused_and_a_closing_node_refuses_all():
    import asyncio

    dispatcher = _pooled(call_timeout=0.3)
    dispatcher.max_heavy_pending = 1
    dispatcher.context.chain.call = _spinning_call
    body = orjson.dumps(request("eth_call", {"to": "0x" + "11" * 20}))

    async def scenario():
        return await asyncio.gather(dispatcher.handle_body(body), dispatcher.handle_body(body))

    first, second = sorted((orjson.loads(raw) for raw in asyncio.run(scenario())),
                           key=lambda answer: answer["error"]["code"])
    assert first["error"]["code"] == -32005 and "too many heavy requests" in first["error"]["message"]
    assert second["error"]["message"] == "execution aborted (timeout = 0.3s)"
    dispatcher.closing = True
    assert call(dispatcher, request("eth_chainId"))["error"]["message"] == "the node is shutting down"
    dispatcher.executor.shutdown(wait=True)
    dispatcher.heavy_executor.shutdown(wait=True)
