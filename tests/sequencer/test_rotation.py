"""The rotation gate against a real anvil L1: who may build a block, when it is late, after a takeover, after an
ejection; the fork choice between two blocks at one height; the rollup config's entries."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from eth_account import Account

from hyperion.rollup.config import RollupConfig
from hyperion.sequencer.rotation import RotationLeadership, SequencerSet
from hyperion.sequencer.schedule import ScheduleParams
from hyperion.sequencer.staking import SequencerStakingClient, StakingConfig, deploy_sequencer_staking
from tests.rollup.l1.anvil import ANVIL_KEYS

OWNER, S1, S2, S3 = (Account.from_key(k) for k in ANVIL_KEYS[:4])
ETHER = 10**18
PARAMS = ScheduleParams(epoch_length=4, seed_lookback=24, takeover_seconds=5)
L2_BLOCK_TIME = 2


def _address(account) -> bytes:
    return bytes.fromhex(account.address[2:])


class _Chain:
    """Block storage as far as the gate reads it: the coinbase of a block (who built it)."""

    def __init__(self):
        self.builders: dict[int, bytes] = {}

    def block_by_number(self, number):
        builder = self.builders.get(number)
        return None if builder is None else SimpleNamespace(header=SimpleNamespace(coinbase=builder, number=number))


def _block(number: int, builder: bytes):
    return SimpleNamespace(header=SimpleNamespace(coinbase=builder, number=number))


@pytest.fixture()
def staked(w3, anvil):
    config = StakingConfig(owner=OWNER.address, l2_chain_id=59903, min_lock=ETHER, max_lock=100 * ETHER,
                           exit_delay=3600, reward_per_block=0)
    client = SequencerStakingClient(w3, deploy_sequencer_staking(w3, OWNER, config), OWNER)
    for account, amount in ((S1, 50 * ETHER), (S2, 30 * ETHER), (S3, 20 * ETHER)):
        client.as_account(account).lock(amount)
    start = w3.eth.get_block("latest")["timestamp"]
    anvil.rpc("anvil_mine", hex(12), hex(12))  # L1 runs past the seeds of the first epochs
    return client, SimpleNamespace(genesis_timestamp=start + 36, block_time=L2_BLOCK_TIME)


def _gate(staked, member, chain=None, now=0.0) -> RotationLeadership:
    client, config = staked
    return RotationLeadership(config, chain or _Chain(), client, PARAMS, _address(member), clock=lambda: now,
                              active_refresh=0.0)


def test_the_scheduled_sequencer_builds_on_time_and_each_backup_after_t_more_seconds(staked):
    client, config = staked
    gates = {_address(m): _gate(staked, m) for m in (S1, S2, S3)}
    any_gate = next(iter(gates.values()))
    for epoch in range(3):
        order = asyncio.run(any_gate.order(epoch))
        assert sorted(order) == sorted(gates)
        number = epoch * PARAMS.epoch_length  # an epoch's first block: nobody built its parent in this epoch
        timestamp = config.genesis_timestamp + number * L2_BLOCK_TIME
        for late, rank in ((0, 0), (4.9, 0), (5, 1), (9.9, 1), (10, 2), (15, 0)):
            for address, gate in gates.items():
                gate.clock = lambda: timestamp + late
                allowed = asyncio.run(gate.may_build(number, timestamp))
                assert allowed == (address == order[rank]), (epoch, late, address.hex())
    # every member computed the same orders
    computed = [gate.status()["epochs"] for gate in gates.values()]
    assert len(computed[0]) == 3 and all(epochs == computed[0] for epochs in computed)


def test_a_backup_that_took_over_keeps_the_epoch(staked):
    client, config = staked
    chain = _Chain()
    order = asyncio.run(_gate(staked, S1).order(1))
    backup = order[1]
    chain.builders[4] = backup  # block 4 (epoch 1's first) was built by the first backup
    member = {_address(m): m for m in (S1, S2, S3)}
    timestamp = config.genesis_timestamp + 5 * L2_BLOCK_TIME
    on_time = _gate(staked, member[backup], chain, now=timestamp)
    assert asyncio.run(on_time.responsible(5, timestamp, timestamp)) == backup
    assert asyncio.run(on_time.may_build(5, timestamp))
    assert not asyncio.run(_gate(staked, member[order[0]], chain, now=timestamp).may_build(5, timestamp))
    assert asyncio.run(on_time.responsible(5, timestamp, timestamp + 5)) == order[2]  # and it can be late too


def test_a_sequencer_that_left_the_set_is_skipped_by_every_node(staked):
    client, config = staked
    gate = _gate(staked, S2)
    epoch = 2
    order = asyncio.run(gate.order(epoch))
    leaving = {_address(m): m for m in (S1, S2, S3)}[order[0]]
    client.as_account(leaving).request_unlock()  # exiting: no longer active at the L1 head
    now_order = asyncio.run(gate.order(epoch))
    assert now_order == tuple(a for a in order if a != order[0])
    assert asyncio.run(gate.scheduled_order(epoch)) == order  # the draw itself does not change
    timestamp = config.genesis_timestamp + epoch * PARAMS.epoch_length * L2_BLOCK_TIME
    assert asyncio.run(gate.responsible(epoch * PARAMS.epoch_length, timestamp, timestamp)) == order[1]


def test_the_schedule_of_an_epoch_l1_has_not_reached_is_not_guessed(staked):
    client, config = staked
    gate = _gate(staked, S1)
    far = 10_000
    assert asyncio.run(gate.may_build(far * PARAMS.epoch_length, config.genesis_timestamp + far * 8)) is False


def test_the_fork_choice_keeps_the_block_whose_builders_turn_came_first(staked):
    client, config = staked
    chain = _Chain()
    order = asyncio.run(_gate(staked, S1).order(1))
    gate = _gate(staked, S1, chain)
    first, second, third = (_block(4, a) for a in order)
    assert asyncio.run(gate.keep_ours(first, second)) is True
    assert asyncio.run(gate.keep_ours(second, first)) is False
    assert asyncio.run(gate.keep_ours(third, second)) is False
    outsider = _block(4, b"\x42" * 20)
    assert asyncio.run(gate.keep_ours(outsider, third)) is False and asyncio.run(gate.keep_ours(third, outsider))
    chain.builders[4] = order[2]  # mid-epoch, after the third took over: its turn comes first now
    assert asyncio.run(gate.keep_ours(_block(5, order[2]), _block(5, order[0]))) is True


def test_the_rollup_config_names_the_staking_contract_and_the_schedule():
    base = RollupConfig.__new__(RollupConfig)
    base.extra = {}
    assert SequencerSet.from_config(base) is None
    entries = SequencerSet("0x" + "11" * 20, PARAMS).to_config()
    base.extra = dict(entries)
    assert SequencerSet.from_config(base) == SequencerSet("0x" + "11" * 20, PARAMS)
    for broken, message in (({"sequencer_staking": "0x12"}, "20-byte address"),
                            ({"sequencer_schedule": {"epoch_length": 4}}, "lacks 'seed_lookback'"),
                            ({"sequencer_schedule": {**entries["sequencer_schedule"], "takeover_seconds": 0}},
                             "takeover_seconds must be a positive integer"),
                            ({"sequencer_schedule": None}, "must be an object")):
        base.extra = {**entries, **broken}
        with pytest.raises(ValueError, match=message):
            SequencerSet.from_config(base)
