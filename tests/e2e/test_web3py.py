"""web3.py against a real ``hyperion node``: deploy, call, transfer, logs, WebSocket
subscriptions, reverts, gas estimates, replacement transactions, receipts and proofs."""

from __future__ import annotations

import asyncio

import pytest

web3 = pytest.importorskip("web3")
from eth_account import Account  # noqa: E402
from web3 import AsyncWeb3, Web3  # noqa: E402
from web3.exceptions import ContractLogicError, Web3RPCError  # noqa: E402

from hyperion.primitives import rlp  # noqa: E402
from hyperion.primitives.keccak import keccak256  # noqa: E402
from tests.e2e.harness import DEV_ADDRESSES, DEV_KEYS  # noqa: E402

DEPLOYER = DEV_ADDRESSES[0]


@pytest.fixture(scope="module")
def w3(node):
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))


@pytest.fixture(scope="module")
def counter(w3, contract_artifact):
    factory = w3.eth.contract(abi=contract_artifact["abi"], bytecode=contract_artifact["bytecode"])
    tx_hash = factory.constructor(7).transact({"from": DEPLOYER})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt.status == 1 and receipt.contractAddress
    return w3.eth.contract(address=receipt.contractAddress, abi=contract_artifact["abi"])


def test_chain_basics(w3):
    assert w3.is_connected()
    assert w3.eth.chain_id == 133717
    assert w3.net.version == "133717"
    assert w3.client_version.startswith("Hyperion/")
    assert w3.eth.accounts[:4] == DEV_ADDRESSES
    assert w3.eth.get_balance(DEV_ADDRESSES[3]) > 0
    genesis = w3.eth.get_block(0)
    assert genesis.number == 0 and genesis.baseFeePerGas == 10**9
    assert w3.eth.get_block("earliest").hash == genesis.hash
    assert w3.eth.syncing is False
    assert w3.eth.gas_price > 0 and w3.eth.max_priority_fee >= 0
    history = w3.eth.fee_history(1, "latest", [50])
    assert len(history.baseFeePerGas) == 2


def test_deploy_call_and_transact(w3, counter):
    assert counter.functions.value().call() == 7
    assert counter.functions.owner().call() == DEPLOYER
    assert counter.functions.doubled(21).call() == 42
    assert len(w3.eth.get_code(counter.address)) > 0
    tx_hash = counter.functions.set_value(99).transact({"from": DEPLOYER})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1 and receipt.to == counter.address
    assert counter.functions.value().call() == 99
    # storage slot 0 is `value`
    assert int.from_bytes(w3.eth.get_storage_at(counter.address, 0), "big") == 99
    # history stays readable at the block before the change
    assert counter.functions.value().call(block_identifier=receipt.blockNumber - 1) != 99 or \
        receipt.blockNumber == 1
    block = w3.eth.get_block(receipt.blockNumber, full_transactions=True)
    assert block.transactions[receipt.transactionIndex].hash == tx_hash
    assert w3.eth.get_transaction(tx_hash).blockHash == block.hash
    assert w3.eth.get_transaction_by_block(receipt.blockNumber, receipt.transactionIndex).hash == tx_hash
    assert [r.transactionHash for r in w3.eth.get_block_receipts(receipt.blockNumber)] == [tx_hash]


def test_signed_transfer_with_eth_account(w3):
    sender = Account.from_key(DEV_KEYS[1])
    recipient = Account.create().address
    nonce = w3.eth.get_transaction_count(sender.address)
    tx = {"type": 2, "chainId": 133717, "nonce": nonce, "to": recipient, "value": 12345,
          "gas": 21000, "maxFeePerGas": 3 * 10**9, "maxPriorityFeePerGas": 10**9}
    signed = sender.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1 and receipt.gasUsed == 21000 and receipt.type == 2
    assert w3.eth.get_balance(recipient) == 12345
    assert w3.eth.get_transaction_count(sender.address) == nonce + 1
    fetched = w3.eth.get_transaction(tx_hash)
    assert fetched["from"] == sender.address and fetched.yParity in (0, 1)
    with pytest.raises(Web3RPCError, match="nonce too low|already known"):
        w3.eth.send_raw_transaction(signed.raw_transaction)


