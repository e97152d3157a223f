"""Block signatures, the follower's signer check, the equivocation watcher and the staked inbox, on a real anvil L1.

The signatures ``BlockSigner`` makes are checked by SequencerStaking itself
(``proveEquivocation`` recovers them), so the off-chain digest and format are
the contract's.
"""

from __future__ import annotations

import asyncio

import pytest
from eth_account import Account
from hyperion.chain.blocks import EMPTY_OMMERS_HASH, EMPTY_TRIE_ROOT, Block, Header
from hyperion.rollup.l1.clients import BatchInboxClient
from hyperion.rollup.l1.deploy import deploy_rollup_contracts
from hyperion.rollup.l1.transact import ContractReverted
from hyperion.sequencer.equivocation import EquivocationWatcher
from hyperion.sequencer.inbox import deploy_batcher_authority, use_batcher_authority
from hyperion.sequencer.signing import (SECP256K1_HALF_ORDER, ActiveSequencers, BadSignature, BlockDomain,
                                        BlockSigner, SignatureVerifier, recover_signer)
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.l1.anvil import ANVIL_KEYS
from tests.rollup.l1.conftest import make_config

OWNER, S1, S2, REPORTER, STRANGER = (Account.from_key(k) for k in ANVIL_KEYS[:5])
ETHER = 10**18
STAKE = 20 * ETHER
L2_CHAIN_ID = 59903
SECP256K1_ORDER = 2 * SECP256K1_HALF_ORDER + 1


def _raw(address: str) -> bytes:
    return bytes.fromhex(address[2:])


def _key(account) -> bytes:
    return bytes(account.key)


@pytest.fixture()
def staking(w3):
    config = StakingConfig(owner=OWNER.address, l2_chain_id=L2_CHAIN_ID, min_lock=STAKE, max_lock=10 * STAKE,
                           exit_delay=3600, reward_per_block=0, equivocation_slash_bps=10_000,
                           reporter_share_bps=1_000)
    client = SequencerStakingClient(w3, deploy_sequencer_staking(w3, OWNER, config), OWNER)
    client.as_account(S1).lock(STAKE)
    return client


def _domain(w3, staking) -> BlockDomain:
    return BlockDomain(w3.eth.chain_id, _raw(staking.address), L2_CHAIN_ID)


def _block(number: int, extra: bytes = b"") -> Block:
    header = Header(parent_hash=bytes(32), ommers_hash=EMPTY_OMMERS_HASH, coinbase=bytes(20), state_root=bytes(32),
                    transactions_root=EMPTY_TRIE_ROOT, receipts_root=EMPTY_TRIE_ROOT, logs_bloom=bytes(256),
                    difficulty=0, number=number, gas_limit=30_000_000, gas_used=0, timestamp=1_000 + number,
                    extra_data=extra, prev_randao=bytes(32), nonce=bytes(8), base_fee=10**9)
    return Block(header, [], [])


def test_the_contract_accepts_the_signatures_blocksigner_makes(w3, staking):
    domain = _domain(w3, staking)
    signer = BlockSigner(domain, _key(S1))
    a, b = _block(7), _block(7, b"other")
    assert domain.digest(7, a.hash) == bytes(staking.view("blockDigest", 7, a.hash))
    sig_a, sig_b = signer(a), signer(b)
    assert len(sig_a) == 65 and sig_a[64] in (27, 28)
    assert recover_signer(domain.digest(7, a.hash), sig_a) == _raw(S1.address)
    staking.as_account(REPORTER).prove_equivocation(7, a.hash, sig_a, b.hash, sig_b)
    assert staking.view("stakeOf", S1.address) == 0 and not staking.view("isActive", S1.address)


def test_signatures_the_contract_would_refuse_are_refused():
    digest = bytes(range(32))
    good = BlockSigner(BlockDomain(1, bytes(20), L2_CHAIN_ID), _key(S1)).sign(3, digest)
    digest = BlockDomain(1, bytes(20), L2_CHAIN_ID).digest(3, digest)
    assert recover_signer(digest, good) == _raw(S1.address)
    s = int.from_bytes(good[32:64], "big")
    high_s = good[:32] + (SECP256K1_ORDER - s).to_bytes(32, "big") + bytes([55 - good[64]])  # the malleable twin
    for bad, reason in [(good[:64], "65 bytes"), (good + b"\0", "65 bytes"), (good[:64] + b"\x00", "v must be"),
                        (good[:64] + b"\x1d", "v must be"), (high_s, "lower half"),
                        (bytes(32) + good[32:], "invalid signature")]:
        with pytest.raises(BadSignature, match=reason):
            recover_signer(digest, bad)
    # the signature over another block recovers to someone else (so no staked sequencer vouches for it)
    assert recover_signer(BlockDomain(1, bytes(20), L2_CHAIN_ID).digest(4, bytes(32)), good) != _raw(S1.address)


