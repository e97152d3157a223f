"""The rollup's hooks for a sequencer set: the leadership gate (builds only when allowed, rolls back a block the
gate refuses), and a block's coinbase (each sequencer's own) carried by its batch entry to every follower."""

from __future__ import annotations

import asyncio
import dataclasses

import brotli
import pytest

from hyperion.primitives import rlp
from hyperion.rollup.batcher import block_batch
from hyperion.rollup.channel import Channel, MalformedChannel, decode_channel, encode_channel
from hyperion.rollup.derivation import _block_matches, attributes
from hyperion.rollup.engine import InvalidBlock, RollupChain
from hyperion.rollup.sequencer import AlwaysLeader, Sequencer
from tests.rollup.test_engine import _config, _l1, _transfer

COINBASE = b"\xc0" * 20


class _L1:
    """An L1 of fixed headers (block 5 = the rollup's genesis L1 block) standing in for derivation's reads."""

    def __init__(self):
        self.traversal = self
        self.head = 5

    async def header(self, number):
        return _l1(number)

    async def deposits_of(self, origin):
        return []


class _Gate:
    def __init__(self):
        self.allow = False
        self.accept = True
        self.asked: list[tuple[int, int]] = []
        self.offered: list[int] = []

    async def may_build(self, number, timestamp):
        self.asked.append((number, timestamp))
        return self.allow

    async def built(self, block):
        self.offered.append(block.number)
        return self.accept


def test_the_sequencer_builds_only_when_its_leadership_gate_allows_and_rolls_back_a_refused_block():
    config = _config()
    chain = RollupChain(config)
    gate = _Gate()
    sequencer = Sequencer(config, chain, _L1(), clock=lambda: config.timestamp_of(3), leadership=gate)
    chain.submit_transaction(_transfer(0))

    assert asyncio.run(sequencer.build_next()) is None
    assert gate.asked == [(1, config.timestamp_of(1))] and not sequencer.leading
    assert chain.head().number == 0 and gate.offered == []

    gate.allow, gate.accept = True, False  # leadership lost while building: the block must not stay
    assert asyncio.run(sequencer.build_next()) is None
    assert gate.offered == [1] and chain.head().number == 0 and not sequencer.leading
    assert sequencer.built_blocks == 0 and len(chain.pool.pending_transactions()) == 1  # its tx is offered again

    gate.accept = True
    block = asyncio.run(sequencer.build_next())
    assert block.number == 1 and chain.head().number == 1 and sequencer.leading
    assert len(block.transactions) == 2 and sequencer.built_blocks == 1


def test_a_sequencer_without_a_gate_always_leads():
    config = _config()
    chain = RollupChain(config)
    sequencer = Sequencer(config, chain, _L1(), clock=lambda: config.timestamp_of(1))
    assert isinstance(sequencer.leadership, AlwaysLeader)
    assert asyncio.run(sequencer.build_next()).number == 1
    assert asyncio.run(sequencer.build_next()) is None  # block 2's time has not come


def test_a_sequencers_own_coinbase_travels_in_its_batch_and_followers_rebuild_the_same_block():
    config = _config()
    built, follower = RollupChain(config), RollupChain(config)
    sequencer = Sequencer(config, built, _L1(), clock=lambda: config.timestamp_of(1), coinbase=COINBASE)
    built.submit_transaction(_transfer(0))
    block = asyncio.run(sequencer.build_next())
    assert block.header.coinbase == COINBASE
    assert built.state_at("latest").get_balance(COINBASE) > 0  # the priority fee went to the sequencer
    entry = block_batch(built, block)
    assert entry.coinbase == COINBASE and len(entry.to_rlp()) == 8
    channel = Channel(1, built.block_by_number(0).hash, b"\x00" * 20, (entry,))
    decoded = decode_channel(encode_channel(channel)).blocks[0]
    assert decoded == entry

    attrs = attributes(config, follower.head_ref(), _l1(5), [], decoded.transactions, decoded)
    assert attrs.coinbase == COINBASE and _block_matches(block, attrs, follower.config.coinbase)
    without = dataclasses.replace(attrs, coinbase=None, claim=dataclasses.replace(decoded, coinbase=None))
    assert not _block_matches(block, without, follower.config.coinbase)  # another fee recipient: another block
    with pytest.raises(InvalidBlock):
        follower.import_block(follower.assemble_block(without))  # and its state root is not the claimed one
    assert follower.import_block(follower.assemble_block(attrs)).hash == block.hash


def test_a_block_paying_the_genesis_coinbase_keeps_the_seven_field_entry_and_a_bad_coinbase_is_refused():
    config = _config()
    chain = RollupChain(config)
    block = asyncio.run(Sequencer(config, chain, _L1(), clock=lambda: config.timestamp_of(1)).build_next())
    entry = block_batch(chain, block)
    assert entry.coinbase is None and len(entry.to_rlp()) == 7
    raw = [1, chain.block_by_number(0).hash, b"\x00" * 20, [entry.to_rlp() + [b"\x01" * 19]]]
    with pytest.raises(MalformedChannel, match="coinbase must be 20 bytes"):
        decode_channel(b"\x00\x01" + brotli.compress(rlp.encode(raw)))
