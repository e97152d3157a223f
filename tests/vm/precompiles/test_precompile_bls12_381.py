"""EIP-2537 precompiles cross-checked against py_ecc's BLS12-381."""

import pytest
from py_ecc.bls.hash_to_curve import clear_cofactor_G1, clear_cofactor_G2, map_to_curve_G1, map_to_curve_G2
from py_ecc.optimized_bls12_381 import FQ, FQ2, G1, G2, add, multiply, neg, normalize

from hyperion.vm.precompiles import (
    PrecompileError,
    bls12_g1add,
    bls12_g1msm,
    bls12_g2add,
    bls12_g2msm,
    bls12_map_fp2_to_g2,
    bls12_map_fp_to_g1,
    bls12_pairing,
)
from hyperion.vm.precompiles._bls12_381 import FIELD_MODULUS as P

Q_ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


def fp(value: int) -> bytes:
    return int(value).to_bytes(64, "big")


def enc_g1(point) -> bytes:
    if point[2] == 0:
        return bytes(128)
    x, y = normalize(point)
    return fp(x) + fp(y)


def enc_g2(point) -> bytes:
    if point[2] == FQ2.zero():
        return bytes(256)
    x, y = normalize(point)
    return fp(x.coeffs[0]) + fp(x.coeffs[1]) + fp(y.coeffs[0]) + fp(y.coeffs[1])


def g1_outside_subgroup() -> bytes:
    """(x, y) on y^2 = x^3 + 4 but not of order q (G1's cofactor is large)."""
    x = 1
    while True:
        rhs = (x**3 + 4) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P == rhs:
            return fp(x) + fp(y)
        x += 1


def test_g1add_matches_py_ecc_and_skips_subgroup_check():
    a, b = multiply(G1, 5), multiply(G1, 11)
    assert bls12_g1add.run(enc_g1(a) + enc_g1(b)) == enc_g1(add(a, b))
    assert bls12_g1add.run(enc_g1(a) + enc_g1(neg(a))) == bytes(128)
    assert bls12_g1add.run(bytes(128) + enc_g1(a)) == enc_g1(a)
    outside = g1_outside_subgroup()
    assert len(bls12_g1add.run(outside + bytes(128))) == 128  # accepted by ADD
    assert bls12_g1add.gas(b"") == 375


def test_g2add_matches_py_ecc():
    a, b = multiply(G2, 3), multiply(G2, 8)
    assert bls12_g2add.run(enc_g2(a) + enc_g2(b)) == enc_g2(add(a, b))
    assert bls12_g2add.run(enc_g2(a) + enc_g2(a)) == enc_g2(multiply(G2, 6))
    assert bls12_g2add.gas(b"") == 600


def test_field_encoding_rules():
    good = enc_g1(G1)
    with pytest.raises(PrecompileError):  # non-zero padding byte
        bls12_g1add.run(b"\x01" + good[1:] + good)
    with pytest.raises(PrecompileError):  # coordinate equal to the modulus
        bls12_g1add.run(fp(P) + good[64:] + good)
    with pytest.raises(PrecompileError):  # not on the curve
        bls12_g1add.run(fp(1) + fp(1) + good)
    with pytest.raises(PrecompileError):  # wrong length
        bls12_g1add.run(good + good[:-1])


def test_g1msm_matches_py_ecc():
    pairs = [(multiply(G1, 3), 7), (multiply(G1, 10), 2**256 - 1), (G1, 0)]
    data = b"".join(enc_g1(p) + s.to_bytes(32, "big") for p, s in pairs)
    expected = multiply(G1, (3 * 7 + 10 * (2**256 - 1)) % Q_ORDER)
    assert bls12_g1msm.run(data) == enc_g1(expected)
    single = enc_g1(multiply(G1, 3)) + (5).to_bytes(32, "big")
    assert bls12_g1msm.run(single) == enc_g1(multiply(G1, 15))


def test_g2msm_matches_py_ecc():
    data = enc_g2(multiply(G2, 4)) + (9).to_bytes(32, "big") + enc_g2(G2) + (1).to_bytes(32, "big")
    assert bls12_g2msm.run(data) == enc_g2(multiply(G2, 37))


def test_msm_requires_subgroup_and_non_empty_input():
    with pytest.raises(PrecompileError):
        bls12_g1msm.run(g1_outside_subgroup() + (1).to_bytes(32, "big"))
    for module in (bls12_g1msm, bls12_g2msm, bls12_pairing):
        with pytest.raises(PrecompileError):
            module.run(b"")
    with pytest.raises(PrecompileError):
        bls12_g1msm.run(bytes(161))


def test_msm_gas_discounts():
    assert bls12_g1msm.gas(bytes(160)) == 12000
    assert bls12_g1msm.gas(bytes(320)) == 2 * 12000 * 949 // 1000
    assert bls12_g1msm.gas(bytes(160 * 128)) == 128 * 12000 * 519 // 1000
    assert bls12_g1msm.gas(bytes(160 * 200)) == 200 * 12000 * 519 // 1000
    assert bls12_g2msm.gas(bytes(288)) == 22500
    assert bls12_g2msm.gas(bytes(288 * 2)) == 45000
    assert bls12_g2msm.gas(bytes(288 * 300)) == 300 * 22500 * 524 // 1000
    assert bls12_g1msm.gas(b"") == 0


def test_pairing_check():
    ok = enc_g1(multiply(G1, 6)) + enc_g2(G2) + enc_g1(neg(multiply(G1, 2))) + enc_g2(multiply(G2, 3))
    assert bls12_pairing.run(ok) == (1).to_bytes(32, "big")
    bad = enc_g1(G1) + enc_g2(G2)
    assert bls12_pairing.run(bad) == bytes(32)
    assert bls12_pairing.run(bytes(128) + enc_g2(G2)) == (1).to_bytes(32, "big")
    assert bls12_pairing.gas(ok) == 37700 + 2 * 32600
    with pytest.raises(PrecompileError):
        bls12_pairing.run(g1_outside_subgroup() + enc_g2(G2))


def test_map_fp_to_g1_matches_rfc9380_map():
    u = 0x1234567890ABCDEF
    expected = clear_cofactor_G1(map_to_curve_G1(FQ(u)))
    assert bls12_map_fp_to_g1.run(fp(u)) == enc_g1(expected)
    assert bls12_map_fp_to_g1.gas(b"") == 5500
    with pytest.raises(PrecompileError):
        bls12_map_fp_to_g1.run(fp(P))


def test_map_fp2_to_g2_matches_rfc9380_map():
    u0, u1 = 0xABCDEF, 0x42
    expected = clear_cofactor_G2(map_to_curve_G2(FQ2([u0, u1])))
    assert bls12_map_fp2_to_g2.run(fp(u0) + fp(u1)) == enc_g2(expected)
    assert bls12_map_fp2_to_g2.gas(b"") == 23800
    with pytest.raises(PrecompileError):
        bls12_map_fp2_to_g2.run(fp(u0))
