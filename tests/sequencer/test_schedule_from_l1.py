"""The schedule read from a real anvil L1: the seed block found by time, the stakes read at it, the same answer
from another process reading the same L1, and no reaction possible to a seed already known."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from eth_account import Account

from hyperion.sequencer.schedule import ScheduleParams, epoch_order, seed_cutoff_time
from hyperion.sequencer.staking import (
    SeedNotYetKnown, SequencerStakingClient, StakingConfig, deploy_sequencer_staking, epoch_order_from_l1,
    seed_block_number)
from tests.rollup.l1.anvil import ANVIL_KEYS

OWNER, S1, S2, S3 = (Account.from_key(k) for k in ANVIL_KEYS[:4])
ETHER = 10**18
L1_BLOCK_TIME = 12
PARAMS = ScheduleParams(epoch_length=6, seed_lookback=36, takeover_seconds=4)
L2_BLOCK_TIME = 2  # an epoch lasts 12 s: one L1 block
EPOCHS = 40

_OTHER_NODE = """
import json, sys
from web3 import Web3
from hyperion.sequencer.schedule import ScheduleParams
from hyperion.sequencer.staking import SequencerStakingClient, epoch_order_from_l1
url, address, genesis, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = SequencerStakingClient(Web3(Web3.HTTPProvider(url)), address)
params = ScheduleParams(epoch_length=6, seed_lookback=36, takeover_seconds=4)
out = []
for epoch in range(epochs):
    number, order = epoch_order_from_l1(client, params, epoch, genesis, 2)
    out.append([number, [a.hex() for a in order]])
print(json.dumps(out))
"""


@pytest.fixture()
def staked(w3, anvil):
    config = StakingConfig(owner=OWNER.address, l2_chain_id=59902, min_lock=ETHER, max_lock=100 * ETHER,
                           exit_delay=3600, reward_per_block=0)
    client = SequencerStakingClient(w3, deploy_sequencer_staking(w3, OWNER, config), OWNER)
    for account, amount in ((S1, 50 * ETHER), (S2, 30 * ETHER), (S3, 20 * ETHER)):
        client.as_account(account).lock(amount)
    # L1 moves on in 12 s blocks; the L2 chain starts after the seed lookback
    start = w3.eth.get_block("latest")["timestamp"]
    anvil.rpc("anvil_mine", hex(8), hex(L1_BLOCK_TIME))
    return client, start + 4 * L1_BLOCK_TIME


def test_the_seed_block_is_the_newest_at_or_before_the_cutoff(staked, w3):
    client, l2_genesis = staked
    for epoch in range(2):
        cutoff = seed_cutoff_time(epoch, PARAMS, l2_genesis, L2_BLOCK_TIME)
        number = seed_block_number(w3, cutoff)
        assert w3.eth.get_block(number)["timestamp"] <= cutoff < w3.eth.get_block(number + 1)["timestamp"]
    with pytest.raises(SeedNotYetKnown):
        epoch_order_from_l1(client, PARAMS, 1000, l2_genesis, L2_BLOCK_TIME)  # L1 is not there yet
    with pytest.raises(SeedNotYetKnown):
        seed_block_number(w3, 0)  # before L1 existed


def test_every_node_reading_l1_computes_the_same_schedule_and_late_stakes_do_not_count(staked, w3, anvil):
    client, l2_genesis = staked
    anvil.rpc("anvil_mine", hex(EPOCHS + 4), hex(L1_BLOCK_TIME))
    here = [epoch_order_from_l1(client, PARAMS, epoch, l2_genesis, L2_BLOCK_TIME) for epoch in range(EPOCHS)]
    seed_blocks = [number for number, _ in here]
    assert len(set(seed_blocks)) == EPOCHS  # one L1 block per epoch here, each a different seed
    assert len({order for _, order in here}) > 1 and {order[0] for _, order in here} == {
        bytes.fromhex(a.address[2:]) for a in (S1, S2, S3)}
    # a change of stakes after the seed blocks changes none of these epochs
    client.as_account(S3).lock(80 * ETHER)
    client.as_account(S1).request_unlock()
    again = [epoch_order_from_l1(client, PARAMS, epoch, l2_genesis, L2_BLOCK_TIME) for epoch in range(EPOCHS)]
    assert again == here
    # another process (another node) reading the same L1
    out = subprocess.run([sys.executable, "-c", _OTHER_NODE, anvil.url, client.address, str(l2_genesis),
                          str(EPOCHS)], capture_output=True, text=True, timeout=300, check=True)
    assert json.loads(out.stdout) == [[number, [a.hex() for a in order]] for number, order in here]
    # and the order is the pure schedule of that block's hash and the set read there
    number, order = here[5]
    assert order == epoch_order(client.active_set(number), bytes(w3.eth.get_block(number)["hash"]), 5)