def test_the_verifier_takes_blocks_signed_by_an_active_staker_only(w3, staking, anvil):
    domain = _domain(w3, staking)
    seen = []

    class Observer:
        async def observe(self, block, signature, signer):
            seen.append((block.number, signer))

    async def scenario():
        policy = ActiveSequencers(anvil.url, _raw(staking.address), cache_seconds=0)
        verify = SignatureVerifier(domain, policy, Observer())
        try:
            block = _block(5)
            assert await verify(block, BlockSigner(domain, _key(S1))(block)) is None
            unstaked = await verify(block, BlockSigner(domain, _key(STRANGER))(block))
            assert unstaked == f"signer 0x{STRANGER.address[2:].lower()} is not an active staked sequencer"
            other_domain = BlockSigner(BlockDomain(w3.eth.chain_id, bytes(20), L2_CHAIN_ID), _key(S1))(block)
            assert "not an active staked sequencer" in await verify(block, other_domain)
            assert await verify(block, b"\x01" * 65) is not None
            staking.as_account(S1).request_unlock()  # exiting: no longer in the set
            assert "not an active" in await verify(block, BlockSigner(domain, _key(S1))(block))
        finally:
            await verify.close()

    asyncio.run(scenario())
    assert seen == [(5, _raw(S1.address))]


def test_the_watcher_proves_two_signed_blocks_at_one_height_and_the_signer_is_slashed(w3, staking, anvil):
    domain = _domain(w3, staking)
    sign = BlockSigner(domain, _key(S1))
    reporter_before = staking.view("credit", REPORTER.address)

    async def scenario():
        watcher = EquivocationWatcher(anvil.url, _raw(staking.address), _key(REPORTER), w3.eth.chain_id)
        try:
            first, twin = _block(9), _block(9, b"twin")
            for block in (_block(8), first, first, _block(10)):  # no conflict yet
                await watcher.observe(block, sign(block), _raw(S1.address))
            assert not watcher._tasks and not watcher.proofs
            await watcher.observe(twin, sign(twin), _raw(S1.address))
            await watcher.observe(twin, sign(twin), _raw(S1.address))  # reported once
            assert len(watcher._tasks) == 1
            await asyncio.gather(*watcher._tasks)
            assert len(watcher.proofs) == 1
            # a second proof of the same height is refused by the contract: logged, nothing sent twice
            assert await watcher.prove(9, first.hash, sign(first), twin.hash, sign(twin)) is None
        finally:
            await watcher.close()

    asyncio.run(scenario())
    assert staking.view("stakeOf", S1.address) == 0 and not staking.view("isActive", S1.address)
    assert staking.view("credit", REPORTER.address) - reporter_before == STAKE // 10
    assert staking.view("rewardPool") == STAKE - STAKE // 10


def test_the_inbox_takes_batches_from_active_stakers_only(w3, staking):
    deployment = deploy_rollup_contracts(w3, OWNER, make_config())
    authority = deploy_batcher_authority(w3, OWNER, staking.address)
    use_batcher_authority(w3, OWNER, deployment.batch_inbox, authority)
    inbox = BatchInboxClient(w3, deployment.batch_inbox, S1)
    (event,) = inbox.batches(inbox.submit_calldata(b"\x00staked"))
    assert event.batcher == _raw(S1.address)
    for outsider in (S2, STRANGER):  # S2 is also the inbox's former single batcher (make_config)
        with pytest.raises(ContractReverted, match="not the authorized batcher"):
            inbox.with_sender(outsider).submit_calldata(b"\x00not staked")
    staking.as_account(S2).lock(STAKE)
    inbox.with_sender(S2).submit_calldata(b"\x00now staked")
    staking.as_account(S2).request_unlock()  # leaving the set ends the right at once
    with pytest.raises(ContractReverted, match="not the authorized batcher"):
        inbox.with_sender(S2).submit_calldata(b"\x00exiting")
