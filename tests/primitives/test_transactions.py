"""Transactions: ethereum/tests TransactionTests fixtures plus unit tests of every type."""

from __future__ import annotations

import dataclasses
import json

import pytest
from conftest import FIXTURES

from hyperion.execution.intrinsic import InvalidTransactionError, validate_transaction_static
from hyperion.execution.transaction import recover_sender
from hyperion.primitives import rlp
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.secp256k1 import SECP256K1_N, InvalidSignature, private_key_to_address
from hyperion.primitives.transactions import (
    AccessListTransaction,
    Authorization,
    BlobTransaction,
    FeeMarketTransaction,
    LegacyTransaction,
    SetCodeTransaction,
    TransactionDecodeError,
    decode_transaction,
    sign_authorization,
    transaction_from_rlp_item,
)
from hyperion.vm.forks import CANCUN, PRAGUE, SHANGHAI, get_fork

# --------------------------------------------------------------------------
# Fixture-driven conformance
# --------------------------------------------------------------------------

TX_TESTS_DIR = FIXTURES / "ethereum-tests" / "TransactionTests"
FIXTURE_CHAIN_ID = 1  # every TransactionTests case is filled for mainnet
TYPED_ERRORS = (TransactionDecodeError, InvalidSignature, InvalidTransactionError)


def _collect_cases():
    """One case per (test, fork) result: every fork from Frontier on."""
    cases = []
    for path in sorted(TX_TESTS_DIR.rglob("*.json")):
        for name, test in json.loads(path.read_text()).items():
            for fork_name, result in test["result"].items():
                case_id = f"{path.parent.name}/{name}[{fork_name}]"
                cases.append((case_id, test["txbytes"], result, get_fork(fork_name)))
    return cases


CASES = _collect_cases() if TX_TESTS_DIR.is_dir() else []


def _check_case(txbytes: str, expected: dict, fork) -> None:
    raw = bytes.fromhex(txbytes[2:])
    if "exception" in expected:
        with pytest.raises(TYPED_ERRORS):
            tx = decode_transaction(raw)
            validate_transaction_static(tx, fork, chain_id=FIXTURE_CHAIN_ID)
            recover_sender(tx, fork)  # the fork's signature rules are the check
        return
    tx = decode_transaction(raw)
    gas, floor = validate_transaction_static(tx, fork, chain_id=FIXTURE_CHAIN_ID)
    assert tx.encode() == raw
    assert "0x" + tx.hash.hex() == expected["hash"]
    assert "0x" + recover_sender(tx, fork).hex() == expected["sender"]
    assert max(gas, floor) == int(expected["intrinsicGas"], 16)


def test_fixture_corpus_is_complete():
    assert len(CASES) >= 2600  # 210 tests, each with a result per fork (Frontier .. Cancun)
    assert sum("exception" not in expected for _, _, expected, _ in CASES) >= 100


# The whole corpus (~2,700 cases) runs in a few seconds, so it is not
# marked slow.
@pytest.mark.parametrize(("case_id", "txbytes", "expected", "fork"), CASES, ids=[c[0] for c in CASES])
def test_fixture_case(case_id, txbytes, expected, fork):
    _check_case(txbytes, expected, fork)


# --------------------------------------------------------------------------
# Unit tests
# --------------------------------------------------------------------------

KEY = bytes.fromhex("4646464646464646464646464646464646464646464646464646464646464646")
OTHER_KEY = bytes.fromhex("01" * 32)
TO = bytes.fromhex("3535353535353535353535353535353535353535")
ACCESS_LIST = ((bytes.fromhex("11" * 20), (bytes(32), b"\x01" * 32)), (bytes.fromhex("22" * 20), ()))
BLOB_HASH = b"\x01" + bytes(31)


