"""Signed blocks end to end: a real anvil L1, a staked sequencer, a rogue (unstaked) sequencer and two followers
as real ``hyperion node`` processes.

- the staked sequencer's blocks reach its follower over the unsafe feed, each with a signature that
  recovers to the staker, kept across a restart and served by ``hyperion_getSignedBlock``;
- a follower of the rogue's feed refuses every block it signed (nothing imported), and its safe chain is
  L1's, the same as everyone's;
- the rogue's batches are refused by the inbox (revert), and when the inbox's owner lets them in anyway,
  derivation ignores them (log line naming the transaction) and every node keeps the staked chain.
"""

from __future__ import annotations

from typing import Optional

import pytest
from eth_account import Account

from hyperion.chain.blocks import decode_block
from hyperion.rollup.deposits import parse_l1_info
from hyperion.rollup.derivation import BATCH_SUBMITTED
from hyperion.rollup.devnet import BATCHER, DEPLOYER, DevnetOptions, anvil_binary, rpc
from hyperion.rollup.l1.transact import Sender
from hyperion.artifacts import load_artifact
from hyperion.sequencer.signing import recover_signer
from tests.rollup.e2e.conftest import BASE_OPTIONS, assert_same_chain, safe_number, sync_status, wait_until, web3_of
from tests.sequencer.staked_devnet import ROGUE, StakedDevnet


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    if anvil_binary() is None:
        pytest.skip("anvil is not installed (npm package @foundry-rs/anvil; scripts/setup-e2e.sh)")
    devnet = StakedDevnet(DevnetOptions(workdir=tmp_path_factory.mktemp("signed"),
                                        **dict(BASE_OPTIONS, follower=False, challenge=False,
                                               data_availability="calldata")))
    devnet.extra_nodes = []
    devnet.start()
    try:
        follower = devnet.watching_follower("follower", devnet.sequencer.url)
        devnet.follower = follower
        follower.start()
        rogue = devnet.rogue_sequencer()
        devnet.extra_nodes.append(rogue)
        rogue.start()
        misled = devnet.watching_follower("misled", rogue.url)
        devnet.extra_nodes.append(misled)
        misled.start()
        devnet.rogue, devnet.misled = rogue, misled
        yield devnet
    finally:
        for node in devnet.extra_nodes:
            node.stop()
        devnet.stop()


def _signed(url: str, number: int) -> dict:
    return rpc(url, "hyperion_getSignedBlock", hex(number))


def _signer_of(net, signed: dict) -> bytes:
    return recover_signer(net.domain().digest(int(signed["number"], 16), bytes.fromhex(signed["hash"][2:])),
                          bytes.fromhex(signed["signature"][2:]))


def _newest_signed(url: str, depth: int = 64) -> Optional[dict]:
    """The newest of the node's ``depth`` latest blocks that carries a signature, or None."""
    head = sync_status(url)["unsafe_l2"]["number"]
    for number in range(head, max(head - depth, 0), -1):
        block = _signed(url, number)
        if block is not None and block["signature"] is not None:
            return block
    return None


def _unsafe_counts(url: str) -> tuple[int, int]:
    status = sync_status(url)["hyperion"]
    return status.get("unsafe_imported", 0), status.get("unsafe_refused", 0)


def test_the_staked_sequencers_signed_blocks_are_followed_and_their_signatures_kept(net):
    staker = net.address(BATCHER)
    wait_until(lambda: _unsafe_counts(net.follower.url)[0] >= 5, 180, "the follower to import 5 fed blocks")
    head = sync_status(net.follower.url)["unsafe_l2"]["number"]
    fed = [n for n in range(1, head + 1) if _signed(net.follower.url, n)["signature"] is not None]
    assert fed, "the follower kept no signature"
    for number in fed[-3:]:
        on_follower, on_sequencer = _signed(net.follower.url, number), _signed(net.sequencer.url, number)
        assert _signer_of(net, on_follower) == staker
        assert on_follower["hash"] != on_sequencer["hash"] or on_follower["signature"] == on_sequencer["signature"]
    assert _unsafe_counts(net.follower.url)[1] == 0
    # every block the sequencer built is signed by it, and the RPC says "no block" for a future one
    sequencer_head = sync_status(net.sequencer.url)["unsafe_l2"]["number"]
    assert _signer_of(net, _signed(net.sequencer.url, sequencer_head)) == staker
    assert _signed(net.sequencer.url, sequencer_head + 1000) is None
    # the signatures survive a restart of the follower
    kept = {n: _signed(net.follower.url, n) for n in fed[-3:]}
    net.follower.stop()
    net.follower.start()
    after = {n: _signed(net.follower.url, n) for n in kept}
    same = [n for n in kept if after[n]["hash"] == kept[n]["hash"]]  # derivation may have replaced one since
    assert same and all(after[n]["signature"] == kept[n]["signature"] for n in same)


