"""An equivocation end to end: a real anvil L1, a staked sequencer with the test hook
``HYPERION_TEST_EQUIVOCATE_AT`` (it signs a second block at one height and publishes it), and a follower
with ``--report-equivocation`` as real ``hyperion node`` processes.

The follower sees both signed blocks on the sequencer's feed and proves the equivocation on L1; the
contract slashes the whole stake (devnet: 100%), credits the reporter its share (paid out by claim()) and
puts the rest in the reward pool, and ejects the signer, after which the follower refuses its blocks and
the inbox its batches.
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account

from hyperion.chain.blocks import decode_block
from hyperion.rollup.devnet import BATCHER, DevnetOptions, anvil_binary, rpc
from hyperion.rollup.sequencer import EQUIVOCATE_ENV, EQUIVOCATION_EXTRA_DATA
from hyperion.sequencer.signing import recover_signer
from tests.rollup.e2e.conftest import BASE_OPTIONS, sync_status, wait_until
from tests.sequencer.staked_devnet import REPORTER, REPORTER_SHARE_BPS, STAKE, StakedDevnet

EQUIVOCATE_AT = 6


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    options = dict(BASE_OPTIONS, follower=False, challenge=False, data_availability="calldata",
                   sequencer_env={EQUIVOCATE_ENV: str(EQUIVOCATE_AT)})
    devnet = StakedDevnet(DevnetOptions(workdir=tmp_path_factory.mktemp("equivocation"), **options))
    try:
        devnet.start_l1()
        devnet.deploy()
        # the watching follower first, so that it is on the feed when the sequencer builds block N
        devnet.sequencer = devnet.make_sequencer()
        devnet.follower = devnet.watching_follower("watcher", devnet.sequencer.url, reporter=True)
        devnet.follower.start()
        devnet.sequencer.start()
        yield devnet
    finally:
        devnet.stop()


def test_an_equivocation_is_proven_on_l1_and_the_signers_stake_is_slashed(net):
    staking = net.staking_client()
    signer = net.address(BATCHER)
    signer_address = staking.w3.to_checksum_address("0x" + signer.hex())
    reporter = Account.from_key(net.key(REPORTER))
    assert staking.view("stakeOf", signer_address) == STAKE and staking.view("isActive", signer_address)
    pool_before = staking.view("rewardPool")

    proven = wait_until(lambda: staking.contract.events.EquivocationProven.get_logs(from_block=0), 240,
                        "the equivocation proof on L1")
    (event,) = proven
    assert event["args"]["signer"] == signer_address and event["args"]["number"] == EQUIVOCATE_AT
    assert event["args"]["reporter"] == reporter.address and event["args"]["penalty"] == STAKE
    # the two hashes are block N as the chain has it and its twin (other extra data), both signed by the sequencer
    now = rpc(net.sequencer.url, "hyperion_getSignedBlock", hex(EQUIVOCATE_AT))
    header = decode_block(bytes.fromhex(now["block"][2:])).header
    normal = decode_block(bytes.fromhex(rpc(net.sequencer.url, "debug_getRawBlock", hex(EQUIVOCATE_AT - 1))[2:]))
    expected = {dataclasses.replace(header, extra_data=extra).hash
                for extra in (EQUIVOCATION_EXTRA_DATA, normal.header.extra_data)}
    assert {bytes(event["args"]["blockHashA"]), bytes(event["args"]["blockHashB"])} == expected
    assert recover_signer(net.domain().digest(EQUIVOCATE_AT, bytes.fromhex(now["hash"][2:])),
                          bytes.fromhex(now["signature"][2:])) == signer
    # the reporter logs it once its own receipt arrives, which can come after the test saw the event on L1
    wait_until(lambda: "proven on L1" in net.follower.log_text(), 60, "the reporter to log its proof")

    # slashed and ejected: the stake is gone, the reporter's share is claimable, the rest is in the pool
    share = STAKE * REPORTER_SHARE_BPS // 10_000
    assert staking.view("stakeOf", signer_address) == 0 and not staking.view("isActive", signer_address)
    assert staking.view("credit", reporter.address) == share
    assert staking.view("rewardPool") == pool_before + STAKE - share
    w3 = staking.w3
    balance = w3.eth.get_balance(reporter.address)
    receipt = staking.as_account(reporter).claim()
    assert w3.eth.get_balance(reporter.address) == balance + share - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert w3.eth.get_balance(staking.address) == staking.view("rewardPool")

    # an ejected signer's blocks are refused by the follower, its batches by the inbox
    wait_until(lambda: sync_status(net.follower.url)["hyperion"].get("unsafe_refused", 0) >= 1, 120,
               "the follower to refuse the ejected sequencer's blocks")
    wait_until(lambda: "not the authorized batcher" in net.sequencer.log_text(), 120,
               "the inbox to refuse the ejected sequencer's batches")