def _unsigned_examples():
    return [
        LegacyTransaction(nonce=9, gas_price=20 * 10**9, gas=21000, to=TO, value=10**18, data=b""),
        AccessListTransaction(
            chain_id=1, nonce=1, gas_price=7, gas=60000, to=None, value=0, data=b"\x60\x00", access_list=ACCESS_LIST
        ),
        FeeMarketTransaction(
            chain_id=1,
            nonce=2,
            max_priority_fee_per_gas=2,
            max_fee_per_gas=100,
            gas=50000,
            to=TO,
            value=5,
            data=b"\x00\x01",
            access_list=ACCESS_LIST,
        ),
        BlobTransaction(
            chain_id=1,
            nonce=3,
            max_priority_fee_per_gas=1,
            max_fee_per_gas=10,
            gas=30000,
            to=TO,
            value=0,
            data=b"",
            access_list=(),
            max_fee_per_blob_gas=3,
            blob_versioned_hashes=(BLOB_HASH, BLOB_HASH),
        ),
        SetCodeTransaction(
            chain_id=1,
            nonce=4,
            max_priority_fee_per_gas=1,
            max_fee_per_gas=10,
            gas=80000,
            to=TO,
            value=0,
            data=b"",
            access_list=(),
            authorizations=(sign_authorization(1, TO, 0, OTHER_KEY),),
        ),
    ]


def test_eip155_reference_vector():
    """The worked example in EIP-155's specification."""
    tx = _unsigned_examples()[0]
    assert tx.signing_hash() != tx._signing_hash_for(1)
    assert tx._signing_hash_for(1).hex() == "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"
    signed = tx.signed(KEY, chain_id=1)
    assert signed.v == 37
    assert signed.r == 18515461264373351373200002665853028612451056578545711640558177340181847433846
    assert signed.s == 46948507304638947509940763649030358759909902576025900602547168820602576006531
    assert signed.encode().hex() == (
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef6134"
        "0bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc"
        "64214b297fb1966a3b6d83"
    )
    assert signed.chain_id == 1
    assert signed.sender == private_key_to_address(KEY)


@pytest.mark.parametrize("unsigned", _unsigned_examples(), ids=lambda tx: type(tx).__name__)
def test_sign_encode_decode_roundtrip(unsigned):
    signed = unsigned.signed(KEY)
    raw = signed.encode()
    if signed.type == 0:
        assert raw[0] >= 0xC0
    else:
        assert raw[0] == signed.type
    decoded = decode_transaction(raw)
    assert decoded == signed
    assert type(decoded) is type(signed)
    assert decoded.hash == keccak256(raw) == signed.hash
    assert decoded.sender == signed.sender == private_key_to_address(KEY)
    assert decoded.encode() == raw
    assert decoded.signing_hash() == unsigned.signing_hash()


def test_common_interface_defaults():
    legacy, type1, type2, type3, type4 = (tx.signed(KEY) for tx in _unsigned_examples())
    assert [tx.type for tx in (legacy, type1, type2, type3, type4)] == [0, 1, 2, 3, 4]
    assert legacy.chain_id is None  # signed without a chain id: pre-EIP-155
    assert legacy.v in (27, 28)
    assert legacy.access_list == () and legacy.blob_versioned_hashes == () and legacy.authorizations == ()
    assert legacy.max_fee_per_gas == legacy.max_priority_fee_per_gas == legacy.gas_price
    assert type1.max_fee_per_gas == type1.max_priority_fee_per_gas == 7
    assert type1.is_create and not type2.is_create
    assert type3.blob_versioned_hashes == (BLOB_HASH, BLOB_HASH) and type3.blob_gas == 2 * 2**17
    assert type2.authorizations == () and len(type4.authorizations) == 1
    assert type4.blob_versioned_hashes == () and type4.blob_gas == 0


def test_effective_gas_price():
    legacy, _, type2, _, _ = _unsigned_examples()
    assert legacy.effective_gas_price(10**9) == legacy.gas_price
    assert type2.effective_gas_price(50) == 52  # base fee + full tip
    assert type2.effective_gas_price(99) == 100  # capped by max fee
    assert type2.effective_priority_fee(99) == 1


