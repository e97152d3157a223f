"""Fork schedules from fixture networks and geth genesis configs; consensus arithmetic."""

from __future__ import annotations

import pytest

from hyperion.chain import consensus
from hyperion.chain.blocks import EMPTY_OMMERS_HASH, Header
from hyperion.chain.schedule import BlobParams, ForkSchedule, UnsupportedFork, canonical_fork_name
from hyperion.vm.forks import CANCUN, PRAGUE


def test_single_fork_network_activates_everything_before_it():
    schedule = ForkSchedule.from_network("Cancun")
    assert schedule.fork_name_at(0, 0) == "Cancun"
    assert schedule.fork_at(5, 100) == CANCUN
    assert schedule.is_active("London", 0, 0) and schedule.is_active("Shanghai", 0, 0)
    assert not schedule.is_active("Prague", 10**9, 10**12)
    assert schedule.terminal_total_difficulty == 0


def test_time_transition():
    schedule = ForkSchedule.from_network("CancunToPragueAtTime15k")
    assert schedule.fork_name_at(1, 14_999) == "Cancun"
    assert schedule.fork_name_at(1, 15_000) == "Prague"
    assert schedule.fork_at(2, 15_001) == PRAGUE


def test_block_and_difficulty_transitions():
    schedule = ForkSchedule.from_network("BerlinToLondonAt5")
    assert schedule.fork_name_at(4, 10**9) == "Berlin" and schedule.fork_name_at(5, 0) == "London"
    assert schedule.terminal_total_difficulty is None
    merge = ForkSchedule.from_network("ArrowGlacierToParisAtDiffC0000")
    assert merge.terminal_total_difficulty == 0xC0000
    assert merge.fork_name_at(100, 0) == "ArrowGlacier"
    assert merge.fork_name_at(100, 0, merged=True) == "Paris"
    with pytest.raises(UnsupportedFork):
        ForkSchedule.from_network("PragueToCancunAtTime15k")
    with pytest.raises(UnsupportedFork):
        ForkSchedule.from_network("CancunToPragueAt5")  # Prague activates by time, not block
    with pytest.raises(UnsupportedFork):
        ForkSchedule.from_network("NoSuchFork")


def test_aliases():
    assert canonical_fork_name("EIP158") == "SpuriousDragon"
    assert canonical_fork_name("ConstantinopleFix") == "Petersburg"
    assert canonical_fork_name("merge") == "Paris"
    assert canonical_fork_name("bpo2") == "BPO2"


def test_blob_schedule_reaches_the_vm_fork():
    schedule = ForkSchedule.from_network("PragueToOsakaAtTime15k",
                                         {"Prague": BlobParams(4, 8, 1234567)})
    fork = schedule.evm_fork("Prague")
    assert fork.name == "Prague"
    assert (fork.target_blob_gas_per_block, fork.max_blob_gas_per_block, fork.blob_base_fee_update_fraction) == (
        4 * 2**17, 8 * 2**17, 1234567)
    assert schedule.blob_params("Osaka") == BlobParams(6, 9, 5007716)  # mainnet's default
    assert schedule.blob_params("Shanghai") is None
    assert ForkSchedule.from_network("Cancun").evm_fork("Cancun") is CANCUN  # unchanged parameters: same object
    with pytest.raises(UnsupportedFork):
        ForkSchedule.from_network("Cancun", {"Cancun": BlobParams(7, 6, 1)}).evm_fork("Cancun")  # target > max


def test_geth_genesis_config():
    config = {
        "chainId": 7, "homesteadBlock": 0, "eip150Block": 3, "eip155Block": 6, "eip158Block": 6,
        "byzantiumBlock": 9, "londonBlock": "0x1b", "mergeNetsplitBlock": 36, "terminalTotalDifficulty": 4732352,
        "shanghaiTime": 390, "cancunTime": 420, "pragueTime": 450, "osakaTime": 480, "bpo1Time": 510,
        "blobSchedule": {"cancun": {"target": 3, "max": 6, "baseFeeUpdateFraction": 3338477},
                         "bpo1": {"target": 10, "max": 15, "baseFeeUpdateFraction": 8346193}},
    }
    schedule = ForkSchedule.from_genesis_config(config)
    assert schedule.fork_name_at(0, 0) == "Homestead"
    assert schedule.fork_name_at(8, 0) == "SpuriousDragon"
    assert schedule.fork_name_at(27, 0) == "London"
    assert schedule.fork_name_at(36, 0) == "Paris"
    assert schedule.fork_name_at(40, 419) == "Shanghai"
    assert schedule.fork_name_at(40, 510) == "BPO1"
    assert schedule.terminal_total_difficulty == 4732352
    assert schedule.blob_params("BPO1") == BlobParams(10, 15, 8346193)
    # as in geth, Petersburg comes with Constantinople when the config names no Petersburg block
    assert ForkSchedule.from_genesis_config({"constantinopleBlock": 7}).fork_name_at(7, 0) == "Petersburg"
    with pytest.raises(UnsupportedFork):
        ForkSchedule.from_genesis_config({"londonBlock": "soon"})
    with pytest.raises(UnsupportedFork):
        ForkSchedule.from_genesis_config({"blobSchedule": {"cancun": {"target": 3}}})


