"""On the rollup, a follower that derives the L2 chain from L1 alone has the models too.

A real devnet (anvil L1, a sequencer and a follower, as processes; calldata
batches): a model is published on L2 through the follower (which forwards to
the sequencer) and a transaction calls it. The follower has no model file
and no other source: it executes the publishing transactions it derives from
L1, so its state holds the bytes, its blocks match the sequencer's, and the
inference runs there bit-identically.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from hyperion.ai.chainstore import model_store_genesis
from hyperion.ai.engine import Runner
from hyperion.rollup.devnet import Devnet, DevnetOptions, anvil_binary
from hyperion.sdk import AIClient, HyperionClient
from hyperion.vm.precompiles.inference import INFERENCE_ADDRESS

pytestmark = pytest.mark.e2e

OPTIONS = dict(l1_port=0, sequencer_port=0, follower_port=0, l1_block_time=2, l2_block_time=1, seq_window_size=12,
               sequencer_conf_depth=1, submission_interval=10, finalization_period=600, move_timeout=120,
               max_batch_delay=2.0, data_availability="calldata", challenge=False)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    net = Devnet(DevnetOptions(workdir=tmp_path_factory.mktemp("devnet"), l2_alloc=model_store_genesis(), **OPTIONS))
    net.start()
    try:
        yield net
    finally:
        net.stop()


def _safe(url: str) -> int:
    from hyperion.rollup.devnet import rpc

    return rpc(url, "optimism_syncStatus")["safe_l2"]["number"]


def test_a_follower_derives_published_models_from_l1(devnet, digits_model, digits_inputs):
    import time

    sequencer = Web3(Web3.HTTPProvider(devnet.sequencer.url, request_kwargs={"timeout": 60}))
    follower = Web3(Web3.HTTPProvider(devnet.follower.url, request_kwargs={"timeout": 60}))
    ai = AIClient(HyperionClient(web3=follower, private_key=devnet.key(6)))  # sent to the follower, which
    ai.publish_model(digits_model)                                           # forwards to the sequencer
    payload = digits_model.content_hash + digits_inputs[0]
    inference = Web3.to_checksum_address(INFERENCE_ADDRESS)
    tx = {"type": 2, "chainId": follower.eth.chain_id,
          "nonce": follower.eth.get_transaction_count(ai.client.address), "to": inference, "data": payload, "value": 0, "gas": 200_000,
          "maxFeePerGas": 10 * 10**9, "maxPriorityFeePerGas": 10**9}
    tx_hash = follower.eth.send_raw_transaction(Account.sign_transaction(tx, devnet.key(6)).raw_transaction)
    receipt = sequencer.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    assert receipt["status"] == 1
    deadline = time.monotonic() + 180
    while _safe(devnet.follower.url) < receipt["blockNumber"]:
        assert time.monotonic() < deadline, "the follower did not derive the block from L1 in time"
        time.sleep(1)
    for number in range(receipt["blockNumber"] + 1):
        a, b = sequencer.eth.get_block(number), follower.eth.get_block(number)
        assert (a["hash"], a["stateRoot"]) == (b["hash"], b["stateRoot"]), f"block {number} differs"
    assert follower.eth.get_transaction_receipt(tx_hash)["status"] == 1
    expected = Runner(digits_model).run(digits_inputs[0])
    assert bytes(follower.eth.call({"to": inference, "data": payload})) == expected
    assert ai.fetch_model_bytes(digits_model.content_hash) == digits_model.encode()