def test_transactions_are_immutable_and_hashable():
    tx = _unsigned_examples()[2].signed(KEY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        tx.nonce = 5
    assert hash(tx) == hash(decode_transaction(tx.encode()))


def test_legacy_eip155_sign_recovers_chain_id():
    tx = _unsigned_examples()[0].signed(KEY, chain_id=1337)
    assert tx.v in (1337 * 2 + 35, 1337 * 2 + 36)
    decoded = decode_transaction(tx.encode())
    assert decoded.chain_id == 1337
    assert decoded.sender == private_key_to_address(KEY)


def test_tampered_transaction_recovers_another_sender():
    tx = _unsigned_examples()[2].signed(KEY)
    tampered = dataclasses.replace(tx, value=tx.value + 1)
    assert tampered.sender != tx.sender


def test_high_s_and_bad_parity_rejected():
    tx = _unsigned_examples()[2].signed(KEY)
    with pytest.raises(InvalidSignature):
        dataclasses.replace(tx, s=SECP256K1_N - tx.s, y_parity=1 - tx.y_parity).sender
    with pytest.raises(InvalidSignature):
        dataclasses.replace(tx, y_parity=2).sender
    with pytest.raises(InvalidSignature):
        dataclasses.replace(tx, r=0).sender
    legacy = _unsigned_examples()[0].signed(KEY)
    with pytest.raises(InvalidSignature):
        dataclasses.replace(legacy, v=29).sender


def test_block_body_items_roundtrip():
    txs = [tx.signed(KEY) for tx in _unsigned_examples()]
    body = rlp.decode(rlp.encode(txs))
    assert type(body[0]) is list  # legacy: embedded list
    assert all(type(item) is bytes for item in body[1:])  # typed: envelope strings
    assert [transaction_from_rlp_item(item) for item in body] == txs
    with pytest.raises(TransactionDecodeError):
        transaction_from_rlp_item(txs[0].encode())  # legacy wrapped as a string is invalid


def test_creation_forbidden_for_blob_and_set_code():
    with pytest.raises(TransactionDecodeError):
        dataclasses.replace(_unsigned_examples()[3], to=None)
    with pytest.raises(TransactionDecodeError):
        dataclasses.replace(_unsigned_examples()[4], to=None)


# --------------------------------------------------------------------------
# EIP-7702 authorizations
# --------------------------------------------------------------------------


def test_authorization_authority_recovery():
    auth = sign_authorization(7, TO, 3, OTHER_KEY)
    assert auth.authority() == private_key_to_address(OTHER_KEY)
    assert auth.signing_hash() == keccak256(b"\x05" + rlp.encode([7, TO, 3]))
    assert auth.applies_to_chain(7) and not auth.applies_to_chain(1)
    assert Authorization(0, TO, 0).applies_to_chain(12345)


def test_authorization_invalid_signatures_give_none():
    auth = sign_authorization(1, TO, 0, OTHER_KEY)
    assert dataclasses.replace(auth, s=SECP256K1_N - auth.s, y_parity=1 - auth.y_parity).authority() is None
    assert dataclasses.replace(auth, y_parity=2).authority() is None
    assert dataclasses.replace(auth, r=0).authority() is None
    assert dataclasses.replace(auth, r=SECP256K1_N).authority() is None
    assert dataclasses.replace(auth, s=0).authority() is None
    assert sign_authorization(1, TO, 2**64 - 1, OTHER_KEY).authority() is None
    assert sign_authorization(1, TO, 2**64 - 2, OTHER_KEY).authority() == private_key_to_address(OTHER_KEY)
    other = dataclasses.replace(auth, nonce=1)  # signature no longer matches: some other signer
    assert other.authority() not in (None, auth.authority())


# --------------------------------------------------------------------------
# Malformed input
# --------------------------------------------------------------------------


def _typed(tx_type: int, fields: list) -> bytes:
    return bytes((tx_type,)) + rlp.encode(fields)


def _fee_market_fields(**overrides) -> list:
    fields = dict(
        chain_id=1, nonce=0, tip=1, fee=2, gas=21000, to=TO, value=0, data=b"", access=[], y=0, r=1, s=1
    )
    fields.update(overrides)
    return list(fields.values())


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x80", id="rlp-string-not-tx"),
        pytest.param(b"\xb8\x38" + bytes(56), id="long-string-not-tx"),
        pytest.param(b"\x05\xc0", id="unknown-type-5"),
        pytest.param(b"\x00\xc0", id="type-0-envelope"),
        pytest.param(b"\x7f\xc0", id="type-7f"),
        pytest.param(b"\x02", id="type-without-payload"),
        pytest.param(b"\x02\x80", id="typed-payload-not-list"),
        pytest.param(b"\x02" + rlp.encode(_fee_market_fields()[:-1]), id="too-few-fields"),
        pytest.param(b"\x02" + rlp.encode(_fee_market_fields() + [0]), id="too-many-fields"),
        pytest.param(_typed(2, _fee_market_fields(to=b"\x01" * 19)), id="short-to"),
        pytest.param(_typed(2, _fee_market_fields(to=b"\x01" * 21)), id="long-to"),
        pytest.param(_typed(2, _fee_market_fields(nonce=b"\x00\x01")), id="nonce-leading-zero"),
        pytest.param(_typed(2, _fee_market_fields(nonce=2**64)), id="nonce-9-bytes"),
        pytest.param(_typed(2, _fee_market_fields(gas=2**64)), id="gas-9-bytes"),
        pytest.param(_typed(2, _fee_market_fields(value=2**256)), id="value-33-bytes"),
        pytest.param(_typed(2, _fee_market_fields(data=[b""])), id="data-is-list"),
        pytest.param(_typed(2, _fee_market_fields(nonce=[])), id="nonce-is-list"),
        pytest.param(_typed(2, _fee_market_fields(access=[[TO]])), id="access-entry-1-field"),
        pytest.param(_typed(2, _fee_market_fields(access=[[TO[:19], []]])), id="access-address-19"),
        pytest.param(_typed(2, _fee_market_fields(access=[[TO, [bytes(31)]]])), id="storage-key-31"),
        pytest.param(_typed(2, _fee_market_fields(access=[[TO, bytes(32)]])), id="storage-keys-not-list"),
        pytest.param(_typed(2, _fee_market_fields()) + b"\x00", id="trailing-bytes"),
        pytest.param(
            _typed(3, _fee_market_fields()[:9] + [1, [BLOB_HASH], 0, 1, 1])[:-1], id="truncated-blob-tx"
        ),
        pytest.param(_typed(3, _fee_market_fields(to=b"")[:9] + [1, [BLOB_HASH], 0, 1, 1]), id="blob-create"),
        pytest.param(_typed(3, _fee_market_fields()[:9] + [1, [bytes(31)], 0, 1, 1]), id="blob-hash-31"),
        pytest.param(_typed(4, _fee_market_fields(to=b"")[:9] + [[], 0, 1, 1]), id="set-code-create"),
        pytest.param(_typed(4, _fee_market_fields()[:9] + [[[1, TO, 0, 0, 1]], 0, 1, 1]), id="auth-5-fields"),
        pytest.param(_typed(4, _fee_market_fields()[:9] + [[[1, TO, 0, 256, 1, 1]], 0, 1, 1]), id="auth-yparity-2b"),
        pytest.param(_typed(4, _fee_market_fields()[:9] + [[[1, TO, 2**64, 0, 1, 1]], 0, 1, 1]), id="auth-nonce"),
        pytest.param(_typed(4, _fee_market_fields()[:9] + [[[1, TO[:19], 0, 0, 1, 1]], 0, 1, 1]), id="auth-addr"),
        pytest.param(rlp.encode([0, 1, 21000, TO, 0, b"", 27, 1]), id="legacy-8-fields"),
        pytest.param(rlp.encode([0, 1, 21000, TO, 0, b"", 27, 1, 2**256]), id="legacy-s-33-bytes"),
    ],
)
def test_malformed_transactions_raise_decode_error(raw):
    with pytest.raises(TransactionDecodeError):
        decode_transaction(raw)


