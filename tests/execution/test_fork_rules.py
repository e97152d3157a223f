"""Transaction-level rules that differ between forks: signatures (EIP-2, EIP-155),
intrinsic gas (EIP-2, EIP-2028), fee payment before and after London, empty
accounts before and after EIP-161, Frontier's code deposit, Osaka's caps."""

from __future__ import annotations

import dataclasses

import pytest

from hyperion.execution.intrinsic import InvalidTransactionError, intrinsic_gas, validate_transaction_static
from hyperion.execution.transaction import InvalidTransaction, apply_transaction, recover_sender
from hyperion.primitives.secp256k1 import SECP256K1_N, private_key_to_address
from hyperion.primitives.transactions import BlobTransaction, FeeMarketTransaction, LegacyTransaction
from hyperion.state.memory import MemoryState
from hyperion.vm.environment import BlockEnv
from hyperion.vm.forks import (
    BERLIN,
    BYZANTIUM,
    FRONTIER,
    HOMESTEAD,
    ISTANBUL,
    LONDON,
    OSAKA,
    PARIS,
    PRAGUE,
    SPURIOUS_DRAGON,
    TANGERINE_WHISTLE,
)

KEY = bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8")
SENDER = private_key_to_address(KEY)
COINBASE = b"\xc0" * 20
CONTRACT = b"\xcc" * 20
EMPTY = b"\xee" * 20
RIPEMD160 = (3).to_bytes(20, "big")


def _legacy(**changes) -> LegacyTransaction:
    fields = dict(nonce=0, gas_price=10, gas=100_000, to=CONTRACT, value=0, data=b"")
    fields.update(changes)
    chain_id = fields.pop("chain_id", None)
    return LegacyTransaction(**fields).signed(KEY, chain_id=chain_id)


def _state(**accounts) -> MemoryState:
    state = MemoryState()
    state.set_account(SENDER, balance=10**18)
    for address, code in accounts.items():
        state.set_account(bytes.fromhex(address), code=code)
    return state


def _apply(state, fork, tx, **env):
    return apply_transaction(state, BlockEnv(fork=fork, coinbase=COINBASE, **env), tx)


# -- signatures ---------------------------------------------------------------------


def _high_s(tx: LegacyTransaction) -> LegacyTransaction:
    v = 27 + (1 - (tx.v - 27))  # flipping s flips the recovery parity
    return dataclasses.replace(tx, s=SECP256K1_N - tx.s, v=v)


def test_frontier_accepts_high_s_and_homestead_does_not():
    tx = _high_s(_legacy())
    assert recover_sender(tx, FRONTIER) == SENDER
    state = _state()
    assert _apply(state, FRONTIER, tx).success
    with pytest.raises(InvalidTransaction, match="invalid sender"):
        _apply(_state(), HOMESTEAD, _high_s(_legacy()))


def test_replay_protection_starts_with_spurious_dragon():
    protected = _legacy(chain_id=1)
    with pytest.raises(InvalidTransactionError, match="EIP-155"):
        validate_transaction_static(protected, TANGERINE_WHISTLE)
    validate_transaction_static(protected, SPURIOUS_DRAGON)
    validate_transaction_static(_legacy(), SPURIOUS_DRAGON)  # unprotected stays valid
    with pytest.raises(InvalidTransaction, match="chain id"):
        _apply(_state(), SPURIOUS_DRAGON, protected, chain_id=5)


def test_typed_transactions_need_their_fork():
    fee_market = FeeMarketTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=1, max_fee_per_gas=10,
                                      gas=50_000, to=CONTRACT, value=0, data=b"").signed(KEY)
    with pytest.raises(InvalidTransactionError, match="type not supported"):
        validate_transaction_static(fee_market, BERLIN)
    validate_transaction_static(fee_market, LONDON)


# -- intrinsic gas ------------------------------------------------------------------


def test_intrinsic_gas_per_fork():
    call = _legacy(data=b"\x01\x00")
    create = _legacy(to=None, data=b"\x01\x00")
    assert intrinsic_gas(call, FRONTIER)[0] == 21000 + 68 + 4
    assert intrinsic_gas(call, ISTANBUL)[0] == 21000 + 16 + 4  # EIP-2028
    assert intrinsic_gas(create, FRONTIER)[0] == 21000 + 68 + 4  # no creation surcharge
    assert intrinsic_gas(create, HOMESTEAD)[0] == 53000 + 68 + 4  # EIP-2


# -- fees ---------------------------------------------------------------------------


def test_before_london_the_whole_gas_price_goes_to_the_coinbase():
    state = _state()
    result = _apply(state, BERLIN, _legacy(gas_price=10), base_fee=7)  # base fee ignored before London
    assert result.gas_used == 21000
    assert state.get_balance(COINBASE) == 21000 * 10
    state = _state()
    _apply(state, LONDON, _legacy(gas_price=10), base_fee=7)
    assert state.get_balance(COINBASE) == 21000 * 3  # the base fee is burnt