def _header(**fields) -> Header:
    base = dict(parent_hash=b"\0" * 32, ommers_hash=EMPTY_OMMERS_HASH, coinbase=b"\0" * 20, state_root=b"\0" * 32,
                transactions_root=b"\0" * 32, receipts_root=b"\0" * 32, logs_bloom=b"\0" * 256, difficulty=0,
                number=1, gas_limit=30_000_000, gas_used=0, timestamp=1, extra_data=b"", prev_randao=b"\0" * 32,
                nonce=b"\0" * 8)
    base.update(fields)
    return Header(**base)


def test_base_fee_rule():
    assert consensus.base_fee_after(1000, 15_000_000, 30_000_000) == 1000
    assert consensus.base_fee_after(1000, 30_000_000, 30_000_000) == 1125
    assert consensus.base_fee_after(1000, 0, 30_000_000) == 875
    assert consensus.base_fee_after(7, 15_000_001, 30_000_000) == 8  # grows by at least one
    rules = consensus.block_rules(ForkSchedule.from_network("BerlinToLondonAt5"), 5, 0)
    assert rules.london_transition
    assert consensus.expected_base_fee(_header(number=4), rules) == consensus.INITIAL_BASE_FEE


def test_excess_blob_gas_with_reserve_price():
    prague = ForkSchedule.from_network("Prague").evm_fork("Prague")
    osaka = ForkSchedule.from_network("Osaka").evm_fork("Osaka")
    parent = _header(excess_blob_gas=0, blob_gas_used=9 * 2**17, base_fee=7)
    assert consensus.excess_blob_gas_after(parent, prague) == 3 * 2**17
    assert consensus.excess_blob_gas_after(parent, osaka) == 3 * 2**17
    # EIP-7918: with an execution base fee high enough the excess grows by used * (max - target) / max
    expensive = _header(excess_blob_gas=0, blob_gas_used=9 * 2**17, base_fee=10**12)
    assert consensus.excess_blob_gas_after(expensive, osaka) == 9 * 2**17 * 3 // 9
    assert consensus.excess_blob_gas_after(expensive, prague) == 3 * 2**17
    assert consensus.excess_blob_gas_after(_header(), osaka) == 0  # a pre-Cancun parent


def test_difficulty_formulas():
    parent = _header(number=999, difficulty=2**20, timestamp=1000)
    frontier = consensus.block_rules(ForkSchedule.from_network("Frontier"), 1000, 1005)
    homestead = consensus.block_rules(ForkSchedule.from_network("Homestead"), 1000, 1005)
    byzantium = consensus.block_rules(ForkSchedule.from_network("Byzantium"), 1000, 1005)
    step = 2**20 // 2048
    assert consensus.expected_difficulty(parent, 1000, 1005, frontier) == 2**20 + step
    assert consensus.expected_difficulty(parent, 1000, 1020, frontier) == 2**20 - step
    assert consensus.expected_difficulty(parent, 1000, 1025, homestead) == 2**20 - step
    assert consensus.expected_difficulty(parent, 1000, 1005, byzantium) == 2**20 + step
    with_uncles = _header(number=999, difficulty=2**20, timestamp=1000, ommers_hash=b"\1" * 32)
    assert consensus.expected_difficulty(with_uncles, 1000, 1005, byzantium) == 2**20 + 2 * step
    # the bomb: Frontier at block 300000 adds 2**(3 - 2); Byzantium delays it by three million blocks
    old = _header(number=299_999, difficulty=2**20, timestamp=1000)
    assert consensus.expected_difficulty(old, 300_000, 1005, frontier) == 2**20 + step + 2
    assert byzantium.fork.difficulty_bomb_delay == 3_000_000
    assert consensus.expected_difficulty(_header(difficulty=1), 2, 100, homestead) == consensus.MIN_DIFFICULTY


def test_rewards_per_fork():
    def reward(network: str) -> int:
        return consensus.block_rules(ForkSchedule.from_network(network), 10, 10).block_reward

    assert reward("Frontier") == 5 * 10**18
    assert reward("Byzantium") == 3 * 10**18
    assert reward("ConstantinopleFix") == 2 * 10**18
    assert reward("Cancun") == 0
    miner, uncle = b"\1" * 20, b"\2" * 20
    payouts = consensus.ommer_rewards(_header(number=10, coinbase=miner), [_header(number=8, coinbase=uncle)],
                                      2 * 10**18)
    assert payouts == [(miner, 2 * 10**18 + 2 * 10**18 // 32), (uncle, 6 * 2 * 10**18 // 8)]