def test_non_bytes_input_rejected():
    with pytest.raises(TransactionDecodeError):
        decode_transaction("0xf86c")  # type: ignore[arg-type]


def test_well_formed_minimal_typed_transactions_decode():
    assert decode_transaction(_typed(2, _fee_market_fields())).type == 2
    assert decode_transaction(_typed(2, _fee_market_fields(to=b""))).to is None
    tx = decode_transaction(_typed(4, _fee_market_fields()[:9] + [[[1, TO, 0, 0, 1, 1]], 0, 1, 1]))
    assert tx.authorizations == (Authorization(1, TO, 0, 0, 1, 1),)


# --------------------------------------------------------------------------
# Static validation of the fork-dependent transaction types
# --------------------------------------------------------------------------


def test_types_gated_by_fork():
    _, _, _, blob_tx, set_code_tx = _unsigned_examples()
    with pytest.raises(InvalidTransactionError, match="not supported"):
        validate_transaction_static(blob_tx, SHANGHAI)
    validate_transaction_static(blob_tx, CANCUN)
    with pytest.raises(InvalidTransactionError, match="not supported"):
        validate_transaction_static(set_code_tx, CANCUN)
    validate_transaction_static(set_code_tx, PRAGUE)


# --------------------------------------------------------------------------
# Typed transactions from execution-spec-tests state tests
# --------------------------------------------------------------------------
# TransactionTests (2024-10) has no type-3 or type-4 cases, so the txbytes of
# the EEST state tests for EIP-4844, EIP-7702 and EIP-7623 stand in: every
# post must decode, pass static validation and recover the fixture's sender,
# unless it expects an exception. Expected exceptions that depend on state
# (balances, the block's base fees, the sender's code) cannot be checked
# without executing, so for those only "no untyped crash" is asserted.

