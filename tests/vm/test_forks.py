"""Forks as data: names, order, what each fork switches on, blob schedules,
blob schedules from geth configs."""

from __future__ import annotations

import dataclasses

import pytest

from hyperion.vm.forks import (
    BERLIN,
    BPO1,
    BPO2,
    BYZANTIUM,
    CANCUN,
    CONSTANTINOPLE,
    FORKS,
    FRONTIER,
    GAS_PER_BLOB,
    HOMESTEAD,
    ISTANBUL,
    LONDON,
    OSAKA,
    PARIS,
    PETERSBURG,
    PRAGUE,
    SHANGHAI,
    SPURIOUS_DRAGON,
    TANGERINE_WHISTLE,
    UnknownFork,
    apply_blob_schedule,
    get_fork,
)
from hyperion.vm.opcodes import table_for
from hyperion.vm.precompiles import precompile_address, precompiles_for

MAINNET_ORDER = [
    "Frontier", "Homestead", "TangerineWhistle", "SpuriousDragon", "Byzantium", "Constantinople", "Petersburg",
    "Istanbul", "MuirGlacier", "Berlin", "London", "ArrowGlacier", "GrayGlacier", "Paris", "Shanghai", "Cancun",
    "Prague", "Osaka", "BPO1", "BPO2", "BPO3", "BPO4", "BPO5",
]


def test_every_fork_in_mainnet_order():
    assert list(FORKS) == MAINNET_ORDER
    forks = list(FORKS.values())
    assert all(a < b for a, b in zip(forks, forks[1:]))
    assert [f.order for f in forks] == list(range(len(forks)))


@pytest.mark.parametrize("alias,name", [
    ("ConstantinopleFix", "Petersburg"), ("EIP150", "TangerineWhistle"), ("EIP158", "SpuriousDragon"),
    ("Merge", "Paris"), ("tangerine_whistle", "TangerineWhistle"), ("spurious dragon", "SpuriousDragon"),
    ("OSAKA", "Osaka"), ("bpo2", "BPO2"),
])
def test_get_fork_accepts_aliases_and_spellings(alias, name):
    assert get_fork(alias).name == name


def test_unknown_fork_names_are_refused():
    with pytest.raises(UnknownFork, match="Amsterdam"):
        get_fork("Amsterdam")
    with pytest.raises(UnknownFork):
        get_fork("CancunToPragueAtTime15k")


def test_forks_are_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        PRAGUE.has_set_code = False  # type: ignore[misc]
    assert {PRAGUE: 1}[get_fork("prague")] == 1
    assert len({*FORKS.values()}) == len(FORKS)


def _opcodes(fork) -> set[str]:
    return {spec.name for spec in table_for(fork) if spec is not None}


@pytest.mark.parametrize("fork,added", [
    (HOMESTEAD, {"DELEGATECALL"}),
    (BYZANTIUM, {"REVERT", "RETURNDATASIZE", "RETURNDATACOPY", "STATICCALL"}),
    (CONSTANTINOPLE, {"SHL", "SHR", "SAR", "CREATE2", "EXTCODEHASH"}),
    (ISTANBUL, {"CHAINID", "SELFBALANCE"}),
    (LONDON, {"BASEFEE"}),
    (SHANGHAI, {"PUSH0"}),
    (CANCUN, {"TLOAD", "TSTORE", "MCOPY", "BLOBHASH", "BLOBBASEFEE"}),
    (OSAKA, {"CLZ"}),
])
def test_each_fork_adds_its_opcodes(fork, added):
    previous = list(FORKS.values())[fork.order - 1]
    assert _opcodes(fork) - _opcodes(previous) == added


def test_frontier_instruction_set_and_0x44():
    names = _opcodes(FRONTIER)
    assert len(names) == 130 and "DELEGATECALL" not in names and "DIFFICULTY" in names
    assert "PREVRANDAO" in _opcodes(PARIS) and "DIFFICULTY" not in _opcodes(PARIS)


@pytest.mark.parametrize("fork,sload,balance,extcodesize,selfdestruct", [
    (FRONTIER, 50, 20, 20, 0),
    (TANGERINE_WHISTLE, 200, 400, 700, 5000),
    (ISTANBUL, 800, 700, 700, 5000),
    (BERLIN, 0, 0, 0, 5000),  # EIP-2929: access priced by the handlers
])
def test_static_gas_follows_the_fork(fork, sload, balance, extcodesize, selfdestruct):
    table = table_for(fork)
    assert (table[0x54].gas, table[0x31].gas, table[0x3B].gas, table[0xFF].gas) == (
        sload, balance, extcodesize, selfdestruct)


def test_tables_and_handlers_are_built_once_per_fork():
    assert table_for(PRAGUE) is table_for(PRAGUE)
    # variants: SSTORE differs between Petersburg and Constantinople (EIP-1283), EXP per EIP-160
    assert table_for(PETERSBURG)[0x55].handler is not table_for(CONSTANTINOPLE)[0x55].handler
    assert table_for(TANGERINE_WHISTLE)[0x0A].handler is not table_for(SPURIOUS_DRAGON)[0x0A].handler


