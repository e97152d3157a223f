"""Deposits, withdrawals and a follower in step, with batches posted as blobs (real anvil, real node processes).

Done-when bullets covered here: deposits of ETH and of calldata to an L2
contract arrive on L2; a withdrawal is proven on L1 against a posted output
root, refused before the window, finalized after evm_increaseTime and
refused a second time; the follower derives identical blocks from blob
batches; web3.py decodes blocks and receipts that hold deposits.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.rollup.devnet import DEPLOYER, rpc
from hyperion.artifacts import load_artifact
from hyperion.rollup.l1.clients import OutputOracleClient, PortalClient
from hyperion.rollup.l1.predeploys import DEPOSITOR_ACCOUNT, L1_BLOCK_ADDRESS, MESSAGE_PASSER_ADDRESS
from hyperion.rollup.l1.proofs import Withdrawal, withdrawal_proof_from_rpc
from hyperion.rollup.l1.transact import ContractReverted, Sender
from tests.rollup.e2e.conftest import (assert_same_chain, derived_receipt, safe_number, sync_status, wait_safe,
                                       wait_until, web3_of)

pytestmark = pytest.mark.e2e

FINALIZATION = 12
DEVNET = dict(data_availability="blobs", finalization_period=FINALIZATION, submission_interval=8)
ETHER = 10**18
# stores calldata word 0 in slot 0, the caller in slot 1, the value in slot 2
RECORDER_RUNTIME = bytes.fromhex("5f355f55" "33600155" "34600255" "00")


def _deploy_code(runtime: bytes) -> bytes:
    return bytes([0x60, len(runtime), 0x80, 0x60, 0x0C, 0x5F, 0x39, 0x5F, 0xF3, 0x00, 0x00, 0x00]) + runtime


@pytest.fixture(scope="module")
def depositor(devnet):
    return Account.from_key(devnet.key(7))


@pytest.fixture(scope="module")
def portal(devnet, l1, depositor):
    return PortalClient(l1, devnet.deployment.portal, Sender(l1, depositor))


@pytest.fixture(scope="module")
def recorder(devnet, follower):
    """An L2 contract, deployed through the follower (which forwards the transaction to the sequencer)."""
    account = Account.from_key(devnet.key(5))
    tx = {"type": 2, "chainId": 901, "nonce": follower.eth.get_transaction_count(account.address), "gas": 100_000,
          "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, "data": _deploy_code(RECORDER_RUNTIME),
          "value": 0}
    tx_hash = follower.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = derived_receipt(follower, tx_hash)
    assert receipt["status"] == 1
    assert follower.eth.get_code(receipt["contractAddress"]) == RECORDER_RUNTIME
    return receipt["contractAddress"]


def test_the_follower_forwards_transactions_and_the_sequencers_answers(devnet, follower, sequencer, recorder):
    account = Account.from_key(devnet.key(5))  # deployed the recorder through the follower (nonce 0 is used)
    stale = {"type": 2, "chainId": 901, "nonce": 0, "to": recorder, "value": 0, "gas": 50_000,
             "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9}
    with pytest.raises(Exception, match="nonce too low"):
        follower.eth.send_raw_transaction(account.sign_transaction(stale).raw_transaction)
    fresh = dict(stale, nonce=follower.eth.get_transaction_count(account.address, "pending"))
    tx_hash = follower.eth.send_raw_transaction(account.sign_transaction(fresh).raw_transaction)
    assert sequencer.eth.wait_for_transaction_receipt(tx_hash, timeout=60)["status"] == 1


def test_eth_and_calldata_deposits_arrive_on_l2(devnet, sequencer, follower, portal, depositor, recorder):
    fresh = Account.create().address
    eth_receipt = portal.deposit_transaction(fresh, value=ETHER, gas_limit=100_000, mint=ETHER)
    call_receipt = portal.deposit_transaction(recorder, value=0, gas_limit=200_000,
                                              data=(42).to_bytes(32, "big"))
    assert len(portal.deposits(eth_receipt)) == 1 and len(portal.deposits(call_receipt)) == 1
    for node in (sequencer, follower):
        wait_until(lambda: node.eth.get_balance(fresh) == ETHER, 90, f"the deposited ether on {node.provider}")
        wait_until(lambda: node.eth.get_storage_at(recorder, 0) == (42).to_bytes(32, "big"), 90,
                   "the calldata deposit to reach the L2 contract")
        assert node.eth.get_storage_at(recorder, 1)[12:] == bytes.fromhex(depositor.address[2:])


def test_web3py_decodes_blocks_and_receipts_with_deposits(sequencer, follower, devnet, recorder):
    fresh = Account.create().address
    receipt = PortalClient(web3_of(devnet.l1_url), devnet.deployment.portal,
                           Sender(web3_of(devnet.l1_url), Account.from_key(devnet.key(8)))).deposit_transaction(
        fresh, value=5, gas_limit=50_000, mint=7)
    assert receipt["status"] == 1
    wait_until(lambda: follower.eth.get_balance(fresh) == 5, 90, "the deposit on the follower")
    # find the L2 block holding it: its deposit is right after the L1-info deposit of the epoch's first block
    head = follower.eth.block_number
    found = None
    for number in range(head, 0, -1):
        block = follower.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            if tx["type"] == 0x7E and tx["to"] == fresh:
                found = (block, tx)
                break
        if found:
            break
    assert found, "the deposit transaction was not found in any block"
    block, tx = found
    info = block["transactions"][0]
    assert info["type"] == 0x7E and info["from"] == Web3.to_checksum_address(DEPOSITOR_ACCOUNT)
    assert info["to"] == Web3.to_checksum_address(L1_BLOCK_ADDRESS)
    # the L1-attributes deposit set L1Block to the block's L1 origin, readable by L2 contracts
    l1_block = follower.eth.contract(address=Web3.to_checksum_address(L1_BLOCK_ADDRESS),
                                     abi=load_artifact("L1Block")["abi"])
    origin_number = l1_block.functions.number().call(block_identifier=block["number"])
    origin_hash = l1_block.functions.hash().call(block_identifier=block["number"])
    assert web3_of(devnet.l1_url).eth.get_block(origin_number)["hash"] == origin_hash
    assert tx["mint"] == "0x7" and tx["value"] == 5 and tx["gasPrice"] == 0 and "sourceHash" in tx
    assert tx["v"] == 0 and int.from_bytes(tx["r"], "big") == 0 and int.from_bytes(tx["s"], "big") == 0
    receipt = follower.eth.get_transaction_receipt(tx["hash"])
    assert receipt["status"] == 1 and receipt["type"] == 0x7E and "depositNonce" in receipt
    assert receipt["depositReceiptVersion"] == "0x1"
    assert follower.eth.get_transaction(tx["hash"])["nonce"] == int(receipt["depositNonce"], 16)
    # the same bytes on the sequencer: the raw transaction re-hashes to its hash
    raw = rpc(devnet.sequencer.url, "eth_getRawTransactionByHash", Web3.to_hex(tx["hash"]))
    assert raw.startswith("0x7e") and Web3.keccak(hexstr=raw) == tx["hash"]


def test_the_follower_derives_the_same_chain_from_blobs(devnet, sequencer, follower):
    target = sequencer.eth.block_number
    wait_safe(devnet.follower.url, target, timeout=120)
    assert_same_chain(sequencer, follower, target)
    batcher = sync_status(devnet.sequencer.url)["hyperion"]["batcher"]
    assert batcher["blob_posts"] > 0 and batcher["calldata_posts"] == 0
    wait_safe(devnet.sequencer.url, target, timeout=60)  # the sequencer derives its own blocks from L1 too
    # finalized: derived from L1 blocks that L1 calls finalized (anvil: two blocks deep here)
    wait_until(lambda: follower.eth.get_block("finalized")["number"] >= target, 60, "the blocks to be finalized")
    assert follower.eth.get_block("finalized")["number"] <= safe_number(devnet.follower.url)


def test_a_withdrawal_is_proven_refused_early_finalized_and_refused_again(devnet, l1, follower):
    account = Account.from_key(devnet.key(6))
    recipient = Account.create().address
    passer = follower.eth.contract(address=Web3.to_checksum_address(MESSAGE_PASSER_ADDRESS),
                                   abi=load_artifact("L2ToL1MessagePasser")["abi"])
    tx = passer.functions.initiateWithdrawal(recipient, 100_000, b"").build_transaction({
        "from": account.address, "value": ETHER // 2, "nonce": follower.eth.get_transaction_count(account.address),
        "gas": 200_000, "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9, "chainId": 901})
    tx_hash = follower.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = derived_receipt(follower, tx_hash)
    assert receipt["status"] == 1
    event = passer.events.MessagePassed().process_receipt(receipt)[0]
    withdrawal = Withdrawal.from_event(event["args"])

    owner = Sender(l1, Account.from_key(devnet.key(DEPLOYER)))
    oracle = OutputOracleClient(l1, devnet.deployment.output_oracle, owner)
    wait_until(lambda: oracle.latest_block_number() >= receipt["blockNumber"], 120,
               "an output root covering the withdrawal")
    index = oracle.output_index_after(receipt["blockNumber"])
    output = oracle.get_l2_output(index)
    wait_safe(devnet.follower.url, output.l2_block_number)
    proof = withdrawal_proof_from_rpc(follower, withdrawal, output.l2_block_number)
    prover = PortalClient(l1, devnet.deployment.portal, Sender(l1, Account.from_key(devnet.key(9))))
    assert prover.prove_withdrawal(proof, index)["status"] == 1
    with pytest.raises(ContractReverted):
        prover.finalize_withdrawal(withdrawal, gas=300_000)
    l1.provider.make_request("evm_increaseTime", [FINALIZATION + 1])
    l1.provider.make_request("evm_mine", [])
    wait_until(lambda: oracle.is_settled(index), 60, "the proposer to settle the output")
    before = l1.eth.get_balance(recipient)
    assert prover.finalize_withdrawal(withdrawal)["status"] == 1
    assert l1.eth.get_balance(recipient) == before + ETHER // 2
    assert prover.is_finalized(withdrawal.hash)
    with pytest.raises(ContractReverted):
        prover.finalize_withdrawal(withdrawal, gas=300_000)
