"""Portal deposits on anvil: the TransactionDeposited event derivation reads, aliasing, bounds."""

from __future__ import annotations

import pytest

from hyperion.primitives.keccak import keccak256
from hyperion.rollup.l1.clients import (
    TRANSACTION_DEPOSITED_TOPIC, PortalClient, apply_l1_to_l2_alias, decode_transaction_deposited)
from hyperion.rollup.l1.transact import ContractReverted, Sender
from tests.rollup.l1.conftest import ALICE, BOB, OWNER, STRANGER, deploy_vyper_source, make_config

from hyperion.rollup.l1.deploy import deploy_rollup_contracts



FORWARDER = """
# pragma version ==0.4.3
@external
@payable
def forward(target: address, data: Bytes[1024]):
    raw_call(target, data, value=msg.value)
"""


@pytest.fixture()
def portal(deployment, w3):
    return PortalClient(w3, deployment.portal, ALICE)


def test_deposit_emits_the_op_stack_event(portal, w3):
    before = w3.eth.get_balance(portal.address)
    receipt = portal.deposit_transaction(BOB.address, 7, 150_000, data=b"\x01\x02\x03", mint=10**18)
    assert w3.eth.get_balance(portal.address) - before == 10**18
    (log,) = [entry for entry in receipt["logs"] if entry["topics"][0] == TRANSACTION_DEPOSITED_TOPIC]
    # topics: from, to, version; data: abi-encoded opaque bytes
    assert log["topics"][1][12:] == bytes.fromhex(ALICE.address[2:])
    assert log["topics"][2][12:] == bytes.fromhex(BOB.address[2:])
    assert int.from_bytes(log["topics"][3], "big") == 0
    (deposit,) = portal.deposits(receipt)
    assert (deposit.mint, deposit.value, deposit.gas_limit, deposit.is_creation, deposit.data) == \
        (10**18, 7, 150_000, False, b"\x01\x02\x03")
    assert deposit.sender == bytes.fromhex(ALICE.address[2:])
    # the raw opaque layout: mint(32) value(32) gasLimit(8) isCreation(1) data
    from eth_abi import decode
    (opaque,) = decode(["bytes"], log["data"])
    assert opaque == (10**18).to_bytes(32, "big") + (7).to_bytes(32, "big") + (150_000).to_bytes(8, "big") \
        + b"\x00" + b"\x01\x02\x03"
    # the same deposit from eth_getLogs (what derivation reads), and its source hash
    (from_logs,) = portal.deposits_in_range(receipt["blockNumber"], receipt["blockNumber"])
    assert from_logs == deposit
    assert deposit.source_hash == keccak256(b"\0" * 32 + keccak256(
        bytes(receipt["blockHash"]) + deposit.log_index.to_bytes(32, "big")))


def test_creation_deposit_and_plain_eth(portal, w3):
    receipt = portal.deposit_transaction(None, 0, 500_000, is_creation=True, data=b"\x60\x00" * 10)
    (deposit,) = portal.deposits(receipt)
    assert deposit.is_creation and deposit.to == b"\0" * 20
    with pytest.raises(ContractReverted, match="contract creation deposits must have no target"):
        portal.deposit_transaction(BOB.address, 0, 500_000, is_creation=True, data=b"")
    # ETH sent straight to the Portal is a deposit to the sender's own L2 address
    receipt = Sender(w3, BOB).send({"to": portal.address, "value": 12345})
    (deposit,) = portal.deposits(receipt)
    assert (deposit.sender, deposit.to, deposit.mint, deposit.value, deposit.gas_limit) == \
        (bytes.fromhex(BOB.address[2:]), bytes.fromhex(BOB.address[2:]), 12345, 12345, 100_000)


def test_contract_callers_are_aliased(portal, w3):
    forwarder_contract = deploy_vyper_source(w3, FORWARDER)
    forwarder = forwarder_contract.address
    data = portal.contract.functions.depositTransaction(BOB.address, 0, 100_000, False, b"")._encode_transaction_data()
    receipt = Sender(w3, ALICE).transact(forwarder_contract.functions.forward(portal.address, bytes.fromhex(data[2:])),
                                         value=5)
    (deposit,) = portal.deposits(receipt)
    assert deposit.sender == apply_l1_to_l2_alias(forwarder)
    assert deposit.sender != bytes.fromhex(forwarder[2:])
    assert deposit.mint == 5
    assert apply_l1_to_l2_alias("0xffffffffffffffffffffffffffffffffffffffff") == \
        bytes.fromhex("1111000000000000000000000000000000001110")


def test_gas_bounds(portal, w3, deployment):
    minimum = portal.minimum_gas_limit(100)
    assert minimum == 21_000 + 1600
    with pytest.raises(ContractReverted, match="gas limit below minimumGasLimit"):
        portal.deposit_transaction(BOB.address, 0, minimum - 1, data=b"\x00" * 100)
    portal.deposit_transaction(BOB.address, 0, minimum, data=b"\x00" * 100)
    with pytest.raises(ContractReverted, match="gas limit above maxDepositGas"):
        portal.deposit_transaction(BOB.address, 0, 10_000_001)
    # only the owner changes the bounds
    with pytest.raises(ContractReverted, match="caller is not the owner"):
        portal.set_deposit_gas_limits(1_000_000, 1_500_000)
    portal.with_sender(OWNER).set_deposit_gas_limits(1_000_000, 1_500_000)
    assert portal.contract.functions.maxDepositGas().call() == 1_000_000


def test_deposit_gas_per_l1_block_is_capped(w3, anvil):
    deployment = deploy_rollup_contracts(w3, OWNER, make_config(max_deposit_gas=600_000,
                                                                max_deposit_gas_per_block=1_000_000))
    portal = PortalClient(w3, deployment.portal)
    anvil.rpc("evm_setAutomine", False)
    try:
        hashes = []
        for account in (ALICE, BOB, STRANGER):
            tx = portal.contract.functions.depositTransaction(BOB.address, 0, 400_000, False, b"").build_transaction(
                {"from": account.address, "gas": 200_000, "nonce": w3.eth.get_transaction_count(account.address)})
            hashes.append(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
        anvil.rpc("evm_mine")
    finally:
        anvil.rpc("evm_setAutomine", True)
    statuses = [w3.eth.get_transaction_receipt(h)["status"] for h in hashes]
    assert sorted(statuses) == [0, 1, 1]  # 400k + 400k fit in 1M, the third does not
    assert len({w3.eth.get_transaction_receipt(h)["blockNumber"] for h in hashes}) == 1
    # a later L1 block has a fresh allowance (anvil estimates gas in the latest block's context)
    anvil.rpc("evm_mine")
    portal.with_sender(ALICE).deposit_transaction(BOB.address, 0, 600_000)


def test_malformed_deposit_logs_are_refused():
    from hyperion.rollup.l1.clients import MalformedEvent

    topics = [TRANSACTION_DEPOSITED_TOPIC, b"\0" * 32, b"\0" * 32, (1).to_bytes(32, "big")]
    log = {"topics": topics, "data": b"", "blockNumber": 1, "blockHash": b"\0" * 32, "logIndex": 0,
           "transactionHash": b"\0" * 32}
    with pytest.raises(MalformedEvent, match="unknown deposit version"):
        decode_transaction_deposited(log)
    from eth_abi import encode
    log = dict(log, topics=topics[:3] + [b"\0" * 32], data=encode(["bytes"], [b"\x00" * 72]))
    with pytest.raises(MalformedEvent, match="shorter than 73"):
        decode_transaction_deposited(log)
