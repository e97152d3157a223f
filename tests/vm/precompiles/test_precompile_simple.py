"""ecrecover, sha256, ripemd160, identity: known answers, gas and bad input."""

import hashlib

from coincurve import PrivateKey

from hyperion.primitives.keccak import keccak256
from hyperion.vm.precompiles import ecrecover, identity, ripemd160, sha256

SECP256K1_N = ecrecover.SECP256K1_ORDER


def _signed(message_hash: bytes, key: PrivateKey) -> bytes:
    signature = key.sign_recoverable(message_hash, hasher=None)
    r, s, recovery_id = signature[:32], signature[32:64], signature[64]
    return message_hash + (27 + recovery_id).to_bytes(32, "big") + r + s


def _address(key: PrivateKey) -> bytes:
    return keccak256(key.public_key.format(compressed=False)[1:])[12:]


def test_ecrecover_recovers_signer():
    key = PrivateKey(bytes.fromhex("45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8"))
    data = _signed(keccak256(b"hyperion"), key)
    assert _address(key).hex() == "a94f5374fce5edbc8e2a8697c15331677e6ebf0b"
    assert ecrecover.run(data) == bytes(12) + _address(key)
    assert ecrecover.gas(data) == 3000


def test_ecrecover_accepts_high_s():
    key = PrivateKey(b"\x07" * 32)
    data = bytearray(_signed(keccak256(b"x"), key))
    s = int.from_bytes(data[96:128], "big")
    data[96:128] = (SECP256K1_N - s).to_bytes(32, "big")
    data[63] = 55 - data[63]  # negating s flips the recovery id (27 <-> 28)
    assert ecrecover.run(bytes(data)) == bytes(12) + _address(key)


def test_ecrecover_invalid_inputs_give_empty_output():
    key = PrivateKey(b"\x05" * 32)
    good = _signed(keccak256(b"y"), key)
    bad_v = good[:32] + (29).to_bytes(32, "big") + good[64:]
    v_with_high_bits = good[:32] + b"\x01" + good[33:]
    r_zero = good[:64] + bytes(32) + good[96:]
    s_too_big = good[:96] + SECP256K1_N.to_bytes(32, "big")
    r_not_x = good[:64] + (2**256 - 1).to_bytes(32, "big") + good[96:]
    for data in (bad_v, v_with_high_bits, r_zero, s_too_big, r_not_x, b"", good[:64]):
        assert ecrecover.run(data) == b""


def test_ecrecover_ignores_bytes_past_128():
    key = PrivateKey(b"\x09" * 32)
    data = _signed(keccak256(b"z"), key)
    assert ecrecover.run(data + b"\xff" * 10) == bytes(12) + _address(key)


def test_sha256():
    assert sha256.run(b"abc") == hashlib.sha256(b"abc").digest()
    assert sha256.gas(b"") == 60
    assert sha256.gas(bytes(33)) == 60 + 2 * 12


def test_ripemd160_is_left_padded():
    out = ripemd160.run(b"")
    assert out == bytes(12) + bytes.fromhex("9c1185a5c5e9fc54612808977ee8f548b2258d31")
    assert ripemd160.gas(bytes(32)) == 720


def test_identity():
    assert identity.run(b"\x01\x02") == b"\x01\x02"
    assert identity.gas(bytes(64)) == 21
    assert identity.gas(b"") == 15