EEST_STATE_DIR = FIXTURES / "eest" / "state_tests"
EEST_FOLDERS = ("cancun/eip4844_blobs", "prague/eip7702_set_code_tx", "prague/eip7623_increase_calldata_cost")
STATE_DEPENDENT_EXCEPTIONS = {
    "INSUFFICIENT_ACCOUNT_FUNDS",
    "INSUFFICIENT_MAX_FEE_PER_GAS",
    "INSUFFICIENT_MAX_FEE_PER_BLOB_GAS",
    "SENDER_NOT_EOA",
    "GAS_ALLOWANCE_EXCEEDED",
    "NONCE_MISMATCH_TOO_LOW",
    "NONCE_MISMATCH_TOO_HIGH",
}


def _eest_files():
    return sorted(p for folder in EEST_FOLDERS for p in (EEST_STATE_DIR / folder).rglob("*.json"))


def _check_authorities(tx, fixture_authorizations, name: str) -> None:
    """Each authorization recovers the fixture's signer, or None where the test makes it invalid."""
    assert len(tx.authorizations) == len(fixture_authorizations)
    for auth, spec in zip(tx.authorizations, fixture_authorizations):
        authority = auth.authority()
        if authority is None:
            assert "invalid_auth_signature" in name or "s_out_of_range" in name or "nonce=2**64-1" in name, name
        else:
            assert "0x" + authority.hex() == spec["signer"].lower(), name


def _check_state_test_file(path) -> int:
    checked = 0
    for name, test in json.loads(path.read_text()).items():
        chain_id = int(test.get("config", {}).get("chainid", "0x1"), 16)
        sender = test["transaction"].get("sender")
        for fork_name, posts in test["post"].items():
            fork = get_fork(fork_name)
            for post in posts:
                raw = bytes.fromhex(post["txbytes"][2:])
                expected = post.get("expectException")
                checked += 1
                if expected is None:
                    tx = decode_transaction(raw)
                    validate_transaction_static(tx, fork, chain_id=chain_id)
                    assert tx.encode() == raw
                    if sender:
                        assert "0x" + tx.sender.hex() == sender.lower(), name
                    _check_authorities(tx, test["transaction"].get("authorizationList", ()), name)
                    continue
                kinds = {e.split(".")[-1] for e in expected.split("|")}
                try:
                    tx = decode_transaction(raw)
                    validate_transaction_static(tx, fork, chain_id=chain_id)
                    tx.sender  # noqa: B018
                except TYPED_ERRORS:
                    continue
                assert kinds & STATE_DEPENDENT_EXCEPTIONS, f"{name}: accepted, fixture expects {expected}"
    return checked


EEST_FILES = _eest_files() if EEST_STATE_DIR.is_dir() else []


@pytest.mark.parametrize("path", EEST_FILES, ids=[str(p.relative_to(EEST_STATE_DIR)) for p in EEST_FILES])
def test_eest_state_test_transactions(path):
    assert _check_state_test_file(path) > 0