def test_logs_and_filters(w3, counter):
    event_filter = counter.events.ValueChanged.create_filter(from_block="latest")
    tx_hash = counter.functions.set_value(5).transact({"from": DEV_ADDRESSES[2]})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    events = counter.events.ValueChanged().process_receipt(receipt)
    assert events[0].args.new_value == 5 and events[0].args.setter == DEV_ADDRESSES[2]
    logs = w3.eth.get_logs({"address": counter.address, "fromBlock": receipt.blockNumber,
                            "toBlock": receipt.blockNumber})
    assert len(logs) == 1 and logs[0].transactionHash == tx_hash
    topic = keccak256(b"ValueChanged(address,uint256,uint256)")
    by_topic = w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "topics": [topic,
                                "0x" + "00" * 12 + DEV_ADDRESSES[2][2:].lower()]})
    assert tx_hash in [log.transactionHash for log in by_topic]
    changes = event_filter.get_new_entries()
    assert [entry.args.new_value for entry in changes] == [5]
    assert event_filter.get_new_entries() == []
    block_filter = w3.eth.filter("latest")
    counter.functions.set_value(6).transact({"from": DEV_ADDRESSES[2]})
    assert len(block_filter.get_new_entries()) == 1
    assert w3.eth.uninstall_filter(block_filter.filter_id)


def test_revert_reasons_and_estimates(w3, counter):
    with pytest.raises(ContractLogicError, match="unlucky number") as caught:
        counter.functions.set_value(13).call({"from": DEPLOYER})
    assert caught.value.data.startswith("0x08c379a0")
    with pytest.raises(ContractLogicError, match="unlucky number"):
        counter.functions.set_value(13).estimate_gas({"from": DEPLOYER})
    with pytest.raises(ContractLogicError, match="too big"):
        counter.functions.doubled(5000).call()
    estimate = counter.functions.set_value(1234).estimate_gas({"from": DEPLOYER})
    tx_hash = counter.functions.set_value(1234).transact({"from": DEPLOYER, "gas": estimate})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt.status == 1 and receipt.gasUsed <= estimate
    assert w3.eth.estimate_gas({"from": DEPLOYER, "to": DEV_ADDRESSES[1], "value": 1}) == 21000
    # a mined revert: status 0
    tx_hash = counter.functions.set_value(13).transact({"from": DEPLOYER, "gas": 100_000})
    assert w3.eth.wait_for_transaction_receipt(tx_hash).status == 0
    # state overrides on eth_call
    raw = w3.eth.call({"to": counter.address, "data": counter.encode_abi("value", [])}, "latest",
                      {counter.address: {"stateDiff": {"0x" + "00" * 32: "0x" + (77).to_bytes(32, "big").hex()}}})
    assert int.from_bytes(raw, "big") == 77
    access = w3.eth.create_access_list({"from": DEPLOYER, "to": counter.address,
                                        "data": counter.encode_abi("set_value", [3])})
    assert any(entry["address"] == counter.address for entry in access["accessList"])


def test_replace_pending_transaction(w3):
    sender = Account.from_key(DEV_KEYS[3])
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        nonce = w3.eth.get_transaction_count(sender.address, "pending")
        base = {"type": 2, "chainId": 133717, "nonce": nonce, "to": DEV_ADDRESSES[0], "gas": 21000,
                "value": 1}
        first = sender.sign_transaction({**base, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**8})
        first_hash = w3.eth.send_raw_transaction(first.raw_transaction)
        assert w3.eth.get_transaction(first_hash).blockNumber is None
        status = w3.provider.make_request("txpool_status", [])["result"]
        assert int(status["pending"], 16) >= 1
        too_cheap = sender.sign_transaction({**base, "value": 2, "maxFeePerGas": 2 * 10**9 + 1,
                                             "maxPriorityFeePerGas": 10**8 + 1})
        with pytest.raises(Web3RPCError, match="replacement transaction underpriced"):
            w3.eth.send_raw_transaction(too_cheap.raw_transaction)
        better = sender.sign_transaction({**base, "value": 3, "maxFeePerGas": 4 * 10**9,
                                          "maxPriorityFeePerGas": 10**9})
        better_hash = w3.eth.send_raw_transaction(better.raw_transaction)
        w3.provider.make_request("evm_mine", [])
        receipt = w3.eth.wait_for_transaction_receipt(better_hash, timeout=10)
        assert receipt.status == 1 and w3.eth.get_transaction(better_hash).value == 3
        from web3.exceptions import TransactionNotFound

        with pytest.raises(TransactionNotFound):
            w3.eth.get_transaction_receipt(first_hash)
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


