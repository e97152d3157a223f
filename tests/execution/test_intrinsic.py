"""Intrinsic gas (incl. EIP-3860, EIP-7702, EIP-7623 floor) and static transaction validity."""

from __future__ import annotations

import dataclasses

import pytest

from hyperion.execution.intrinsic import (
    MAX_INITCODE_SIZE,
    InvalidTransactionError,
    intrinsic_gas,
    validate_transaction_static,
)
from hyperion.primitives.transactions import (
    AccessListTransaction,
    Authorization,
    BlobTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
    SetCodeTransaction,
)
from hyperion.vm.forks import CANCUN, PRAGUE, SHANGHAI

TO = b"\x35" * 20
BLOB_HASH = b"\x01" + bytes(31)


def _fee_market(**changes) -> FeeMarketTransaction:
    base = FeeMarketTransaction(
        chain_id=1,
        nonce=0,
        max_priority_fee_per_gas=1,
        max_fee_per_gas=10,
        gas=1_000_000,
        to=TO,
        value=0,
        data=b"",
        access_list=(),
    )
    return dataclasses.replace(base, **changes)


def _blob(hash_count: int = 1, **changes) -> BlobTransaction:
    base = BlobTransaction(
        chain_id=1,
        nonce=0,
        max_priority_fee_per_gas=1,
        max_fee_per_gas=10,
        gas=100_000,
        to=TO,
        value=0,
        data=b"",
        access_list=(),
        max_fee_per_blob_gas=1,
        blob_versioned_hashes=(BLOB_HASH,) * hash_count,
    )
    return dataclasses.replace(base, **changes)


def _set_code(auth_count: int = 1, **changes) -> SetCodeTransaction:
    base = SetCodeTransaction(
        chain_id=1,
        nonce=0,
        max_priority_fee_per_gas=1,
        max_fee_per_gas=10,
        gas=200_000,
        to=TO,
        value=0,
        data=b"",
        access_list=(),
        authorizations=(Authorization(1, TO, 0, 0, 1, 1),) * auth_count,
    )
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------
# intrinsic_gas
# --------------------------------------------------------------------------


def test_plain_transfer():
    tx = LegacyTransaction(0, 1, 21000, TO, 1, b"")
    assert intrinsic_gas(tx, SHANGHAI) == (21000, 0)
    assert intrinsic_gas(tx, CANCUN) == (21000, 0)
    assert intrinsic_gas(tx, PRAGUE) == (21000, 21000)  # floor with no calldata is the base cost


def test_calldata_cost_and_floor():
    tx = _fee_market(data=b"\x00\x01\x02")  # one zero byte, two non-zero
    assert intrinsic_gas(tx, CANCUN) == (21000 + 4 + 2 * 16, 0)
    # tokens = 1 + 4 * 2 = 9, floor = 21000 + 10 * 9
    assert intrinsic_gas(tx, PRAGUE) == (21036, 21090)


def test_contract_creation_with_initcode_words():
    tx = _fee_market(to=None, data=b"\x60" * 33)  # 33 non-zero bytes = 2 words
    assert intrinsic_gas(tx, SHANGHAI) == (21000 + 32000 + 33 * 16 + 2 * 2, 0)
    gas, floor = intrinsic_gas(tx, PRAGUE)
    assert gas == 53532 and floor == 21000 + 10 * 4 * 33  # no create cost in the floor


def test_access_list_cost():
    access_list = ((b"\x11" * 20, (bytes(32), b"\x01" * 32)), (b"\x22" * 20, (bytes(32),)))
    tx = AccessListTransaction(1, 0, 1, 100_000, TO, 0, b"", access_list)
    assert intrinsic_gas(tx, CANCUN) == (21000 + 2 * 2400 + 3 * 1900, 0)


def test_authorization_cost():
    assert intrinsic_gas(_set_code(3), PRAGUE) == (21000 + 3 * 25000, 21000)


# --------------------------------------------------------------------------
# validate_transaction_static
# --------------------------------------------------------------------------


def test_valid_transactions_return_intrinsic_gas():
    assert validate_transaction_static(_fee_market(gas=21000), CANCUN) == (21000, 0)
    assert validate_transaction_static(_blob(6), CANCUN) == (21000, 0)
    assert validate_transaction_static(_set_code(2), PRAGUE, chain_id=1) == (71000, 21000)


