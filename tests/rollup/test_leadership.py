"""The sequencer's leadership gate: it builds only when the gate allows, and rolls back a block the gate refuses."""

from __future__ import annotations

import asyncio

from hyperion.rollup.engine import RollupChain
from hyperion.rollup.sequencer import AlwaysLeader, Sequencer
from tests.rollup.test_engine import _config, _l1, _transfer


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
