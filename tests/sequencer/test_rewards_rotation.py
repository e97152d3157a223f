"""Rewards and fees of three rotating sequencers add up exactly, per builder, over whole epochs.

Real anvil L1 and real ``hyperion node`` processes (``hyperion.sequencer.
devnet``: stakes 50/30/20, three rotating sequencer nodes, a follower); the
L2 genesis routes base fees to the Holders Mining vault (the LazAI
predeploys are in it). Transactions with tips go to every member while the
epochs rotate. ``hyperion sequencer reward --once`` then pays the safe epochs
from the follower's chain. Checked to the wei over every paid block: each
builder's L1 credit == the blocks whose coinbase is it × rewardPerBlock (the
count taken here from the follower's blocks), blocks by no staked address
earn nothing, the pool paid exactly the sum; each builder's L2 balance grew
by exactly the priority fees of the transactions in its own blocks, the
vault's by exactly the base fees of all of them.
"""

from __future__ import annotations

from collections import Counter

import pytest
from web3 import Web3

from hyperion.predeploys.genesis import predeploy_alloc
from hyperion.predeploys.plan import FEE_VAULT_ADDRESS
from hyperion.rollup.devnet import DevnetOptions, anvil_binary
from hyperion.sequencer.devnet import SequencerSetDevnet, SequencerSetOptions
from hyperion.sequencer.staking import SequencerStakingClient
from tests.rollup.e2e.conftest import BASE_OPTIONS, wait_safe, web3_of
from tests.sequencer.rewarder import reward_once

pytestmark = pytest.mark.e2e

ETHER = 10**18
GWEI = 10**9
EPOCH = 4
EPOCHS = 6
REWARD = 10**15
OWNER, REWARDER, RECIPIENT, SENDER = 0, 3, 8, 9   # devnet accounts (the sequencers are 5, 6, 7)
VAULT = Web3.to_checksum_address(FEE_VAULT_ADDRESS)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    workdir = tmp_path_factory.mktemp("rewards-rotation")
    options = DevnetOptions(workdir=workdir, **dict(BASE_OPTIONS, challenge=False))
    devnet = SequencerSetDevnet(options, SequencerSetOptions(sequencers=3, epoch_length=EPOCH))
    options.l2_base_fee_recipient = FEE_VAULT_ADDRESS
    options.l2_alloc = predeploy_alloc(options.l2_chain_id, devnet.address(OWNER))
    devnet.start()
    try:
        yield devnet
    finally:
        devnet.stop()


def test_each_builder_is_paid_for_its_own_blocks_and_its_own_priority_fees(net):
    l1 = web3_of(net.l1_url)
    staking = SequencerStakingClient(l1, net.staking, net.key(OWNER))
    staking.govern("setRewardPerBlock", REWARD)
    staking.govern("setRewarder", Web3.to_checksum_address(net.address(REWARDER)))
    staking.fund_rewards(ETHER)
    members = [web3_of(node.url) for node in net.sequencers]
    sender = members[0].eth.account.from_key(net.key(SENDER))
    recipient = Web3.to_checksum_address(net.address(RECIPIENT))
    # transactions with tips, to every member in turn, while the epochs rotate
    target = (members[0].eth.block_number // EPOCH + EPOCHS + 1) * EPOCH - 1  # the last block of an epoch ahead
    nonce = members[0].eth.get_transaction_count(sender.address)
    hashes = []
    while members[0].eth.block_number < target - EPOCH:
        member = members[len(hashes) % len(members)]
        signed = sender.sign_transaction({"to": recipient, "value": 1, "gas": 30_000, "chainId": net.options.l2_chain_id,
                                          "nonce": nonce, "maxFeePerGas": 20 * GWEI,
                                          "maxPriorityFeePerGas": (1 + len(hashes) % 3) * GWEI})
        hashes.append(member.eth.send_raw_transaction(signed.raw_transaction))
        nonce += 1
        members[0].eth.wait_for_transaction_receipt(hashes[-1], timeout=120)
    wait_safe(net.follower.url, target, 180)

    done = reward_once(net, net.staking, REWARDER, EPOCH)
    assert done.returncode == 0, done.stderr
    paid_through = staking.view("rewardedThrough")
    assert paid_through >= target and (paid_through + 1) % EPOCH == 0

    follower = web3_of(net.follower.url)
    stakers = {Web3.to_checksum_address(net.sequencer_address(i)) for i in range(3)}
    built = Counter()
    priority = Counter()
    base_fees = 0
    included = 0
    for number in range(1, paid_through + 1):
        block = follower.eth.get_block(number)
        built[block["miner"]] += 1
        for receipt in follower.eth.get_block_receipts(number):
            if receipt["type"] == 0x7E:
                continue
            included += 1
            base_fees += receipt["gasUsed"] * block["baseFeePerGas"]
            priority[block["miner"]] += receipt["gasUsed"] * (receipt["effectiveGasPrice"] - block["baseFeePerGas"])
    assert included >= len(hashes) > 0
    paid = 0
    for builder in stakers:
        assert staking.view("credit", builder) == built[builder] * REWARD, builder
        paid += built[builder] * REWARD
        assert follower.eth.get_balance(builder, paid_through) - follower.eth.get_balance(builder, 0) == \
            priority[builder], builder
    for outsider in set(built) - stakers:  # e.g. a slot derivation filled: no staked builder, no reward
        assert staking.view("credit", outsider) == 0
    assert staking.view("rewardPool") == ETHER - paid
    assert follower.eth.get_balance(VAULT, paid_through) - follower.eth.get_balance(VAULT, 0) == base_fees
    print(f"\nblocks 1..{paid_through} by builder: {dict(built)}; {included} transactions")
