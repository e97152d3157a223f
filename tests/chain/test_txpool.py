"""Transaction pool: nonce ordering, queued gaps, replacement, limits and geth's rejection messages."""

from __future__ import annotations

import dataclasses

import pytest

from hyperion.chain.chain import Chain
from hyperion.chain.errors import TxPoolError
from hyperion.chain.hdwallet import derive_private_key, mnemonic_to_seed
from hyperion.chain.txpool import TxPool
from hyperion.primitives.secp256k1 import private_key_to_address
from hyperion.state.memorydb import MemoryStateDatabase
from hyperion.vm.forks import PRAGUE

from .chain_helpers import CHAIN_ID, GWEI, legacy, make_config, transfer


def _reject(chain, tx, message: str) -> str:
    with pytest.raises(TxPoolError) as info:
        chain.send_raw_transaction(tx.encode())
    assert str(info.value).startswith(message), str(info.value)
    return str(info.value)


def test_gap_is_queued_until_filled(manual_chain):
    chain = manual_chain
    (sender, key), (to, _) = chain.dev_accounts()[:2]
    second = transfer(key, 1, to)
    chain.send_raw_transaction(second.encode())
    assert chain.txpool_status() == {"pending": 0, "queued": 1}
    assert chain.pending_nonce(sender) == 0
    content = chain.txpool_content()
    assert content["queued"][sender][1].hash == second.hash and not content["pending"]
    (empty,) = chain.mine()
    assert empty.transactions == []  # a queued tx is not executable
    first = transfer(key, 0, to)
    chain.send_raw_transaction(first.encode())
    assert chain.txpool_status() == {"pending": 2, "queued": 0}
    assert chain.pending_nonce(sender) == 2
    with chain.state_at("pending") as pending, chain.state_at("latest") as latest:
        assert pending.get_nonce(sender) == 2 and latest.get_nonce(sender) == 0
        assert pending.get_balance(sender) == latest.get_balance(sender)
    assert chain.transaction(first.hash)[1] is None  # pooled, not mined
    (block,) = chain.mine()
    assert [t.hash for t in block.transactions] == [first.hash, second.hash]
    assert chain.txpool_status() == {"pending": 0, "queued": 0}


def test_automine_mines_promoted_transactions(chain):
    (sender, key), (to, _) = chain.dev_accounts()[:2]
    chain.send_raw_transaction(transfer(key, 1, to).encode())
    assert chain.head().number == 0
    chain.send_raw_transaction(transfer(key, 0, to).encode())
    assert chain.head().number == 2  # one block per transaction
    assert [len(chain.block_by_number(n).transactions) for n in (1, 2)] == [1, 1]


def test_block_order_is_by_effective_tip_then_nonce(manual_chain):
    chain = manual_chain
    dev = chain.dev_accounts()
    to = dev[9][0]
    low = transfer(dev[0][1], 0, to, tip=1 * GWEI)
    low_next = transfer(dev[0][1], 1, to, tip=50 * GWEI, fee_cap=100 * GWEI)
    high = transfer(dev[1][1], 0, to, tip=5 * GWEI)
    capped = transfer(dev[2][1], 0, to, tip=3 * GWEI, fee_cap=3_500_000_000)  # effective tip 2.625 gwei
    old_style = legacy(dev[3][1], 0, to, gas_price=4 * GWEI)
    for tx in (low, low_next, high, capped, old_style):
        chain.send_raw_transaction(tx.encode())
    (block,) = chain.mine()
    assert [t.hash for t in block.transactions] == [high.hash, old_style.hash, capped.hash, low.hash, low_next.hash]


def test_replacement_needs_ten_percent_bump(manual_chain):
    chain = manual_chain
    (sender, key), (to, _) = chain.dev_accounts()[:2]
    original = transfer(key, 0, to, tip=2 * GWEI, fee_cap=10 * GWEI)
    chain.send_raw_transaction(original.encode())
    _reject(chain, transfer(key, 0, to, 2, tip=int(2.1 * GWEI), fee_cap=11 * GWEI), "replacement transaction underpriced")
    _reject(chain, transfer(key, 0, to, 2, tip=3 * GWEI, fee_cap=int(10.5 * GWEI)), "replacement transaction underpriced")
    replacement = transfer(key, 0, to, 2, tip=int(2.2 * GWEI), fee_cap=11 * GWEI)
    chain.send_raw_transaction(replacement.encode())
    assert chain.transaction(original.hash) is None
    assert chain.txpool_status() == {"pending": 1, "queued": 0}
    (block,) = chain.mine()
    assert [t.hash for t in block.transactions] == [replacement.hash]