def test_intrinsic_gas_too_low():
    with pytest.raises(InvalidTransactionError, match="intrinsic gas too low: have 20999, want 21000"):
        validate_transaction_static(_fee_market(gas=20999), SHANGHAI)


def test_calldata_floor_applies_only_from_prague():
    tx = _fee_market(data=b"\x01" * 100, gas=21000 + 1600)  # covers standard cost, not the floor
    validate_transaction_static(tx, CANCUN)
    with pytest.raises(InvalidTransactionError, match="want 25000"):  # 21000 + 10 * 400
        validate_transaction_static(tx, PRAGUE)
    validate_transaction_static(dataclasses.replace(tx, gas=25000), PRAGUE)


def test_initcode_size_limit():
    at_limit = _fee_market(to=None, data=bytes(MAX_INITCODE_SIZE), gas=10_000_000)
    validate_transaction_static(at_limit, SHANGHAI)
    too_big = dataclasses.replace(at_limit, data=bytes(MAX_INITCODE_SIZE + 1))
    with pytest.raises(InvalidTransactionError, match="max initcode size exceeded"):
        validate_transaction_static(too_big, SHANGHAI)
    # The limit applies to creation only.
    validate_transaction_static(dataclasses.replace(too_big, to=TO), SHANGHAI)


def test_transaction_types_gated_by_fork():
    with pytest.raises(InvalidTransactionError, match="type not supported"):
        validate_transaction_static(_blob(), SHANGHAI)
    with pytest.raises(InvalidTransactionError, match="type not supported"):
        validate_transaction_static(_set_code(), CANCUN)


def test_blob_rules():
    with pytest.raises(InvalidTransactionError, match="blobless blob transaction"):
        validate_transaction_static(_blob(0), CANCUN)
    bad_version = _blob(2, blob_versioned_hashes=(BLOB_HASH, b"\x02" + bytes(31)))
    with pytest.raises(InvalidTransactionError, match="blob 1 has invalid hash version"):
        validate_transaction_static(bad_version, CANCUN)
    with pytest.raises(InvalidTransactionError, match="too many blobs"):
        validate_transaction_static(_blob(7), CANCUN)
    validate_transaction_static(_blob(9), PRAGUE)
    with pytest.raises(InvalidTransactionError, match="too many blobs"):
        validate_transaction_static(_blob(10), PRAGUE)


def test_empty_authorization_list():
    with pytest.raises(InvalidTransactionError, match="empty auth list"):
        validate_transaction_static(_set_code(0), PRAGUE)


def test_fee_and_range_checks():
    with pytest.raises(InvalidTransactionError, match="max priority fee per gas higher than max fee per gas"):
        validate_transaction_static(_fee_market(max_priority_fee_per_gas=11), CANCUN)
    with pytest.raises(InvalidTransactionError, match="nonce has max value"):
        validate_transaction_static(_fee_market(nonce=2**64 - 1), CANCUN)
    validate_transaction_static(_fee_market(nonce=2**64 - 2), CANCUN)
    with pytest.raises(InvalidTransactionError, match="gas limit"):
        validate_transaction_static(_fee_market(gas=2**64), CANCUN)
    with pytest.raises(InvalidTransactionError, match="overflows"):
        validate_transaction_static(_fee_market(max_fee_per_gas=2**255, max_priority_fee_per_gas=0), CANCUN)
    with pytest.raises(InvalidTransactionError, match="2\\^256"):
        validate_transaction_static(_fee_market(max_fee_per_gas=2**256), CANCUN)
    with pytest.raises(InvalidTransactionError, match="2\\^256"):
        validate_transaction_static(_fee_market(value=2**256), CANCUN)


def test_chain_id_check():
    validate_transaction_static(_fee_market(chain_id=5), CANCUN)  # not checked unless asked
    with pytest.raises(InvalidTransactionError, match="invalid chain id for signer: have 5 want 1"):
        validate_transaction_static(_fee_market(chain_id=5), CANCUN, chain_id=1)
    unprotected = LegacyTransaction(0, 1, 21000, TO, 0, b"", v=27, r=1, s=1)
    validate_transaction_static(unprotected, CANCUN, chain_id=1)  # pre-EIP-155 has no chain id
    protected_elsewhere = dataclasses.replace(unprotected, v=5 * 2 + 35)
    with pytest.raises(InvalidTransactionError, match="chain id"):
        validate_transaction_static(protected_elsewhere, CANCUN, chain_id=1)


def test_error_is_value_error():
    assert issubclass(InvalidTransactionError, ValueError)
