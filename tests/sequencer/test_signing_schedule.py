"""The rotation schedule as the signature policy of the unsafe feed (real anvil L1): only the sequencer responsible
for a block may sign it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from hyperion.sequencer.rotation import RotationLeadership
from hyperion.sequencer.signing import ScheduledSequencers
from tests.sequencer.test_rotation import L2_BLOCK_TIME, PARAMS, _Chain, staked  # noqa: F401  (pytest fixture)


def test_with_a_schedule_only_the_responsible_sequencer_may_sign(staked):
    """The rotation's schedule as the signing policy: the scheduled sequencer at once, a backup only after its
    takeover time, never a block whose builder (coinbase) is someone else."""
    client, config = staked
    chain = _Chain()
    schedule = RotationLeadership(config, chain, client, PARAMS, bytes(20), active_refresh=0.0)
    order = asyncio.run(schedule.order(0))
    number, timestamp = 0 * PARAMS.epoch_length + 1, config.genesis_timestamp + L2_BLOCK_TIME
    chain.builders[0] = order[0]  # the epoch's first block was built by the scheduled sequencer
    clock = {"now": timestamp}
    policy = ScheduledSequencers(schedule, clock=lambda: clock["now"])

    def verdict(signer, builder=None):
        block = SimpleNamespace(number=number, header=SimpleNamespace(coinbase=builder or signer, number=number,
                                                                      timestamp=timestamp))
        return asyncio.run(policy.may_sign(signer, block))

    assert verdict(order[0]) is None
    assert "is not the sequencer responsible" in verdict(order[1])
    assert "is not the block's builder" in verdict(order[0], builder=order[1])
    clock["now"] = timestamp + PARAMS.takeover_seconds  # the first backup's turn has come
    assert verdict(order[1]) is None and verdict(order[0]) is None
    assert "is not the sequencer responsible" in verdict(order[2])
    assert "is not the sequencer responsible" in verdict(bytes.fromhex("11" * 20))
