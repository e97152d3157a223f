"""Sequencer rewards and the fee share to Holders Mining add up exactly over an epoch.

Real anvil L1 and real ``hyperion node`` processes (rollup's devnet): the L2
genesis names the staked sequencer's address as coinbase, routes base fees
to the Holders Mining vault (the LazAI predeploys are in the L2 genesis) and
epochs are ``EPOCH`` blocks. Transactions with different tips (EIP-1559 with
and without a tip, legacy, a contract call to the vault) go through the
sequencer. ``hyperion sequencer reward --once`` (the rewarder) then pays
every safe epoch on L1. Checked to the wei: L1 credits == blocks built by
the sequencer × rewardPerBlock, taken from the pool; on L2 over the epoch
holding the transactions, the vault's balance grew by exactly Σ gas_used ×
base_fee, the builder's by exactly Σ gas_used × (price − base_fee), each
sender paid value + gas_used × price; the vault booked the base fees as its
transaction-fee revenue; and the rewarder's printed account agrees.
"""

from __future__ import annotations

import re

import pytest
from web3 import Web3

from hyperion.artifacts import load_artifact
from hyperion.predeploys.genesis import predeploy_alloc
from hyperion.predeploys.plan import FEE_VAULT_ADDRESS
from hyperion.rollup.devnet import DEPLOYER, Devnet, DevnetOptions, anvil_binary
from hyperion.sequencer.schedule import epoch_first_block, epoch_of
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.e2e.conftest import BASE_OPTIONS, wait_safe, wait_until, web3_of
from tests.sequencer.rewarder import reward_once

pytestmark = pytest.mark.e2e

ETHER = 10**18
GWEI = 10**9
EPOCH = 10
REWARD = 3 * 10**15
SEQUENCER, REWARDER, ALICE, BOB = 5, 7, 8, 9   # devnet accounts
VAULT = Web3.to_checksum_address(FEE_VAULT_ADDRESS)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    probe = Devnet(DevnetOptions(workdir=tmp_path_factory.mktemp("unused")))
    options = dict(BASE_OPTIONS, challenge=False, l2_coinbase=probe.address(SEQUENCER),
                   l2_base_fee_recipient=FEE_VAULT_ADDRESS,
                   l2_alloc=predeploy_alloc(901, probe.address(DEPLOYER)))
    net = Devnet(DevnetOptions(workdir=tmp_path_factory.mktemp("rewards"), **options))
    try:
        net.start()
        yield net
    finally:
        net.stop()


def _staking(net: Devnet) -> SequencerStakingClient:
    l1 = web3_of(net.l1_url)
    owner = net.key(DEPLOYER)
    config = StakingConfig(owner=Web3.to_checksum_address(net.address(DEPLOYER)), l2_chain_id=901, min_lock=ETHER,
                           max_lock=100 * ETHER, exit_delay=3600, reward_per_block=REWARD)
    staking = SequencerStakingClient(l1, deploy_sequencer_staking(l1, owner, config), owner)
    staking.as_account(net.key(SEQUENCER)).lock(10 * ETHER)
    staking.govern("setRewarder", Web3.to_checksum_address(net.address(REWARDER)))
    staking.fund_rewards(ETHER)
    return staking


def _send_all(l2: Web3, net: Devnet, transactions: list[tuple[int, dict]]) -> list[bytes]:
    """Send every transaction at once (so they fit one epoch even on a slow machine); their hashes."""
    nonces: dict[int, int] = {}
    hashes = []
    for index, tx in transactions:
        account = l2.eth.account.from_key(net.key(index))
        nonce = nonces.setdefault(index, l2.eth.get_transaction_count(account.address))
        nonces[index] += 1
        signed = account.sign_transaction(dict(tx, chainId=901, nonce=nonce, gas=100_000))
        hashes.append(l2.eth.send_raw_transaction(signed.raw_transaction))
    return hashes