def test_zero_fee_creates_the_coinbase_only_before_spurious_dragon():
    for fork, exists in ((TANGERINE_WHISTLE, True), (SPURIOUS_DRAGON, False), (PARIS, False)):
        state = _state()
        _apply(state, fork, _legacy(gas_price=0))
        assert state.account_exists(COINBASE) is exists, fork


# -- empty accounts (EIP-161) --------------------------------------------------------


def _call_code(target: bytes, gas: int = 0xFFFF) -> bytes:
    # CALL(gas, target, 0, 0, 0, 0, 0); STOP
    return bytes.fromhex("6000600060006000600073") + target + bytes([0x61]) + gas.to_bytes(2, "big") + bytes.fromhex("f100")


def test_a_call_creates_its_target_before_spurious_dragon():
    for fork, created, gas in ((TANGERINE_WHISTLE, True, 25000 + 700), (SPURIOUS_DRAGON, False, 700)):
        state = _state(**{CONTRACT.hex(): _call_code(EMPTY)})
        result = _apply(state, fork, _legacy(gas=200_000))
        assert state.account_exists(EMPTY) is created
        # 7 pushes, CALL base, new-account charge only where the target does not exist yet
        assert result.gas_used == 21000 + 7 * 3 + gas, fork


def test_touched_empty_accounts_are_deleted_from_spurious_dragon_to_paris():
    for fork, survives in ((TANGERINE_WHISTLE, True), (SPURIOUS_DRAGON, False), (LONDON, False)):
        state = _state(**{CONTRACT.hex(): _call_code(EMPTY)})
        state.set_account(EMPTY)  # exists, empty
        assert _apply(state, fork, _legacy(gas=200_000)).success
        assert state.account_exists(EMPTY) is survives, fork


def test_ripemd160_touch_survives_a_failing_call():
    # the precompile runs out of gas (3 gas < 600 + 120): the touch is kept anyway (block 2675119)
    for fork, survives in ((TANGERINE_WHISTLE, True), (BYZANTIUM, False)):
        state = _state(**{CONTRACT.hex(): _call_code(RIPEMD160, gas=3)})
        state.set_account(RIPEMD160)
        assert _apply(state, fork, _legacy(gas=200_000)).success
        assert state.account_exists(RIPEMD160) is survives, fork
    # another precompile's failed call is reverted like any other touch
    state = _state(**{CONTRACT.hex(): _call_code((2).to_bytes(20, "big"), gas=3)})
    state.set_account((2).to_bytes(20, "big"))
    _apply(state, BYZANTIUM, _legacy(gas=200_000))
    assert state.account_exists((2).to_bytes(20, "big"))


# -- contract creation ----------------------------------------------------------------

# initcode returning 100 zero bytes: PUSH1 100 PUSH1 0 RETURN
RETURN_100 = bytes.fromhex("60646000f3")


def test_frontier_keeps_a_contract_whose_code_deposit_runs_out_of_gas():
    gas = 21000 + 5 * 68 + 3 + 3 + 3 + 100  # enough to run the initcode, not to pay 200 * 100 for the code
    state = _state()
    result = _apply(state, FRONTIER, _legacy(to=None, data=RETURN_100, gas=gas))
    created = result.contract_address
    assert result.success and created is not None
    assert state.account_exists(created) and state.get_code(created) == b""
    assert state.get_nonce(created) == 0  # contracts start at nonce 1 only from EIP-161
    state = _state()
    result = _apply(state, HOMESTEAD, _legacy(to=None, data=RETURN_100, gas=gas + 32000))
    assert not result.success and result.gas_used == gas + 32000


def test_contract_nonce_and_code_size_limit_from_spurious_dragon():
    big = bytes.fromhex("61600160") + bytes([0x00]) + bytes.fromhex("f3")  # RETURN 0x6001 bytes from memory
    for fork, success in ((TANGERINE_WHISTLE, True), (SPURIOUS_DRAGON, False)):
        state = _state()
        result = _apply(state, fork, _legacy(to=None, data=big, gas=10_000_000))
        assert result.success is success, fork
    state = _state()
    result = _apply(state, SPURIOUS_DRAGON, _legacy(to=None, data=RETURN_100, gas=200_000))
    assert state.get_nonce(result.contract_address) == 1


# -- Osaka ----------------------------------------------------------------------------


def test_osaka_caps_transaction_gas():
    capped = _legacy(gas=2**24 + 1)
    validate_transaction_static(capped, PRAGUE)
    with pytest.raises(InvalidTransactionError, match="gas limit too high"):
        validate_transaction_static(capped, OSAKA)
    validate_transaction_static(_legacy(gas=2**24), OSAKA)


def test_osaka_limits_blobs_per_transaction():
    blob = BlobTransaction(chain_id=1, nonce=0, max_priority_fee_per_gas=1, max_fee_per_gas=10, gas=100_000,
                           to=CONTRACT, value=0, data=b"", access_list=(), max_fee_per_blob_gas=1,
                           blob_versioned_hashes=(b"\x01" + bytes(31),) * 7)
    validate_transaction_static(blob, PRAGUE)
    with pytest.raises(InvalidTransactionError, match="too many blobs"):
        validate_transaction_static(blob, OSAKA)
