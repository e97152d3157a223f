"""0x100 P256VERIFY (EIP-7951): valid signatures, every rejection rule, and the price."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from hyperion.vm.forks import OSAKA, PRAGUE
from hyperion.vm.precompiles import p256verify, precompile_address, precompiles_for

ADDRESS = precompile_address(0x100)
KEY = ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1())
NUMBERS = KEY.public_key().public_numbers()


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _input(message: bytes = b"hyperion", r=None, s=None, x=None, y=None) -> bytes:
    digest = hashlib.sha256(message).digest()
    sig_r, sig_s = decode_dss_signature(KEY.sign(message, ec.ECDSA(hashes.SHA256())))
    return digest + b"".join(_word(v) for v in (
        sig_r if r is None else r, sig_s if s is None else s,
        NUMBERS.x if x is None else x, NUMBERS.y if y is None else y))


def test_active_from_osaka_at_0x100():
    assert ADDRESS in precompiles_for(OSAKA)
    assert ADDRESS not in precompiles_for(PRAGUE)
    assert precompiles_for(OSAKA)[ADDRESS].gas(b"") == 6900


def test_valid_signature_returns_one():
    assert p256verify.run(_input()) == (1).to_bytes(32, "big")


def test_high_s_is_valid_too():
    data = _input()
    s = int.from_bytes(data[64:96], "big")
    assert p256verify.run(data[:64] + _word(p256verify.N - s) + data[96:]) == (1).to_bytes(32, "big")


def test_wrong_message_returns_empty():
    data = _input()
    assert p256verify.run(hashlib.sha256(b"other").digest() + data[32:]) == b""


@pytest.mark.parametrize("length", [0, 159, 161, 192])
def test_input_must_be_exactly_160_bytes(length):
    data = (_input() * 2)[:length]
    assert p256verify.run(data) == b""


@pytest.mark.parametrize("field,value", [
    ("r", 0), ("r", p256verify.N), ("s", 0), ("s", p256verify.N),
    ("x", p256verify.P), ("y", p256verify.P),
])
def test_out_of_range_values_return_empty(field, value):
    assert p256verify.run(_input(**{field: value})) == b""


def test_point_off_the_curve_or_at_infinity_returns_empty():
    assert p256verify.run(_input(y=NUMBERS.y ^ 1)) == b""
    assert p256verify.run(_input(x=0, y=0)) == b""