@pytest.mark.parametrize("fork,numbers", [
    (FRONTIER, [1, 2, 3, 4]),
    (BYZANTIUM, [1, 2, 3, 4, 5, 6, 7, 8]),
    (ISTANBUL, list(range(1, 10))),
    (CANCUN, list(range(1, 11))),
    (PRAGUE, list(range(1, 18))),
    (OSAKA, list(range(1, 18)) + [0x100]),
])
def test_precompile_sets(fork, numbers):
    assert sorted(int.from_bytes(a, "big") for a in precompiles_for(fork)) == numbers


def test_bn254_prices_drop_in_istanbul():
    pairing = precompile_address(8)
    two_pairs = bytes(2 * 192)
    assert precompiles_for(BYZANTIUM)[pairing].gas(two_pairs) == 100000 + 2 * 80000
    assert precompiles_for(ISTANBUL)[pairing].gas(two_pairs) == 45000 + 2 * 34000
    assert precompiles_for(BYZANTIUM)[precompile_address(6)].gas(b"") == 500
    assert precompiles_for(ISTANBUL)[precompile_address(7)].gas(b"") == 6000


def test_refund_and_fee_rules_change_with_london():
    assert (BERLIN.max_refund_quotient, BERLIN.sstore_clears_refund, BERLIN.selfdestruct_refund) == (2, 15000, 24000)
    assert (LONDON.max_refund_quotient, LONDON.sstore_clears_refund, LONDON.selfdestruct_refund) == (5, 4800, 0)
    assert not BERLIN.has_base_fee and LONDON.has_base_fee


def test_blob_schedules():
    assert (CANCUN.target_blobs_per_block, CANCUN.max_blobs_per_block) == (3, 6)
    assert (PRAGUE.target_blobs_per_block, PRAGUE.max_blobs_per_block) == (6, 9)
    assert (BPO1.target_blobs_per_block, BPO1.max_blobs_per_block, BPO1.blob_base_fee_update_fraction) == (
        10, 15, 8346193)
    assert (BPO2.target_blobs_per_block, BPO2.max_blobs_per_block) == (14, 21)
    custom = PRAGUE.with_blob_schedule(12, 16, 1_000_000)
    assert custom.name == "Prague" and custom.max_blob_gas_per_block == 16 * GAS_PER_BLOB
    assert custom != PRAGUE and hash(custom) == hash(PRAGUE)
    assert OSAKA.blob_count_limit_per_tx == 6 and PRAGUE.blob_count_limit_per_tx == 9
    with pytest.raises(ValueError, match="no blobs"):
        SHANGHAI.with_blob_schedule(1, 2, 3)
    with pytest.raises(ValueError, match="above max"):
        PRAGUE.with_blob_schedule(10, 9, 3)


def test_apply_blob_schedule_reads_geth_and_fixture_spellings():
    cancun, osaka = apply_blob_schedule(
        [CANCUN, OSAKA],
        {"cancun": {"target": 4, "max": 8, "baseFeeUpdateFraction": 5},
         "Osaka": {"target": "0x0a", "max": "0x0f", "baseFeeUpdateFraction": "0x7f5a51"}},
    )
    assert (cancun.target_blobs_per_block, cancun.max_blobs_per_block, cancun.blob_base_fee_update_fraction) == (4, 8, 5)
    assert (osaka.target_blobs_per_block, osaka.max_blobs_per_block, osaka.blob_base_fee_update_fraction) == (
        10, 15, 8346193)
    with pytest.raises(ValueError, match="missing max"):
        apply_blob_schedule([CANCUN], {"cancun": {"target": 1, "baseFeeUpdateFraction": 1}})
    with pytest.raises(ValueError, match="unknown fork"):
        apply_blob_schedule([CANCUN], {"amsterdam": {}})


def test_excess_blob_gas_and_the_eip7918_reserve_price():
    used = 9 * GAS_PER_BLOB
    # Prague: plain EIP-4844 rule
    assert PRAGUE.excess_blob_gas(0, used, 10**12) == 3 * GAS_PER_BLOB
    assert PRAGUE.excess_blob_gas(0, GAS_PER_BLOB, 7) == 0
    # Osaka with a cheap blob price and a high base fee: excess grows by used * (max - target) / max
    assert OSAKA.excess_blob_gas(0, used, 10**12) == used * 3 // 9
    # Osaka when blobs are not cheap relative to execution: the EIP-4844 rule
    assert OSAKA.excess_blob_gas(0, used, 1) == 3 * GAS_PER_BLOB


def test_a_variant_with_other_extras_gets_its_own_tables_even_under_the_same_name():
    from hyperion.vm.frame import fork_tables
    from hyperion.vm.precompiles import Precompile

    extra_precompile = Precompile("ECHO", lambda data: 1, lambda data: data)
    variant = dataclasses.replace(PRAGUE, extra={"precompiles": {b"\xee" * 20: extra_precompile}})
    assert variant == PRAGUE  # equality ignores extra ...
    assert b"\xee" * 20 in fork_tables(variant)[0]  # ... but the caches do not
    assert b"\xee" * 20 not in fork_tables(PRAGUE)[0]
    assert table_for(variant) is not table_for(PRAGUE)
