"""The ``ots_`` namespace on a real node, compared with anvil's answers to the same calls on the same transactions.

Both nodes receive the same signed transactions (same chain id, nonces,
fees and gas), so hashes and created addresses are equal; each ``ots_``
method anvil implements is then called on both and the answers compared
field by field (block hashes and state roots differ between the two
chains by construction and are left out).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.harness import NodeProcess, foundry_binary, js_tools_missing

pytestmark = pytest.mark.e2e
CHAIN_ID = 31337
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
DEV0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
DEV1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
HERE = Path(__file__).parent


def _rpc(url: str, method: str, *params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    missing = js_tools_missing()
    if missing:
        pytest.skip(missing)
    folder = tmp_path_factory.mktemp("ots")
    port = _free_port()
    anvil = subprocess.Popen([str(foundry_binary("anvil")), "--port", str(port), "--chain-id", str(CHAIN_ID),
                              "--hardfork", "prague", "--silent"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    node = NodeProcess("--in-memory", "--silent", "--chain-id", str(CHAIN_ID), log_path=folder / "node.log")
    try:
        node.start()
        anvil_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                _rpc(anvil_url, "eth_chainId")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield {"hyperion": node.url, "anvil": anvil_url}
    finally:
        node.stop()
        anvil.terminate()
        try:
            anvil.wait(10)
        except subprocess.TimeoutExpired:
            anvil.kill()
            anvil.wait()


def _compile(name: str) -> str:
    from vyper.compiler import compile_code
    from vyper.compiler.settings import Settings

    source = (HERE / name) if name.endswith(".vy") else None
    output = compile_code(source.read_text(), contract_path=source.name, output_formats=["bytecode"],
                          settings=Settings(evm_version="cancun"))
    return output["bytecode"]


@pytest.fixture(scope="module")
def history(nodes):
    """The same signed transactions on both nodes: transfers, two deployments, calls, a revert, internal ops."""
    from eth_account import Account

    from hyperion.primitives.address import to_checksum_address
    from hyperion.primitives.keccak import keccak256

    def selector(signature: str) -> str:
        return keccak256(signature.encode())[:4].hex()

    counter = _compile(str(Path(__file__).parents[1] / "e2e" / "contract.vy")) + (5).to_bytes(32, "big").hex()
    forwarder = _compile("ots_forwarder.vy")
    plan = [
        {"to": DEV1, "value": 10**18, "gas": 21_000},
        {"data": counter, "gas": 1_000_000},
        {"data": forwarder, "gas": 1_000_000},
    ]
    counter_address = "0x" + keccak256(bytes.fromhex("d694" + DEV0[2:].lower() + "01"))[12:].hex()
    forwarder_address = "0x" + keccak256(bytes.fromhex("d694" + DEV0[2:].lower() + "02"))[12:].hex()
    plan += [
        {"to": counter_address, "data": "0x" + selector("set_value(uint256)") + (9).to_bytes(32, "big").hex(),
         "gas": 100_000},
        {"to": counter_address, "data": "0x" + selector("set_value(uint256)") + (13).to_bytes(32, "big").hex(),
         "gas": 100_000},
        {"to": forwarder_address, "value": 12345,
         "data": "0x" + selector("forward(address)") + bytes(12).hex() + DEV1[2:].lower(), "gas": 100_000},
        {"to": forwarder_address, "data": "0x" + selector("spawn()"), "gas": 200_000},
    ]
    hashes = []
    for nonce, fields in enumerate(plan):
        tx = {"chainId": CHAIN_ID, "nonce": nonce, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9,
              "value": 0, "data": "0x", **fields}
        if "to" in tx:
            tx["to"] = to_checksum_address(bytes.fromhex(tx["to"][2:]))
        raw = "0x" + Account.sign_transaction(tx, KEY).raw_transaction.hex().removeprefix("0x")
        sent = {name: _rpc(url, "eth_sendRawTransaction", raw) for name, url in nodes.items()}
        assert sent["hyperion"] == sent["anvil"]
        hashes.append(sent["hyperion"])
    receipts = {name: [_rpc(url, "eth_getTransactionReceipt", h) for h in hashes] for name, url in nodes.items()}
    for ours, theirs in zip(receipts["hyperion"], receipts["anvil"]):
        assert (ours["status"], ours["gasUsed"], ours["contractAddress"]) == \
               (theirs["status"], theirs["gasUsed"], theirs["contractAddress"])
    return {"hashes": hashes, "counter": counter_address, "forwarder": forwarder_address,
            "receipts": receipts["hyperion"]}


def both(nodes, method: str, *params):
    return _rpc(nodes["hyperion"], method, *params), _rpc(nodes["anvil"], method, *params)


def test_api_level_and_has_code(nodes, history):
    ours, theirs = both(nodes, "ots_getApiLevel")
    assert ours == theirs == 8
    for account, expected in ((history["counter"], True), (history["forwarder"], True), (DEV1, False)):
        assert both(nodes, "ots_hasCode", account, "latest") == (expected, expected)
    assert both(nodes, "ots_hasCode", history["counter"], 1) == (False, False)   # before its deployment


def test_transaction_error(nodes, history):
    ok_hash, failed_hash = history["hashes"][3], history["hashes"][4]
    assert both(nodes, "ots_getTransactionError", ok_hash) == ("0x", "0x")
    ours, theirs = both(nodes, "ots_getTransactionError", failed_hash)
    assert ours == theirs and ours.startswith("0x08c379a0")   # Error("unlucky number")


def _trace_key(entry: dict) -> tuple:
    value = entry.get("value")
    return (entry["type"], entry["depth"], entry["from"].lower(), (entry.get("to") or "").lower(),
            None if value is None else int(value, 16), entry.get("input"))


def test_trace_transaction_and_internal_operations(nodes, history):
    for tx_hash in history["hashes"][3:]:
        ours, theirs = both(nodes, "ots_traceTransaction", tx_hash)
        # anvil leaves CREATE frames out of this trace (Erigon, Otterscan's reference, lists them)
        assert [_trace_key(e) for e in ours if not e["type"].startswith("CREATE")] == \
               [_trace_key(e) for e in theirs if not e["type"].startswith("CREATE")]
    created = [e for e in _rpc(nodes["hyperion"], "ots_traceTransaction", history["hashes"][6])
               if e["type"] == "CREATE"]
    assert len(created) == 1 and created[0]["depth"] == 1 and created[0]["from"] == history["forwarder"]
    forward, spawn = history["hashes"][5], history["hashes"][6]

    def norm(ops: list) -> list:
        return [(o["type"], o["from"].lower(), o["to"].lower(), int(o["value"], 16)) for o in ops]

    # anvil also lists the transaction's own top-level transfer; Erigon (Otterscan's reference node) and
    # Hyperion list only what happens below it, so anvil's answer is ours behind that one entry
    ours, theirs = both(nodes, "ots_getInternalOperations", forward)
    top = (0, DEV0.lower(), history["forwarder"], 12345)
    assert norm(ours) == [(0, history["forwarder"], DEV1.lower(), 12345)]
    assert norm(theirs) == [top] + norm(ours)
    ours, theirs = both(nodes, "ots_getInternalOperations", spawn)
    assert norm(ours) == norm(theirs) and len(ours) == 1 and ours[0]["type"] == 2   # a CREATE inside the call


def test_sender_and_nonce_and_contract_creator(nodes, history):
    for nonce, tx_hash in enumerate(history["hashes"]):
        ours, theirs = both(nodes, "ots_getTransactionBySenderAndNonce", DEV0, nonce)
        assert ours == tx_hash
        assert (theirs if isinstance(theirs, str) else theirs["hash"]) == tx_hash
    assert both(nodes, "ots_getTransactionBySenderAndNonce", DEV0, 99) == (None, None)
    for address, tx_hash in ((history["counter"], history["hashes"][1]), (history["forwarder"], history["hashes"][2])):
        ours, theirs = both(nodes, "ots_getContractCreator", address)
        assert ours == {"hash": tx_hash, "creator": DEV0.lower()}
        assert (theirs["hash"], theirs["creator"].lower()) == (tx_hash, DEV0.lower())
    spawned = history["receipts"][6]["logs"]   # the proxy emits nothing: found by bisection + trace
    proxy = _rpc(nodes["hyperion"], "ots_getInternalOperations", history["hashes"][6])[0]["to"]
    ours, theirs = both(nodes, "ots_getContractCreator", proxy)
    assert ours["hash"] == theirs["hash"] == history["hashes"][6]
    assert ours["creator"].lower() == theirs["creator"].lower() == history["forwarder"]
    assert spawned == []


def _hashes(page: dict) -> list[str]:
    return [tx["hash"] for tx in page["txs"]]


def test_search_transactions(nodes, history):
    hashes = history["hashes"]
    ours, theirs = both(nodes, "ots_searchTransactionsBefore", DEV0, 0, 25)
    assert _hashes(ours) == _hashes(theirs) == hashes[::-1]
    assert [r["status"] for r in ours["receipts"]] == [r["status"] for r in theirs["receipts"]]
    assert (ours["firstPage"], ours["lastPage"]) == (True, True)
    ours, theirs = both(nodes, "ots_searchTransactionsAfter", DEV0, 0, 25)
    assert _hashes(ours) == _hashes(theirs) == hashes[::-1]
    # DEV1 received a transfer and an internal transfer: the index has the first (a direct recipient)
    ours, theirs = both(nodes, "ots_searchTransactionsBefore", DEV1, 0, 25)
    assert hashes[0] in _hashes(ours) and hashes[0] in _hashes(theirs)
    # paging: two per page, newest first, each page continuing below the previous one's last block
    page = _rpc(nodes["hyperion"], "ots_searchTransactionsBefore", DEV0, 0, 2)
    assert _hashes(page) == hashes[::-1][:2] and page["firstPage"] and not page["lastPage"]
    last_block = int(page["txs"][-1]["blockNumber"], 16)
    page = _rpc(nodes["hyperion"], "ots_searchTransactionsBefore", DEV0, last_block, 2)
    assert _hashes(page) == hashes[::-1][2:4]


def test_block_details_and_transactions(nodes, history):
    for receipt in history["receipts"]:
        number = int(receipt["blockNumber"], 16)
        ours, theirs = both(nodes, "ots_getBlockDetails", number)
        assert ours["block"]["transactionCount"] == theirs["block"]["transactionCount"] == 1
        # the two chains' base fees follow their own schedules: each total is its own receipts' fees
        for url, details in ((nodes["hyperion"], ours), (nodes["anvil"], theirs)):
            paid = _rpc(url, "eth_getTransactionReceipt", receipt["transactionHash"])
            assert int(details["totalFees"], 16) == int(paid["gasUsed"], 16) * int(paid["effectiveGasPrice"], 16)
        assert int(ours["block"]["number"], 16) == int(theirs["block"]["number"], 16) == number
        ours, theirs = both(nodes, "ots_getBlockTransactions", number, 0, 10)
        assert [t["hash"] for t in ours["fullblock"]["transactions"]] == \
               [t["hash"] for t in theirs["fullblock"]["transactions"]] == [receipt["transactionHash"]]
        assert [t["input"] for t in ours["fullblock"]["transactions"]] == \
               [t["input"] for t in theirs["fullblock"]["transactions"]]
        assert [(r["status"], r["gasUsed"]) for r in ours["receipts"]] == \
               [(r["status"], r["gasUsed"]) for r in theirs["receipts"]]
