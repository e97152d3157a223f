"""BatchInbox on anvil: calldata and blob (type-3) batches from the batcher; everyone else reverts."""

from __future__ import annotations

import hashlib

import pytest
from web3 import Web3

from hyperion.rollup.l1.clients import BatchInboxClient, decode_batch_submitted
from hyperion.rollup.l1.transact import ContractReverted
from hyperion.rollup.l1.blobs import pack_blob
from hyperion.rollup.l1.deploy import deploy_rollup_contracts
from tests.rollup.l1.anvil import Anvil
from tests.rollup.l1.conftest import ALICE, BATCHER, OWNER, STRANGER, deploy_vyper_source, make_config

BLOB_SIZE = 131072


def blob(seed: int) -> bytes:
    """A valid blob: every 32-byte field element starts with a zero byte (below the BLS modulus)."""
    chunks = []
    for i in range(BLOB_SIZE // 32):
        chunks.append(b"\0" + hashlib.sha256(seed.to_bytes(4, "big") + i.to_bytes(4, "big")).digest()[:31])
    return b"".join(chunks)


@pytest.fixture()
def inbox(deployment, w3):
    return BatchInboxClient(w3, deployment.batch_inbox, BATCHER)


def test_calldata_batch_from_the_batcher(inbox, w3):
    batch = b"\x00" + bytes(range(256)) * 40
    receipt = inbox.submit_calldata(batch)
    (event,) = inbox.batches(receipt)
    assert event.batcher == bytes.fromhex(BATCHER.address[2:])
    assert event.data_length == len(batch) and event.blob_hashes == ()
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    assert bytes(tx["input"]) == batch  # derivation reads the batch from the transaction's input
    # the same event from eth_getLogs
    (log,) = w3.eth.get_logs({"address": inbox.address, "fromBlock": receipt["blockNumber"],
                              "toBlock": receipt["blockNumber"]})
    assert decode_batch_submitted(log) == event


def test_blob_batch_from_the_batcher(inbox, w3):
    blobs = [blob(1), blob(2)]
    receipt = inbox.submit_blobs(blobs)
    (event,) = inbox.batches(receipt)
    tx = w3.eth.get_transaction(receipt["transactionHash"])
    assert tx["type"] == 3
    assert [bytes(h) for h in tx["blobVersionedHashes"]] == list(event.blob_hashes)
    assert len(event.blob_hashes) == 2 and all(h[0] == 0x01 for h in event.blob_hashes)
    assert event.data_length == 0


def test_blob_batch_with_cell_proofs_on_an_osaka_l1(anvil_path):
    """Osaka (EIP-7594) takes blobs with cell proofs in the transaction's network wrapper."""
    osaka = Anvil(hardfork="osaka")
    try:
        w3 = Web3(Web3.HTTPProvider(osaka.url, request_kwargs={"timeout": 120}))  # cell proofs are slow on a busy machine
        deployment = deploy_rollup_contracts(w3, OWNER, make_config())
        inbox = BatchInboxClient(w3, deployment.batch_inbox, BATCHER)
        receipt = inbox.submit_blobs([pack_blob(b"\x00osaka batch")], cell_proofs=True)
        (event,) = inbox.batches(receipt)
        assert len(event.blob_hashes) == 1
    finally:
        osaka.stop()


def test_anyone_else_is_refused_and_nothing_is_logged(inbox, w3):
    stranger = inbox.with_sender(STRANGER)
    with pytest.raises(ContractReverted, match="not the authorized batcher"):
        stranger.submit_calldata(b"\x00junk")
    with pytest.raises(ContractReverted, match="not the authorized batcher"):
        stranger.submit_blobs([blob(3)])
    # mined anyway (gas given explicitly): status 0, no BatchSubmitted, the derivation rule ignores it
    with pytest.raises(ContractReverted) as failure:
        stranger.sender.send({"to": inbox.address, "data": b"\x00junk"}, gas=100_000)
    assert failure.value.receipt["status"] == 0 and failure.value.receipt["logs"] == []
    with pytest.raises(ContractReverted, match="empty batch"):
        inbox.sender.send({"to": inbox.address, "data": b""})
    with pytest.raises(ContractReverted):
        inbox.sender.send({"to": inbox.address, "data": b"\x00", "value": 1})


def test_the_owner_changes_the_batcher_or_delegates_the_check(inbox, w3):
    with pytest.raises(ContractReverted, match="caller is not the owner"):
        inbox.set_batcher(ALICE.address)
    owner = inbox.with_sender(OWNER)
    receipt = owner.set_batcher(ALICE.address)
    (changed,) = owner.events("BatcherChanged", receipt)
    assert (changed["args"]["previous"], changed["args"]["batcher"]) == (BATCHER.address, ALICE.address)
    with pytest.raises(ContractReverted, match="not the authorized batcher"):
        inbox.submit_calldata(b"\x00old batcher")
    inbox.with_sender(ALICE).submit_calldata(b"\x00new batcher")
    # a contract decides instead (what a staked sequencer schedule plugs into)
    authority = deploy_vyper_source(w3, """
# pragma version ==0.4.3
allowed: public(HashMap[address, bool])
@external
def allow(who: address):
    self.allowed[who] = True
@external
@view
def isAuthorizedBatcher(_sender: address) -> bool:
    return self.allowed[_sender]
""")
    authority.functions.allow(STRANGER.address).transact({"from": OWNER.address})
    owner.set_batcher_authority(authority.address)
    assert inbox.is_authorized_batcher(STRANGER.address) and not inbox.is_authorized_batcher(ALICE.address)
    inbox.with_sender(STRANGER).submit_calldata(b"\x00scheduled sequencer")
    with pytest.raises(ContractReverted, match="not the authorized batcher"):
        inbox.with_sender(ALICE).submit_calldata(b"\x00x")
    owner.set_batcher_authority("0x" + "00" * 20)
    inbox.with_sender(ALICE).submit_calldata(b"\x00back to the address")
