"""Base fee evolution, fee suggestions and history, and the dev methods (time, snapshots, state edits)."""

from __future__ import annotations

import time

import pytest

from hyperion.chain.chain import Chain
from hyperion.chain.errors import ChainError
from hyperion.chain.fees import next_base_fee
from hyperion.state.memorydb import MemoryStateDatabase

from .chain_helpers import GWEI, make_config, transfer

# an infinite loop that burns all gas it is given: JUMPDEST PUSH1 0 JUMP
BURNER = bytes.fromhex("5b600056")


def test_next_base_fee_rule():
    assert next_base_fee(GWEI, 15_000_000, 30_000_000) == GWEI
    assert next_base_fee(GWEI, 30_000_000, 30_000_000) == GWEI * 9 // 8
    assert next_base_fee(GWEI, 0, 30_000_000) == GWEI * 7 // 8
    assert next_base_fee(GWEI, 22_500_000, 30_000_000) == GWEI + GWEI // 16
    assert next_base_fee(7, 15_000_001, 30_000_000) == 8  # the increase is at least 1 wei


def test_base_fee_follows_block_fullness():
    chain = Chain(make_config(automine=False, gas_limit=300_000), MemoryStateDatabase())
    dev = chain.dev_accounts()
    chain.set_code(b"\x99" * 20, BURNER)
    fees = [chain.head().header.base_fee]
    for _ in range(2):
        chain.mine()
        fees.append(chain.head().header.base_fee)
    assert fees == [GWEI, GWEI * 7 // 8, GWEI * 7 // 8 * 7 // 8]
    # a block using all its gas raises the next base fee by 1/8
    for i in range(2):
        chain.send_raw_transaction(transfer(dev[i][1], 0, b"\x99" * 20, 0, gas=150_000, fee_cap=5 * GWEI).encode())
    (full,) = chain.mine()
    assert full.header.gas_used == 300_000
    (after,) = chain.mine()
    assert after.header.base_fee == full.header.base_fee + full.header.base_fee // 8
    assert chain.gas_price() == next_base_fee(after.header.base_fee, 0, 300_000) + GWEI
    assert chain.max_priority_fee() == GWEI
    history = chain.fee_history(3, "latest", [10, 90])
    assert history["oldest_block"] == after.number - 2
    assert len(history["base_fee_per_gas"]) == 4 and history["base_fee_per_gas"][-1] == chain.next_base_fee()
    assert history["gas_used_ratio"][1] == 1.0
    assert history["reward"][1] == [GWEI, GWEI]
    with pytest.raises(ChainError):
        chain.fee_history(2, "latest", [50, 10])
    chain.close()


def test_timestamps_increase_and_follow_time_controls(manual_chain):
    chain = manual_chain
    first = chain.mine(3)
    stamps = [b.header.timestamp for b in first]
    assert stamps == sorted(set(stamps)) and stamps[0] > chain.block_by_number(0).header.timestamp
    target = stamps[-1] + 1000
    chain.set_next_block_timestamp(target)
    (block,) = chain.mine()
    assert block.header.timestamp == target
    with pytest.raises(ChainError):
        chain.set_next_block_timestamp(target)
    chain.increase_time(3600)
    (later,) = chain.mine()
    assert later.header.timestamp >= target + 3600
    (explicit,) = chain.mine(1, timestamp=later.header.timestamp + 5)
    assert explicit.header.timestamp == later.header.timestamp + 5
    assert chain.head().header.timestamp <= int(time.time()) + chain._time_offset + 1


def test_snapshot_and_revert_roll_back_blocks_and_state(chain):
    dev = chain.dev_accounts()
    (sender, key), (to, _) = dev[:2]
    chain.send_raw_transaction(transfer(key, 0, to, 10**18).encode())
    snapshot = chain.snapshot()
    head_before = chain.head()
    chain.set_balance(b"\x12" * 20, 5)
    tx = transfer(key, 1, to, 10**18)
    chain.send_raw_transaction(tx.encode())
    chain.mine(2)
    assert chain.head().number == head_before.number + 3
    assert chain.revert(snapshot) is True
    assert chain.head().hash == head_before.hash
    assert chain.receipt(tx.hash) is None and chain.block_by_number(head_before.number + 1) is None
    with chain.state_at("latest") as state:
        assert state.get_nonce(sender) == 1
        assert state.get_balance(b"\x12" * 20) == 0
    assert chain.revert(snapshot) is False  # used up
    # the chain continues from the reverted head
    chain.send_raw_transaction(tx.encode())
    assert chain.head().number == head_before.number + 1
    assert chain.head().header.parent_hash == head_before.hash


def test_state_edits_and_impersonation(chain):
    who = b"\xab" * 20
    chain.set_balance(who, 10**20)
    chain.set_nonce(who, 7)
    chain.set_code(b"\xcd" * 20, b"\x00")
    chain.set_storage_at(b"\xcd" * 20, 1, 42)
    with chain.state_at("latest") as state:
        assert (state.get_balance(who), state.get_nonce(who)) == (10**20, 7)
        assert state.get_code(b"\xcd" * 20) == b"\x00" and state.get_storage(b"\xcd" * 20, 1) == 42
    with pytest.raises(ChainError):
        chain.send_transaction({"from": who, "to": b"\x01" * 20, "value": 1})
    chain.impersonate(who)
    tx_hash = chain.send_transaction({"from": who, "to": b"\x01" * 20, "value": 1})
    receipt = chain.receipt(tx_hash)
    assert receipt.status == 1 and receipt.sender == who
    assert chain.transaction(tx_hash)[0].nonce == 7
    # an impersonated contract can send too (EIP-3607 is off on the dev chain), keeping its code
    chain.set_code(who, b"\x00")
    receipt = chain.receipt(chain.send_transaction({"from": who, "to": b"\x01" * 20, "value": 1}))
    assert receipt.status == 1
    with chain.state_at("latest") as state:
        assert state.get_code(who) == b"\x00" and state.get_nonce(who) == 9
    chain.stop_impersonating(who)
    with pytest.raises(ChainError):
        chain.send_transaction({"from": who, "to": b"\x01" * 20})
    with pytest.raises(ChainError):
        chain.set_balance(b"\x01", 1)


def test_automine_toggle_and_interval_mining():
    chain = Chain(make_config(), MemoryStateDatabase())
    dev = chain.dev_accounts()
    chain.set_automine(False)
    chain.send_raw_transaction(transfer(dev[0][1], 0, dev[1][0]).encode())
    assert chain.head().number == 0
    chain.set_automine(True)
    assert chain.head().number == 1
    chain.set_block_time(0.05)
    deadline = time.time() + 60  # a wait for three 50 ms ticks: long only on a starved machine
    while chain.head().number < 4 and time.time() < deadline:
        time.sleep(0.02)
    assert chain.head().number >= 4 and not chain.automine
    chain.set_block_time(None)
    chain.close()