def _verify_trie_proof(root: bytes, key: bytes, proof: list[bytes]) -> bytes:
    """Walk a Merkle-Patricia proof from ``root`` down ``keccak(key)``; returns the leaf value."""
    nodes = {keccak256(node): node for node in proof}
    path = keccak256(key).hex()
    expected = root
    while True:
        node = rlp.decode(nodes[expected]) if isinstance(expected, bytes) and len(expected) == 32 else expected
        if len(node) == 17:
            if not path:
                return node[16]
            child, path = node[int(path[0], 16)], path[1:]
        else:
            encoded = node[0].hex()
            flag = int(encoded[0], 16)
            nibbles = encoded[2:] if flag in (0, 2) else encoded[1:]
            assert path.startswith(nibbles), "proof diverges from the key"
            path = path[len(nibbles):]
            if flag >= 2:
                assert path == ""
                return node[1]
            child = node[1]
        expected = child if isinstance(child, list) else bytes(child)
        if isinstance(expected, bytes) and len(expected) < 32:
            expected = rlp.decode(expected)


def test_merkle_proof(w3, counter):
    block = w3.eth.get_block("latest")
    proof = w3.eth.get_proof(counter.address, [0], block.number)
    account = rlp.decode(_verify_trie_proof(bytes(block.stateRoot), bytes.fromhex(counter.address[2:]),
                                            [bytes(node) for node in proof.accountProof]))
    nonce, balance, storage_root, code_hash = account
    assert int.from_bytes(balance, "big") == proof.balance
    assert storage_root == bytes(proof.storageHash) and code_hash == bytes(proof.codeHash)
    assert code_hash == keccak256(bytes(w3.eth.get_code(counter.address)))
    slot = proof.storageProof[0]
    value = _verify_trie_proof(storage_root, (0).to_bytes(32, "big"), [bytes(node) for node in slot.proof])
    stored = int.from_bytes(rlp.decode(value), "big")
    assert stored == int.from_bytes(bytes(slot.value), "big")
    assert stored == counter.functions.value().call(block_identifier=block.number)


def test_trace_transaction(w3, counter):
    tx_hash = counter.functions.set_value(8).transact({"from": DEPLOYER})
    w3.eth.wait_for_transaction_receipt(tx_hash)
    calls = w3.provider.make_request("debug_traceTransaction", [Web3.to_hex(tx_hash), {"tracer": "callTracer"}])
    assert calls["result"]["type"] == "CALL" and calls["result"]["to"] == counter.address.lower()
    steps = w3.provider.make_request("debug_traceTransaction", [Web3.to_hex(tx_hash), {}])["result"]
    assert steps["failed"] is False and steps["gas"] > 21000 and steps["structLogs"]
    first = steps["structLogs"][0]
    assert first["pc"] == 0 and first["depth"] == 1 and {"op", "gas", "gasCost", "stack"} <= set(first)
    assert any(step["op"] == "SSTORE" for step in steps["structLogs"])
    assert any(step["op"] == "LOG2" for step in steps["structLogs"])


