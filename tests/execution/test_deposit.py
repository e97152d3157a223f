"""Deposit transactions (0x7E) in the state transition: OP Stack Regolith/Canyon semantics."""

from __future__ import annotations

import pytest

from hyperion.chain.blocks import ZERO_HASH, Header
from hyperion.chain.builder import BlockBuilder
from hyperion.execution.deposit import with_deposits
from hyperion.execution.transaction import InvalidTransaction, apply_transaction
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.receipts import Receipt
from hyperion.primitives.transactions import DepositTransaction
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import PRAGUE

ROLLUP = with_deposits(PRAGUE)
DEPOSITOR = b"\xaa" * 20
RECIPIENT = b"\xbb" * 20
COINBASE = b"\xcc" * 20
REVERTER = b"\xdd" * 20     # PUSH0 PUSH0 REVERT
HALTER = b"\xee" * 20       # INVALID
STORER = b"\xf1" * 20       # SSTORE(0, 1) then STOP
ETHER = 10**18


def _state() -> MemoryState:
    state = MemoryState()
    state.set_account(REVERTER, code=bytes.fromhex("5f5ffd"))
    state.set_account(HALTER, code=bytes.fromhex("fe"))
    state.set_account(STORER, code=bytes.fromhex("6001600055" + "00"))
    return state


def _env(fork=ROLLUP) -> BlockEnv:
    return BlockEnv(fork=fork, chain_id=901, coinbase=COINBASE, number=1, timestamp=10, base_fee=10**9)


def _deposit(to=RECIPIENT, mint=0, value=0, gas=100_000, data=b"", system=False, source=b"\x01") -> DepositTransaction:
    return DepositTransaction(keccak256(source), DEPOSITOR, to, mint, value, gas, system, data)


def test_mint_and_transfer_pay_no_fees():
    state = _state()
    result = apply_transaction(state, _env(), _deposit(mint=3 * ETHER, value=ETHER))
    assert result.success and result.gas_used == 21000 and result.deposit_nonce == 0
    assert state.get_balance(DEPOSITOR) == 2 * ETHER
    assert state.get_balance(RECIPIENT) == ETHER
    assert state.get_balance(COINBASE) == 0
    assert state.get_nonce(DEPOSITOR) == 1


def test_a_reverting_deposit_keeps_the_mint_and_reports_the_gas_it_used():
    state = _state()
    result = apply_transaction(state, _env(), _deposit(to=REVERTER, mint=ETHER, value=5))
    assert not result.success and result.error == "execution reverted"
    assert 21000 < result.gas_used < 100_000
    assert state.get_balance(DEPOSITOR) == ETHER and state.get_balance(REVERTER) == 0
    assert state.get_nonce(DEPOSITOR) == 1


def test_a_halting_deposit_reports_its_whole_gas_limit():
    state = _state()
    result = apply_transaction(state, _env(), _deposit(to=HALTER, mint=ETHER, gas=80_000))
    assert not result.success and result.gas_used == 80_000
    assert state.get_balance(DEPOSITOR) == ETHER and state.get_nonce(DEPOSITOR) == 1


@pytest.mark.parametrize("deposit, reason", [
    (_deposit(mint=ETHER, value=2 * ETHER), "insufficient funds"),
    (_deposit(mint=ETHER, gas=20_000), "intrinsic gas too low"),
    (_deposit(mint=ETHER, system=True), "system transactions"),
])
def test_failed_deposits_keep_the_mint_bump_the_nonce_and_use_all_gas(deposit, reason):
    state = _state()
    result = apply_transaction(state, _env(), deposit)
    assert not result.success and reason in result.error
    assert result.gas_used == deposit.gas and result.deposit_nonce == 0
    assert state.get_balance(DEPOSITOR) == ETHER and state.get_balance(RECIPIENT) == 0
    assert state.get_nonce(DEPOSITOR) == 1


def test_storage_refund_applies_on_success():
    state = _state()
    state.set_account(STORER, code=bytes.fromhex("6001600055" + "5f600055" + "00"), storage={0: 5})
    result = apply_transaction(state, _env(), _deposit(to=STORER))
    assert result.success and result.gas_refunded > 0


def test_a_creating_deposit_deploys_at_the_address_of_its_deposit_nonce():
    state = _state()
    state.set_account(DEPOSITOR, nonce=4)
    init = bytes.fromhex("600160005360016000f3")  # returns the one-byte code 0x01
    result = apply_transaction(state, _env(), _deposit(to=None, gas=200_000, data=init))
    expected = keccak256(rlp.encode([DEPOSITOR, 4]))[12:]
    assert result.success and result.contract_address == expected and result.deposit_nonce == 4
    assert state.get_code(expected) == b"\x01"


def test_only_a_rollup_fork_accepts_deposits():
    with pytest.raises(InvalidTransaction, match="deposit"):
        apply_transaction(_state(), _env(PRAGUE), _deposit(mint=ETHER))


def test_a_deposit_that_does_not_fit_the_block_is_invalid():
    with pytest.raises(InvalidTransaction, match="gas limit reached"):
        apply_transaction(_state(), _env(), _deposit(gas=200_000), block_gas_used=29_900_000)


def _parent() -> Header:
    return Header(parent_hash=ZERO_HASH, ommers_hash=ZERO_HASH, coinbase=COINBASE, state_root=ZERO_HASH,
                  transactions_root=ZERO_HASH, receipts_root=ZERO_HASH, logs_bloom=bytes(256), difficulty=0,
                  number=0, gas_limit=30_000_000, gas_used=0, timestamp=1, extra_data=b"", prev_randao=ZERO_HASH,
                  nonce=bytes(8), base_fee=10**9, withdrawals_root=ZERO_HASH, blob_gas_used=0, excess_blob_gas=0,
                  parent_beacon_block_root=ZERO_HASH, requests_hash=ZERO_HASH)


def test_the_builder_records_deposit_receipts_and_credits_no_base_fee():
    vault = b"\x99" * 20
    state = _state()
    builder = BlockBuilder(state, _parent(), fork=ROLLUP, chain_id=901, timestamp=2, coinbase=COINBASE,
                           base_fee_recipient=vault)
    record = builder.add(_deposit(mint=ETHER, value=1))
    assert record.deposit_nonce == 0 and record.effective_gas_price == 0 and record.status == 1
    assert state.get_balance(vault) == 0
    block = builder.finish()
    assert block.transactions[0].type == 0x7E
    receipt = Receipt(0x7E, True, 21000, (), deposit_nonce=0, deposit_receipt_version=1)
    from hyperion.trie import ordered_trie_root
    assert block.header.receipts_root == ordered_trie_root([receipt.encode()])
