"""The deposit transaction type 0x7E: encoding, hash, strict decoding, receipts."""

from __future__ import annotations

import pytest
import rlp as pyrlp  # independent RLP implementation (from the test extras)

from hyperion.primitives.keccak import keccak256
from hyperion.primitives.logs import Log
from hyperion.primitives.receipts import Receipt, decode_receipt
from hyperion.primitives.transactions import (
    DEPOSIT_TX_TYPE,
    DepositTransaction,
    TransactionDecodeError,
    decode_transaction,
    transaction_from_rlp_item,
)

# An L1-attributes deposit as an OP Stack node (Base Sepolia) serves it, with its hash.
OP_L1_INFO_DEPOSIT = bytes.fromhex(
    "7ef8f8a042a8ae5ec231af3d0f90f68543ec8bca1da4f7edd712d5b51b490688355a6db794deaddeaddeaddeaddeaddeaddeaddeaddead"
    "00019442000000000000000000000000000000000000158080830f424080b8a4440a5e200000044d000a118b000000000000000400000000"
    "67cb7cb0000000000077dbd4000000000000000000000000000000000000000000000000000000000000000a0000000000000000000000"
    "0000000000000000000000000000000000000000014edd27304108914dd6503b19b9eeb9956982ef197febbeeed8a9eac3dbaaabdf0000"
    "00000000000000000000fc56e7272eebbba5bc6c544e159483c4a38f8ba3")
OP_L1_INFO_DEPOSIT_HASH = bytes.fromhex("2be2e6f8b01b03b87ae9f0ebca8bbd420f174bef0fbcc18c7802c5378b78f548")


def test_decodes_an_op_stack_deposit_and_reproduces_its_hash():
    tx = decode_transaction(OP_L1_INFO_DEPOSIT)
    assert isinstance(tx, DepositTransaction)
    assert tx.type == DEPOSIT_TX_TYPE
    assert tx.hash == OP_L1_INFO_DEPOSIT_HASH
    assert tx.sender == bytes.fromhex("deaddeaddeaddeaddeaddeaddeaddeaddead0001")
    assert tx.to == bytes.fromhex("4200000000000000000000000000000000000015")
    assert (tx.mint, tx.value, tx.gas, tx.is_system_tx) == (0, 0, 1_000_000, False)
    rebuilt = DepositTransaction(tx.source_hash, tx.from_address, tx.to, tx.mint, tx.value, tx.gas,
                                 tx.is_system_tx, tx.data)
    assert rebuilt.encode() == OP_L1_INFO_DEPOSIT


def test_encoding_matches_an_independent_rlp_encoder():
    tx = DepositTransaction(b"\x11" * 32, b"\x22" * 20, None, 10**18, 5, 100_000, True, b"\x00\x01")
    expected = b"\x7e" + pyrlp.encode([b"\x11" * 32, b"\x22" * 20, b"", 10**18, 5, 100_000, 1, b"\x00\x01"])
    assert tx.encode() == expected
    assert tx.hash == keccak256(expected)
    again = decode_transaction(expected)
    assert again == tx and again.is_create and again.is_system_tx
    assert transaction_from_rlp_item(expected) == tx


def test_reports_zero_fees_and_signature():
    tx = DepositTransaction(b"\x01" * 32, b"\x02" * 20, b"\x03" * 20, 0, 0, 21000, False, b"")
    assert tx.effective_gas_price(10**9) == 0 and tx.effective_priority_fee(10**9) == 0
    assert (tx.nonce, tx.chain_id, tx.v, tx.r, tx.s, tx.blob_gas) == (0, None, 0, 0, 0, 0)


@pytest.mark.parametrize("fields, message", [
    ([b"\x11" * 31, b"\x22" * 20, b"", 0, 0, 21000, 0, b""], "source hash"),
    ([b"\x11" * 32, b"\x22" * 19, b"", 0, 0, 21000, 0, b""], "from"),
    ([b"\x11" * 32, b"\x22" * 20, b"\x33" * 5, 0, 0, 21000, 0, b""], "to address"),
    ([b"\x11" * 32, b"\x22" * 20, b"", 0, 0, 2**64, 0, b""], "gas"),
    ([b"\x11" * 32, b"\x22" * 20, b"", 0, 0, 21000, 2, b""], "isSystemTx"),
    ([b"\x11" * 32, b"\x22" * 20, b"", b"\x00\x01", 0, 21000, 0, b""], "mint"),
    ([b"\x11" * 32, b"\x22" * 20, b"", 0, 0, 21000, 0], "8 fields"),
])
def test_rejects_malformed_deposits(fields, message):
    with pytest.raises(TransactionDecodeError, match=message):
        decode_transaction(b"\x7e" + pyrlp.encode(fields))


def test_deposit_receipt_carries_nonce_and_version():
    log = Log(b"\x05" * 20, (b"\x06" * 32,), b"data")
    receipt = Receipt(DEPOSIT_TX_TYPE, True, 50_000, (log,), deposit_nonce=7, deposit_receipt_version=1)
    encoded = receipt.encode()
    assert encoded[0] == 0x7E
    assert pyrlp.decode(encoded[1:])[4:] == [b"\x07", b"\x01"]
    assert decode_receipt(encoded) == receipt
    plain = Receipt(2, True, 50_000, (log,))
    assert len(pyrlp.decode(plain.encode()[1:])) == 4


def test_a_stored_deposit_takes_a_cached_sender_like_other_types():
    tx = DepositTransaction(b"\x01" * 32, b"\x02" * 20, b"\x03" * 20, 0, 0, 21000, False, b"")
    object.__setattr__(tx, "_sender", b"\x02" * 20)  # what ChainStore does when it loads a block
    assert tx.sender == b"\x02" * 20