def test_dev_methods(w3):
    make = w3.provider.make_request
    snapshot = make("evm_snapshot", [])["result"]
    target = Account.create().address
    assert make("anvil_setBalance", [target, hex(10**18)])["result"] in (True, None)
    assert w3.eth.get_balance(target) == 10**18
    make("anvil_setCode", [target, "0x6001"])
    assert w3.eth.get_code(target) == b"\x60\x01"
    make("anvil_setStorageAt", [target, "0x0", "0x" + "00" * 31 + "2a"])
    assert int.from_bytes(w3.eth.get_storage_at(target, 0), "big") == 42
    before = w3.eth.get_block("latest")
    make("evm_increaseTime", [3600])
    make("evm_mine", [])
    after = w3.eth.get_block("latest")
    assert after.number == before.number + 1 and after.timestamp >= before.timestamp + 3000
    make("evm_setNextBlockTimestamp", [after.timestamp + 10_000])
    make("evm_mine", [])
    assert w3.eth.get_block("latest").timestamp == after.timestamp + 10_000
    assert make("evm_revert", [snapshot])["result"] is True
    assert w3.eth.get_balance(target) == 0
    # impersonation: send from an account without a key
    rich = Account.create().address
    make("anvil_setBalance", [rich, hex(10**18)])
    make("anvil_impersonateAccount", [rich])
    tx_hash = w3.eth.send_transaction({"from": rich, "to": DEPLOYER, "value": 5})
    assert w3.eth.wait_for_transaction_receipt(tx_hash).status == 1


def test_bad_requests_do_not_crash_the_node(node, w3):
    import json
    import urllib.request

    def post(body: bytes):
        request = urllib.request.Request(node.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return json.loads(exc.read())

    assert post(b"{oops")["error"]["code"] == -32700
    assert post(b'{"jsonrpc":"2.0","id":1,"method":"eth_nope"}')["error"]["code"] == -32601
    assert post(b'{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x1"]}')["error"]["code"] == -32602
    assert post(b"[]")["error"]["code"] == -32600
    too_many = json.dumps([{"jsonrpc": "2.0", "id": i, "method": "eth_chainId"} for i in range(1001)]).encode()
    assert post(too_many)["error"]["code"] == -32600
    assert post(b"x" * (6 * 1024 * 1024))["error"]["code"] == -32005
    assert w3.eth.chain_id == 133717


def test_websocket_subscriptions(node, w3, counter):
    async def scenario():
        async with AsyncWeb3(AsyncWeb3.WebSocketProvider(node.ws_url)) as aw3:
            assert await aw3.eth.chain_id == 133717
            heads = await aw3.eth.subscribe("newHeads")
            logs = await aw3.eth.subscribe("logs", {"address": counter.address})
            loop = asyncio.get_running_loop()
            tx_hash = await loop.run_in_executor(
                None, lambda: counter.functions.set_value(321).transact({"from": DEPLOYER}))
            got_head = got_log = None
            async for message in aw3.socket.process_subscriptions():
                if message["subscription"] == heads:
                    got_head = message["result"]
                elif message["subscription"] == logs:
                    got_log = message["result"]
                if got_head is not None and got_log is not None:
                    break
            assert got_log["transactionHash"] == tx_hash
            assert got_head["number"] == got_log["blockNumber"]
            assert await aw3.eth.unsubscribe(heads)

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_block_tags_and_eip1898(w3, node):
    head = w3.eth.get_block("latest")
    for tag in ("latest", "pending", "safe", "finalized"):
        assert int(node.rpc("eth_getTransactionCount", DEPLOYER, tag), 16) >= 1
    by_hash = node.rpc("eth_getBalance", DEPLOYER, {"blockHash": Web3.to_hex(head.hash), "requireCanonical": True})
    by_number = node.rpc("eth_getBalance", DEPLOYER, {"blockNumber": hex(head.number)})
    assert by_hash == by_number == node.rpc("eth_getBalance", DEPLOYER, hex(head.number))
    assert node.rpc("eth_getBalance", DEPLOYER, "earliest") == hex(10_000 * 10**18)
    assert w3.eth.get_block_transaction_count(head.number) == len(head.transactions)


def test_trace_call_and_send_transaction(w3, counter):
    data = counter.encode_abi("set_value", [13])
    result = w3.provider.make_request("debug_traceCall", [{"from": DEPLOYER, "to": counter.address, "data": data},
                                                          "latest", {"tracer": "callTracer"}])["result"]
    assert result["error"] == "execution reverted" and result.get("revertReason") == "unlucky number"
    tx_hash = w3.eth.send_transaction({"from": DEV_ADDRESSES[2], "to": counter.address,
                                       "data": counter.encode_abi("deposit", []), "value": 777})
    assert w3.eth.wait_for_transaction_receipt(tx_hash).status == 1
    assert counter.functions.deposits(DEV_ADDRESSES[2]).call() == 777