def test_rejection_messages(chain):
    dev = chain.dev_accounts()
    (sender, key), (to, _) = dev[:2]
    chain.send_raw_transaction(transfer(key, 0, to).encode())
    _reject(chain, transfer(key, 0, to, 2), "nonce too low")
    known = transfer(key, 5, to)
    chain.send_raw_transaction(known.encode())
    _reject(chain, known, "already known")
    poor_key = derive_private_key(mnemonic_to_seed("abandon " * 11 + "about"), "m/44'/60'/0'/0/0")
    _reject(chain, transfer(poor_key, 0, to), "insufficient funds for gas * price + value")
    _reject(chain, transfer(dev[2][1], 0, to, 10**30), "insufficient funds for gas * price + value")
    _reject(chain, transfer(key, 1, to, gas=20_000), "intrinsic gas too low")
    _reject(chain, transfer(key, 1, to, tip=1, fee_cap=10), "max fee per gas less than block base fee")
    _reject(chain, legacy(key, 1, to, gas_price=10), "max fee per gas less than block base fee")
    _reject(chain, transfer(key, 1, to, gas=5_000_000, data=b"\x01" * (130 * 1024)), "oversized data")
    _reject(chain, transfer(key, 1, to, chain_id=1), "invalid chain id")
    _reject(chain, legacy(key, 1, to, chain_id=5), "invalid chain id")
    _reject(chain, transfer(key, 1, to, gas=30_000_001), "exceeds block gas limit")
    bad = dataclasses.replace(transfer(key, 1, to), s=2**256 - 5)
    _reject(chain, bad, "invalid sender")
    with pytest.raises(TxPoolError, match="^rlp"):
        chain.send_raw_transaction(b"\x02\xc0")
    # unprotected (pre-EIP-155) legacy transactions are accepted
    chain.send_raw_transaction(legacy(dev[3][1], 0, to, chain_id=None).encode())


