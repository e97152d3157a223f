"""secp256k1 signing/recovery and address derivation (EIP-55, CREATE, CREATE2)."""

from __future__ import annotations

import pytest

from hyperion.primitives.address import (
    InvalidAddress,
    compute_create2_address,
    compute_create_address,
    parse_address,
    to_checksum_address,
)
from hyperion.primitives.keccak import keccak256
from hyperion.primitives.secp256k1 import (
    SECP256K1_HALF_N,
    SECP256K1_N,
    InvalidSignature,
    private_key_to_address,
    private_key_to_public_key,
    recover_address,
    recover_public_key,
    sign,
)

KEY = bytes.fromhex("46" * 32)
MSG = keccak256(b"hyperion")


def test_well_known_key_addresses():
    assert private_key_to_address((1).to_bytes(32, "big")).hex() == "7e5f4552091a69125d5dfcb7b8c2659029395bdf"
    # Sender of the EIP-155 worked example.
    assert private_key_to_address(KEY).hex() == "9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f"


def test_sign_recover_roundtrip():
    y_parity, r, s = sign(MSG, KEY)
    assert y_parity in (0, 1)
    assert 0 < r < SECP256K1_N and 0 < s <= SECP256K1_HALF_N  # libsecp256k1 always signs low-s
    public_key = recover_public_key(MSG, y_parity, r, s)
    assert len(public_key) == 64 and public_key == private_key_to_public_key(KEY)
    assert recover_address(MSG, y_parity, r, s) == private_key_to_address(KEY)
    assert recover_address(MSG, 27 + y_parity, r, s) == private_key_to_address(KEY)  # v form accepted
    assert sign(MSG, KEY) == (y_parity, r, s)  # deterministic (RFC 6979)


def test_wrong_parity_recovers_a_different_key():
    y_parity, r, s = sign(MSG, KEY)
    assert recover_address(MSG, 1 - y_parity, r, s) != private_key_to_address(KEY)


def test_high_s_still_recovers_here():
    """Low-s is a transaction rule (EIP-2), not a property of recovery itself."""
    y_parity, r, s = sign(MSG, KEY)
    assert recover_address(MSG, 1 - y_parity, r, SECP256K1_N - s) == private_key_to_address(KEY)


@pytest.mark.parametrize(
    ("y_parity", "r", "s"),
    [
        (2, 1, 1),
        (-1, 1, 1),
        (26, 1, 1),
        (0, 0, 1),
        (0, 1, 0),
        (0, SECP256K1_N, 1),
        (0, 1, SECP256K1_N),
        (0, 2**256, 1),
        (0, 5, 1),  # r = 5 is not the x coordinate of any curve point
    ],
)
def test_invalid_signature_values(y_parity, r, s):
    with pytest.raises(InvalidSignature):
        recover_public_key(MSG, y_parity, r, s)


def test_bad_lengths():
    with pytest.raises(InvalidSignature):
        recover_public_key(MSG[:31], 0, 1, 1)
    with pytest.raises(InvalidSignature):
        sign(MSG[:31], KEY)
    with pytest.raises(InvalidSignature):
        sign(MSG, KEY[:31])
    with pytest.raises(InvalidSignature):
        sign(MSG, bytes(32))  # zero is not a valid private key
    with pytest.raises(InvalidSignature):
        sign(MSG, SECP256K1_N.to_bytes(32, "big"))


def test_invalid_signature_is_value_error():
    assert issubclass(InvalidSignature, ValueError)


# --------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------

EIP55_EXAMPLES = [
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0xde709f2102306220921060314715629080e2fb77",
]


@pytest.mark.parametrize("checksummed", EIP55_EXAMPLES)
def test_eip55_checksum(checksummed):
    address = bytes.fromhex(checksummed[2:])
    assert to_checksum_address(address) == checksummed
    assert parse_address(checksummed, strict_checksum=True) == address
    assert parse_address(checksummed.lower()) == address
    assert parse_address(checksummed[2:]) == address


def test_parse_address_errors():
    with pytest.raises(InvalidAddress, match="40 hex digits"):
        parse_address("0x1234")
    with pytest.raises(InvalidAddress, match="not hexadecimal"):
        parse_address("0x" + "zz" * 20)
    with pytest.raises(InvalidAddress, match="checksum"):
        parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", strict_checksum=True)
    with pytest.raises(InvalidAddress, match="string"):
        parse_address(b"\x00" * 20)  # type: ignore[arg-type]
    with pytest.raises(InvalidAddress):
        to_checksum_address(b"\x00" * 19)


def test_create_address():
    sender = bytes.fromhex("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0")
    assert compute_create_address(sender, 0).hex() == "cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d"
    assert compute_create_address(sender, 1).hex() == "343c43a37d37dff08ae8c4a11544c718abb4fcf8"
    assert compute_create_address(sender, 2).hex() == "f778b86fa74e846c4f0a1fbd1335fe81c00a0c91"


@pytest.mark.parametrize(
    ("sender", "salt", "initcode", "expected"),
    [  # EIP-1014 examples
        ("00" * 20, "00" * 32, "00", "4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38"),
        ("deadbeef" + "00" * 16, "00" * 32, "00", "B928f69Bb1D91Cd65274e3c79d8986362984fDA3"),
        ("deadbeef" + "00" * 16, "00" * 12 + "feed" + "00" * 18, "00", "D04116cDd17beBE565EB2422F2497E06cC1C9833"),
        ("00" * 16 + "deadbeef", "00" * 28 + "cafebabe", "deadbeef", "60f3f640a8508fC6a86d45DF051962668E1e8AC7"),
        ("00" * 20, "00" * 32, "", "E33C0C7F7df4809055C3ebA6c09CFe4BaF1BD9e0"),
    ],
)
def test_create2_address(sender, salt, initcode, expected):
    sender_bytes, salt_bytes, code = bytes.fromhex(sender), bytes.fromhex(salt), bytes.fromhex(initcode)
    address = compute_create2_address(sender_bytes, salt_bytes, code)
    assert to_checksum_address(address) == "0x" + expected
    assert compute_create2_address(sender_bytes, int.from_bytes(salt_bytes, "big"), initcode_hash=keccak256(code)) == address


def test_create2_argument_errors():
    with pytest.raises(ValueError):
        compute_create2_address(bytes(20), bytes(32))
    with pytest.raises(ValueError):
        compute_create2_address(bytes(20), bytes(32), b"", initcode_hash=bytes(32))
    with pytest.raises(ValueError):
        compute_create2_address(bytes(20), bytes(31), b"")
    with pytest.raises(ValueError):
        compute_create2_address(bytes(20), bytes(32), initcode_hash=bytes(31))
