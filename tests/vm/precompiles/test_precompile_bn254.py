"""alt_bn128 precompiles cross-checked against py_ecc (slow but trusted)."""

import random

import pytest
from py_ecc.optimized_bn128 import G1, G2, add, multiply, neg, normalize

from hyperion.vm.precompiles import PrecompileError, _bn254, bn254_add, bn254_mul, bn254_pairing

P = _bn254.P
rng = random.Random(1234)


def enc_g1(point) -> bytes:
    x, y = normalize(point)
    return int(x).to_bytes(32, "big") + int(y).to_bytes(32, "big")


def enc_g2(point) -> bytes:
    x, y = normalize(point)
    return b"".join(int(c).to_bytes(32, "big") for c in (x.coeffs[1], x.coeffs[0], y.coeffs[1], y.coeffs[0]))


def test_add_matches_py_ecc():
    for _ in range(5):
        a, b = multiply(G1, rng.randrange(1, 2**256)), multiply(G1, rng.randrange(1, 2**256))
        assert bn254_add.run(enc_g1(a) + enc_g1(b)) == enc_g1(add(a, b))
    assert bn254_add.gas(b"") == 150


def test_add_special_cases():
    g = enc_g1(G1)
    assert bn254_add.run(g + g) == enc_g1(multiply(G1, 2))  # doubling
    assert bn254_add.run(g + enc_g1(neg(G1))) == bytes(64)  # P + (-P) = O
    assert bn254_add.run(g) == g  # second point zero-padded = infinity
    assert bn254_add.run(b"") == bytes(64)


def test_add_rejects_invalid_points():
    with pytest.raises(PrecompileError):
        bn254_add.run((1).to_bytes(32, "big") + (3).to_bytes(32, "big"))  # not on curve
    with pytest.raises(PrecompileError):
        bn254_add.run((1 + P).to_bytes(32, "big") + (2).to_bytes(32, "big"))  # x >= p


def test_mul_matches_py_ecc():
    base = multiply(G1, 987654321)
    for scalar in (0, 1, 2, _bn254.N - 1, _bn254.N, _bn254.N + 5, 2**256 - 1, rng.randrange(2**256)):
        expected = bytes(64) if scalar % _bn254.N == 0 else enc_g1(multiply(base, scalar))
        assert bn254_mul.run(enc_g1(base) + scalar.to_bytes(32, "big")) == expected
    assert bn254_mul.gas(b"") == 6000


def test_mul_pads_short_input():
    assert bn254_mul.run(enc_g1(G1) + b"\x02") == enc_g1(multiply(G1, 2 << 248))


def test_pairing_bilinearity():
    a, b = 1234567, 7654321
    check = enc_g1(multiply(G1, a)) + enc_g2(multiply(G2, b)) + enc_g1(neg(multiply(G1, a * b))) + enc_g2(G2)
    assert bn254_pairing.run(check) == (1).to_bytes(32, "big")
    wrong = enc_g1(multiply(G1, a)) + enc_g2(multiply(G2, b)) + enc_g1(neg(multiply(G1, a * b + 1))) + enc_g2(G2)
    assert bn254_pairing.run(wrong) == bytes(32)
    assert bn254_pairing.gas(check) == 45000 + 2 * 34000


def test_pairing_degenerate_inputs():
    assert bn254_pairing.run(b"") == (1).to_bytes(32, "big")
    assert bn254_pairing.run(enc_g1(G1) + enc_g2(G2)) == bytes(32)  # e(G1, G2) != 1
    assert bn254_pairing.run(bytes(64) + enc_g2(G2)) == (1).to_bytes(32, "big")  # infinity in G1
    assert bn254_pairing.run(enc_g1(G1) + bytes(128)) == (1).to_bytes(32, "big")  # infinity in G2


def _twist_point_outside_g2() -> bytes:
    """A point on the twist curve whose order is not N (the twist cofactor is 2p - N)."""
    x_re = 1
    while True:
        x = (x_re, 1)
        rhs = _bn254.f2_add3(_bn254.f2_mul(_bn254.f2_sqr(x), x), _bn254.TWIST_B, (0, 0))
        y = _fp2_sqrt(rhs)
        if y is not None and not _bn254.g2_is_in_subgroup((x, y)):
            return b"".join(v.to_bytes(32, "big") for v in (x[1], x[0], y[1], y[0]))
        x_re += 1


def _fp2_sqrt(a):
    # p = 3 mod 4: candidate a^((p^2 + 7) / 16) is not general; use the norm method
    a0, a1 = a
    norm = (a0 * a0 + a1 * a1) % P
    root = pow(norm, (P + 1) // 4, P)
    if root * root % P != norm:
        return None
    for sign in (1, -1):
        half = (a0 + sign * root) * pow(2, -1, P) % P
        y0 = pow(half, (P + 1) // 4, P)
        if y0 * y0 % P == half and y0 != 0:
            y1 = a1 * pow(2 * y0, -1, P) % P
            if _bn254.f2_sqr((y0, y1)) == (a0 % P, a1 % P):
                return (y0, y1)
    return None


def test_pairing_rejects_g2_point_outside_subgroup():
    outside = _twist_point_outside_g2()
    with pytest.raises(PrecompileError):
        bn254_pairing.run(enc_g1(G1) + outside)


def test_pairing_rejects_bad_length_and_coordinates():
    with pytest.raises(PrecompileError):
        bn254_pairing.run(bytes(191))
    bad_coordinate = enc_g1(G1) + P.to_bytes(32, "big") + enc_g2(G2)[32:]
    with pytest.raises(PrecompileError):
        bn254_pairing.run(bad_coordinate)
    not_on_twist = enc_g1(G1) + enc_g2(G2)[:127] + b"\x00"
    with pytest.raises(PrecompileError):
        bn254_pairing.run(not_on_twist)


def test_final_exponentiation_hard_part_equals_direct_power():
    f = _bn254.miller_loop([(_bn254_g1(), _bn254_g2())])
    assert _bn254.final_exponentiation(f) == _bn254.f12_pow(f, (P**12 - 1) // _bn254.N)


def test_field_tower_identities():
    a = tuple(rng.randrange(P) for _ in range(12))
    assert _bn254.f12_frobenius(a, 1) == _bn254.f12_pow(a, P)
    assert _bn254.f12_mul(a, _bn254.f12_inv(a)) == _bn254.F12_ONE
    assert _bn254.f12_sqr(a) == _bn254.f12_mul(a, a)


def _bn254_g1():
    return tuple(int(c) for c in normalize(G1))


def _bn254_g2():
    return tuple(tuple(int(c) for c in coord.coeffs) for coord in normalize(G2))


def test_fast_subgroup_check_agrees_with_definition():
    """psi(Q) == [6u^2]Q versus N*Q == O, on G2 points and on random twist points."""
    in_group = _bn254_g2()
    assert _bn254.g2_is_in_subgroup(in_group) and _bn254.g2_is_in_subgroup_slow(in_group)
    seen_outside = 0
    for x_re in range(1, 12):
        x = (x_re, 3)
        rhs = _bn254.f2_add3(_bn254.f2_mul(_bn254.f2_sqr(x), x), _bn254.TWIST_B, (0, 0))
        y = _fp2_sqrt(rhs)
        if y is None:
            continue
        point = (x, y)
        assert _bn254.g2_is_on_curve(point)
        fast, slow = _bn254.g2_is_in_subgroup(point), _bn254.g2_is_in_subgroup_slow(point)
        assert fast == slow
        seen_outside += not slow
    assert seen_outside >= 2