def test_min_tip_and_full_pool():
    config = make_config(automine=False, min_priority_fee=GWEI, txpool_max_slots=2)
    chain = Chain(config, MemoryStateDatabase())
    dev = chain.dev_accounts()
    to = dev[9][0]
    _reject(chain, transfer(dev[0][1], 0, to, tip=GWEI // 2), "transaction underpriced")
    chain.send_raw_transaction(transfer(dev[0][1], 0, to, tip=2 * GWEI).encode())
    cheap_queued = transfer(dev[1][1], 3, to, tip=2 * GWEI, fee_cap=3 * GWEI)
    chain.send_raw_transaction(cheap_queued.encode())
    # a full pool evicts the cheapest (queued first) for a better-paying transaction
    chain.send_raw_transaction(transfer(dev[2][1], 0, to, tip=3 * GWEI, fee_cap=20 * GWEI).encode())
    assert chain.transaction(cheap_queued.hash) is None
    assert chain.txpool_status() == {"pending": 2, "queued": 0}
    _reject(chain, transfer(dev[3][1], 0, to, tip=GWEI, fee_cap=2 * GWEI), "transaction underpriced")
    chain.close()


def test_queued_transactions_expire_and_unaffordable_ones_are_dropped():
    now = [1000.0]
    pool = TxPool(PRAGUE, CHAIN_ID, queued_lifetime=60, clock=lambda: now[0])
    key = bytes(31) + b"\x07"
    sender = private_key_to_address(key)
    to = b"\x09" * 20
    ready = transfer(key, 0, to)
    gapped = transfer(key, 2, to)
    for tx in (ready, gapped):
        pool.add(tx, state_nonce=0, balance=10**18, gas_limit=30_000_000, base_fee=GWEI)
    assert pool.status() == {"pending": 1, "queued": 1}
    now[0] += 61
    dropped = pool.reset(lambda a: 0, lambda a: 10**18)
    assert [t.hash for t in dropped] == [gapped.hash]
    dropped = pool.reset(lambda a: 0, lambda a: 0)  # the sender can no longer pay
    assert [t.hash for t in dropped] == [ready.hash] and len(pool) == 0
    assert sender not in pool.content()[0]


def test_account_queue_limit():
    pool = TxPool(PRAGUE, CHAIN_ID, max_queued_per_account=2)
    key = bytes(31) + b"\x08"
    for nonce in (5, 6):
        pool.add(transfer(key, nonce, b"\x01" * 20), state_nonce=0, balance=10**18, gas_limit=30_000_000, base_fee=1)
    with pytest.raises(TxPoolError, match="^account limit exceeded"):
        pool.add(transfer(key, 7, b"\x01" * 20), state_nonce=0, balance=10**18, gas_limit=30_000_000, base_fee=1)


def test_invalid_transaction_at_mining_is_dropped(manual_chain):
    chain = manual_chain
    dev = chain.dev_accounts()
    (sender, key), (to, _) = dev[:2]
    # both pass admission (each is affordable alone), the second fails once the first has spent the balance
    chain.set_balance(sender, 10**18)
    spend = transfer(key, 0, to, 10**18 - 21000 * 10 * GWEI)
    too_much = transfer(key, 1, to, 10**16)
    chain.send_raw_transaction(spend.encode())
    chain.send_raw_transaction(too_much.encode())
    (block,) = chain.mine()
    assert [t.hash for t in block.transactions] == [spend.hash]
    assert chain.transaction(too_much.hash) is None


def test_block_order_stops_a_sender_at_a_tx_below_the_base_fee():
    pool = TxPool(PRAGUE, CHAIN_ID)
    key, other_key = bytes(31) + b"\x0a", bytes(31) + b"\x0b"
    cheap_middle = [transfer(key, 0, b"\x01" * 20, fee_cap=10 * GWEI), transfer(key, 1, b"\x01" * 20, fee_cap=2 * GWEI),
                    transfer(key, 2, b"\x01" * 20, fee_cap=10 * GWEI)]
    first_come = transfer(other_key, 0, b"\x01" * 20, fee_cap=10 * GWEI)
    for tx in cheap_middle + [first_come]:
        pool.add(tx, state_nonce=0, balance=10**18, gas_limit=30_000_000, base_fee=1)
    order = [tx.hash for tx in pool.ordered_for_block(3 * GWEI)]
    # equal tips: arrival order; nonce 1 is below the base fee, so nonce 2 must wait too
    assert order == [cheap_middle[0].hash, first_come.hash]


def test_queued_budget_keeps_room_for_executable_transactions():
    """Future-nonce transactions get at most ``max_queued`` of the slots; executable ones always find room."""
    pool = TxPool(PRAGUE, CHAIN_ID, max_slots=6, max_queued=3, max_queued_per_account=2)
    keys = [bytes(31) + bytes([0x20 + i]) for i in range(8)]
    add = lambda tx, nonce=0: pool.add(tx, state_nonce=nonce, balance=10**18, gas_limit=30_000_000, base_fee=1)  # noqa: E731
    add(transfer(keys[0], 1, b"\x01" * 20))
    add(transfer(keys[0], 2, b"\x01" * 20))
    with pytest.raises(TxPoolError, match="^account limit exceeded"):
        add(transfer(keys[0], 3, b"\x01" * 20))
    add(transfer(keys[1], 1, b"\x01" * 20))
    assert pool.status() == {"pending": 0, "queued": 3}
    with pytest.raises(TxPoolError, match="^txpool is full: the pool holds 3 queued"):
        add(transfer(keys[2], 1, b"\x01" * 20))
    # a better-paying queued transaction displaces the cheapest queued one
    add(transfer(keys[2], 1, b"\x01" * 20, fee_cap=20 * GWEI))
    assert pool.status() == {"pending": 0, "queued": 3}
    for key in keys[3:6]:
        add(transfer(key, 0, b"\x01" * 20))
    assert pool.status() == {"pending": 3, "queued": 3} and len(pool) == 6
    # full: an executable transaction takes a queued one's slot, whatever it pays
    add(transfer(keys[6], 0, b"\x01" * 20, tip=1, fee_cap=1))
    assert pool.status() == {"pending": 4, "queued": 2}
    with pytest.raises(TxPoolError, match="^transaction underpriced"):
        add(transfer(keys[7], 5, b"\x01" * 20, fee_cap=GWEI))