def test_blocks_signed_by_an_unstaked_key_are_refused_by_a_follower(net):
    wait_until(lambda: _unsafe_counts(net.misled.url)[1] >= 3, 180, "the misled follower to refuse 3 blocks")
    # the rogue's newest block it signed (blocks it derived from L1, or rebuilt at a height it had signed, are
    # not: right after derivation replaced its blocks, none may be; the next new height it builds is signed)
    signed = wait_until(lambda: _newest_signed(net.rogue.url), 120, "a block the rogue signed")
    assert _signer_of(net, signed) == net.address(ROGUE)
    # the rogue wrote its own batcher address into its block's L1-attributes deposit (derivation writes the sender)
    info = parse_l1_info(decode_block(bytes.fromhex(signed["block"][2:])).transactions[0])
    assert info.batcher_hash == bytes(12) + net.address(ROGUE)
    assert _unsafe_counts(net.misled.url)[0] == 0
    assert "is not an active staked sequencer" in net.misled.log_text()
    assert f"0x{net.address(ROGUE).hex()}" in net.misled.log_text()
    # its safe chain is L1's: the same as the staked sequencer's follower
    target = safe_number(net.follower.url) + 1
    wait_until(lambda: min(safe_number(net.misled.url), safe_number(net.follower.url)) >= target, 180,
               "both followers to derive further")
    assert_same_chain(web3_of(net.misled.url), web3_of(net.follower.url), target)


def test_an_unstaked_senders_batches_are_refused_by_the_inbox_and_ignored_by_derivation(net):
    rogue = "0x" + net.address(ROGUE).hex()
    wait_until(lambda: "not the authorized batcher" in net.rogue.log_text(), 180,
               "the inbox to refuse the rogue's batch")
    l1 = net.l1()
    inbox = l1.eth.contract(address=net.deployment.batch_inbox, abi=load_artifact("BatchInbox")["abi"])
    owner = Sender(l1, Account.from_key(net.key(DEPLOYER)))
    start = l1.eth.block_number
    # the inbox's owner lets the rogue in: its batches land on L1
    owner.transact(inbox.functions.setBatcherAuthority("0x" + "00" * 20))
    owner.transact(inbox.functions.setBatcher(l1.to_checksum_address(rogue)))
    try:
        def rogue_batch():
            logs = l1.eth.get_logs({"address": net.deployment.batch_inbox, "fromBlock": start,
                                    "topics": ["0x" + BATCH_SUBMITTED.hex(), "0x" + "00" * 12 + rogue[2:]]})
            return logs[0] if logs else None

        landed = wait_until(rogue_batch, 120, "a batch of the rogue's on L1")
    finally:
        owner.transact(inbox.functions.setBatcherAuthority(net.authority))
    tx = landed["transactionHash"].hex().removeprefix("0x")
    ignored = f"ignoring batch 0x{tx} in L1 block {landed['blockNumber']}: its sender {rogue} is not an authorized batcher"
    for node in (net.follower, net.sequencer, net.misled):
        wait_until(lambda: ignored in node.log_text(), 120, f"{node.name} to ignore the rogue's batch")
    # the staked chain goes on: batches after the rogue's are derived, and everyone agrees
    target = safe_number(net.sequencer.url) + 2
    wait_until(lambda: min(safe_number(n.url) for n in (net.follower, net.misled)) >= target, 180,
               "the followers to derive past the rogue's batch")
    assert_same_chain(web3_of(net.follower.url), web3_of(net.sequencer.url), target)
    assert_same_chain(web3_of(net.misled.url), web3_of(net.sequencer.url), target)
