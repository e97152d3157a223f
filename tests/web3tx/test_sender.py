"""``hyperion.web3tx``, the one sending path of the SDK and the rollup's L1 clients, against a real dev chain.

The chain is ``hyperion.sdk.inprocess.InProcessNode``: the node's own JSON-RPC
methods over a real in-memory chain (automine), reached through web3.py.
The contract is hand-assembled so the test depends on nothing else: its
runtime stops on empty calldata and otherwise reverts with ``Error("nope")``.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from web3.exceptions import Web3RPCError

from hyperion.primitives.keccak import keccak256
from hyperion.sdk.inprocess import InProcessNode
from hyperion.web3tx import Reverted, Web3Sender, signer

#   CALLDATASIZE PUSH1 5 JUMPI STOP JUMPDEST  mstore Error(string) selector, offset 32, length 4, "nope"; REVERT(0, 100)
RUNTIME = bytes.fromhex("36600557005b" "6308c379a060e01b600052" "6020600452" "6004602452"
                        "636e6f706560e01b604452" "60646000fd")
INITCODE = bytes.fromhex("602b80600b6000396000f3") + RUNTIME  # CODECOPY the runtime, RETURN it
KEY = keccak256(b"hyperion-web3tx-test")
FUNDS = 10**24


@pytest.fixture(scope="module")
def node():
    return InProcessNode(funded={Account.from_key(KEY).address: FUNDS})


@pytest.fixture(scope="module")
def contract(node):
    receipt = Web3Sender(node.w3).send({"data": INITCODE}, KEY)
    assert node.w3.eth.get_code(receipt["contractAddress"]) == RUNTIME
    return receipt["contractAddress"]


def nonce(node, key=KEY):
    return node.w3.eth.get_transaction_count(Account.from_key(key).address)


def test_a_call_is_signed_sent_and_mined(node, contract):
    sender = Web3Sender(node.w3)
    sent = []
    sender.on_sent = sent.append
    before = nonce(node)
    receipt = sender.send({"to": contract, "data": b""}, KEY)
    assert receipt["status"] == 1
    assert sent == ["0x" + bytes(receipt["transactionHash"]).hex()]
    assert nonce(node) == before + 1
    second = sender.send({"to": contract, "value": 5}, KEY)  # the next nonce, with no node round-trip in between
    assert second["blockNumber"] == receipt["blockNumber"] + 1 and nonce(node) == before + 2
    assert node.w3.eth.get_balance(contract) == 5


def test_a_simulated_revert_carries_the_reason_and_sends_nothing(node, contract):
    before = nonce(node)
    with pytest.raises(Reverted, match="^nope$") as failure:
        Web3Sender(node.w3).send({"to": contract, "data": b"\x01"}, KEY)
    assert failure.value.reason == "nope" and failure.value.receipt is None and failure.value.tx_hash is None
    assert nonce(node) == before


def test_a_mined_failure_is_replayed_for_its_reason(node, contract):
    before = nonce(node)
    with pytest.raises(Reverted, match="^nope$") as failure:  # a given gas limit skips the simulation
        Web3Sender(node.w3).send({"to": contract, "data": b"\x01"}, KEY, gas=100_000)
    assert failure.value.receipt["status"] == 0
    assert failure.value.tx_hash == "0x" + bytes(failure.value.receipt["transactionHash"]).hex()
    assert nonce(node) == before + 1


def test_a_refused_send_keeps_no_nonce(node, contract):
    poor = keccak256(b"hyperion-web3tx-test/poor")
    sender = Web3Sender(node.w3)
    with pytest.raises(Web3RPCError, match="insufficient funds"):
        sender.send({"to": contract, "value": 1}, poor, gas=21_000)
    Web3Sender(node.w3).send({"to": Account.from_key(poor).address, "value": 10**18}, KEY)
    assert sender.send({"to": contract, "value": 1}, poor, gas=30_000)["status"] == 1  # nonce 0, not 1
    assert nonce(node, poor) == 1


def test_an_unlocked_account_is_signed_by_the_node(node, contract):
    unlocked = node.w3.eth.accounts[0]
    receipt = Web3Sender(node.w3).send({"to": contract, "value": 7}, unlocked)
    assert receipt["status"] == 1 and receipt["from"] == unlocked


def test_fees_the_transaction_names_are_kept(node, contract):
    cap = 3 * node.w3.eth.get_block("latest")["baseFeePerGas"] + 17
    receipt = Web3Sender(node.w3).send({"to": contract, "maxFeePerGas": cap, "maxPriorityFeePerGas": 17}, KEY)
    mined = node.w3.eth.get_transaction(receipt["transactionHash"])
    assert (mined["maxFeePerGas"], mined["maxPriorityFeePerGas"]) == (cap, 17)


def test_signer_accepts_keys_accounts_and_addresses_and_refuses_the_rest():
    account = Account.from_key(KEY)
    assert signer(KEY) == signer("0x" + KEY.hex()) == signer(KEY.hex()) == (account.address, signer(KEY)[1])
    assert signer(account) == (account.address, account)
    assert signer(account.address.lower()) == (account.address, None)
    for bad in ("0x1234", b"\x01" * 31, "not hex", 12):
        with pytest.raises(ValueError, match="private key|address"):
            signer(bad)