def test_rewards_and_the_fee_share_add_up_exactly_over_an_epoch(devnet):
    net = devnet
    staking = _staking(net)
    sequencer, follower = web3_of(net.sequencer.url), web3_of(net.follower.url)
    builder = Web3.to_checksum_address(net.address(SEQUENCER))
    vault = sequencer.eth.contract(address=VAULT, abi=load_artifact("HoldersMining")["abi"])
    alice, bob = (Web3.to_checksum_address(net.address(i)) for i in (ALICE, BOB))
    # an epoch boundary first, so that every transaction below falls in one epoch
    start = sequencer.eth.block_number + 1
    epoch = epoch_of(start, EPOCH) + 1
    first, last = epoch_first_block(epoch, EPOCH), epoch_first_block(epoch + 1, EPOCH) - 1
    wait_until(lambda: sequencer.eth.block_number >= first - 1, 60, f"L2 block {first - 1}")
    hashes = _send_all(sequencer, net, [
        (ALICE, {"to": bob, "value": 12345, "maxFeePerGas": 20 * GWEI, "maxPriorityFeePerGas": 2 * GWEI}),
        (BOB, {"to": alice, "value": 1, "maxFeePerGas": 20 * GWEI, "maxPriorityFeePerGas": 0}),
        (ALICE, {"to": bob, "value": 7, "gasPrice": 3 * GWEI}),
        (BOB, {"to": VAULT, "data": vault.encode_abi("checkpoint", []), "maxFeePerGas": 20 * GWEI,
               "maxPriorityFeePerGas": GWEI}),
    ])
    for tx_hash in hashes:
        sequencer.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    wait_safe(net.follower.url, last, 120)
    receipts = [follower.eth.get_transaction_receipt(h) for h in hashes]  # the safe chain's
    assert all(r["status"] == 1 for r in receipts)
    assert all(first <= r["blockNumber"] <= last for r in receipts), "the transactions spill over the epoch"

    # the rewarder pays every safe epoch on L1
    done = reward_once(net, staking.address, REWARDER, EPOCH)
    assert done.returncode == 0, done.stderr
    paid_through = staking.view("rewardedThrough")
    assert paid_through >= last and (paid_through + 1) % EPOCH == 0  # whole epochs only
    builders = {follower.eth.get_block(n)["miner"] for n in range(1, paid_through + 1)}
    assert builders == {builder}
    assert staking.view("credit", builder) == paid_through * REWARD
    assert staking.view("rewardPool") == ETHER - paid_through * REWARD
    # paying again pays nothing: every block once
    again = reward_once(net, staking.address, REWARDER, EPOCH)
    assert again.returncode == 0, again.stderr
    assert staking.view("credit", builder) == staking.view("rewardedThrough") * REWARD

    # L2 fees over the epoch, to the wei, against the balances of the safe chain
    base_fees = priority_fees = 0
    paid_by = {alice: 0, bob: 0}
    for receipt, tx_hash in zip(receipts, hashes):
        base_fee = follower.eth.get_block(receipt["blockNumber"])["baseFeePerGas"]
        fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
        base_fees += receipt["gasUsed"] * base_fee
        priority_fees += receipt["gasUsed"] * (receipt["effectiveGasPrice"] - base_fee)
        tx = follower.eth.get_transaction(tx_hash)
        paid_by[tx["from"]] += fee + tx["value"]
        paid_by[tx["to"]] = paid_by.get(tx["to"], 0) - tx["value"]
    assert priority_fees > 0 and base_fees > 0

    def delta(address):
        return follower.eth.get_balance(address, last) - follower.eth.get_balance(address, first - 1)

    assert delta(VAULT) == base_fees
    assert delta(builder) == priority_fees
    assert -delta(alice) == paid_by[alice] and -delta(bob) == paid_by[bob]
    # the vault booked every base fee paid before its checkpoint call as transaction-fee revenue
    checkpoint = receipts[-1]
    number = checkpoint["blockNumber"]
    base_fee = follower.eth.get_block(number)["baseFeePerGas"]
    not_yet_in = sum(r["gasUsed"] * base_fee for r in follower.eth.get_block_receipts(number)
                     if r["type"] != 0x7E and r["transactionIndex"] >= checkpoint["transactionIndex"])
    booked = vault.functions.revenueByStream(0).call(block_identifier=number)
    assert booked == follower.eth.get_balance(VAULT, number) - not_yet_in
    # the rewarder's own account of that epoch says the same
    line = next(line for line in done.stdout.splitlines() if line.startswith(f"blocks {first}..{last}:"))
    match = re.search(rf"{builder}: (\d+) blocks, (\d+) wei priority fees; (\d+) transactions, (\d+) wei base fees",
                      line)
    assert match, line
    assert tuple(int(g) for g in match.groups()) == (EPOCH, priority_fees, len(hashes), base_fees)
