"""BN254 (alt_bn128) arithmetic for the 0x06-0x08 precompiles, in plain ints.

No maintained C-backed BN254 library installs from PyPI, and py_ecc takes
about a second per pairing, so this module implements what the precompiles
need directly:

* G1 (y^2 = x^3 + 3 over Fp): affine addition, Jacobian scalar multiplication.
* G2 (the D-type sextic twist y^2 = x^3 + 3/xi over Fp2, xi = 9 + i):
  Jacobian arithmetic for the subgroup check.
* The optimal ate pairing: an affine Miller loop (one field inversion per
  step is cheap in Python, since ``pow(x, -1, p)`` runs in C) and a final
  exponentiation whose hard part uses the BN exponent-by-u chain.

Representations: Fp elements are ints in [0, p); Fp2 elements are tuples
``(re, im)`` with i^2 = -1; Fp12 elements are flat tuples of 12 ints, the
coefficients (re, im) of w^0..w^5 over Fp2 where w^6 = xi. Points are affine
tuples, with ``None`` for the point at infinity.
"""

from __future__ import annotations

from typing import Optional

P = 21888242871839275222246405745257275088696311157297823662689037894645226208583
N = 21888242871839275222246405745257275088548364400416034343698204186575808495617
BN_U = 4965661367192848881
ATE_LOOP_COUNT = 6 * BN_U + 2
G1_B = 3

Fp2 = tuple[int, int]
G1Affine = Optional[tuple[int, int]]
G2Affine = Optional[tuple[Fp2, Fp2]]
Fp12 = tuple[int, ...]

# ---------------------------------------------------------------- Fp2


def f2_mul(a: Fp2, b: Fp2) -> Fp2:
    a0, a1 = a
    b0, b1 = b
    return (a0 * b0 - a1 * b1) % P, (a0 * b1 + a1 * b0) % P


def f2_sqr(a: Fp2) -> Fp2:
    a0, a1 = a
    return (a0 + a1) * (a0 - a1) % P, 2 * a0 * a1 % P


def f2_inv(a: Fp2) -> Fp2:
    a0, a1 = a
    t = pow(a0 * a0 + a1 * a1, -1, P)
    return a0 * t % P, -a1 * t % P


def f2_pow(a: Fp2, exponent: int) -> Fp2:
    result: Fp2 = (1, 0)
    for bit in bin(exponent)[2:]:
        result = f2_sqr(result)
        if bit == "1":
            result = f2_mul(result, a)
    return result


XI: Fp2 = (9, 1)
TWIST_B: Fp2 = f2_mul((3, 0), f2_inv(XI))

# ---------------------------------------------------------------- G1


def g1_is_on_curve(point: G1Affine) -> bool:
    if point is None:
        return True
    x, y = point
    return (y * y - x * x * x - G1_B) % P == 0


def g1_add(p1: G1Affine, p2: G1Affine) -> G1Affine:
    """Affine addition (one inversion), handling doubling and inverses."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1 = p1
    x2, y2 = p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        slope = 3 * x1 * x1 * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def g1_mul(point: G1Affine, scalar: int) -> G1Affine:
    """Scalar multiplication: double-and-add in Jacobian coordinates."""
    scalar %= N  # every point on the curve has order N (cofactor 1)
    if point is None or scalar == 0:
        return None
    px, py = point
    x, y, z = px, py, 1
    for bit in bin(scalar)[3:]:
        # doubling (a = 0): dbl-2009-l
        a = x * x % P
        b = y * y % P
        c = b * b % P
        d = 2 * ((x + b) * (x + b) - a - c) % P
        e = 3 * a
        f = e * e % P
        z = 2 * y * z % P
        x = (f - 2 * d) % P
        y = (e * (d - x) - 8 * c) % P
        if bit == "1":
            # mixed addition of the affine base point: madd-2007-bl
            zz = z * z % P
            u2 = px * zz % P
            s2 = py * z * zz % P
            h = (u2 - x) % P
            r = (s2 - y) % P
            if h == 0:
                if r == 0:  # cannot happen for scalar < N, kept for safety
                    return g1_add(g1_mul(point, scalar - 1), point)
                return None
            hh = h * h % P
            hhh = h * hh % P
            v = x * hh % P
            x = (r * r - hhh - 2 * v) % P
            y = (r * (v - x) - y * hhh) % P
            z = z * h % P
    if z == 0:
        return None
    z_inv = pow(z, -1, P)
    z_inv2 = z_inv * z_inv % P
    return x * z_inv2 % P, y * z_inv2 * z_inv % P


# ---------------------------------------------------------------- G2


def g2_is_on_curve(point: G2Affine) -> bool:
    if point is None:
        return True
    x, y = point
    rhs = f2_mul(f2_sqr(x), x)
    lhs = f2_sqr(y)
    return lhs[0] == (rhs[0] + TWIST_B[0]) % P and lhs[1] == (rhs[1] + TWIST_B[1]) % P


class _LadderHitInfinity(Exception):
    """An intermediate multiple was infinity or equal to the base point."""


def _g2_mul_jacobian(point: tuple[Fp2, Fp2], scalar: int) -> tuple[int, int, int, int, int, int]:
    """``scalar * point`` (scalar >= 2) as Jacobian (X0, X1, Y0, Y1, Z0, Z1).

    Raises _LadderHitInfinity on the exceptional cases of the incomplete
    formulas; callers fall back to a slower, complete check.
    """
    (px0, px1), (py0, py1) = point
    x0, x1, y0, y1, z0, z1 = px0, px1, py0, py1, 1, 0
    for bit in bin(scalar)[3:]:
        # doubling: A = X^2, B = Y^2, C = B^2, D = 2((X+B)^2 - A - C), E = 3A
        a0, a1 = (x0 + x1) * (x0 - x1) % P, 2 * x0 * x1 % P
        b0, b1 = (y0 + y1) * (y0 - y1) % P, 2 * y0 * y1 % P
        c0, c1 = (b0 + b1) * (b0 - b1) % P, 2 * b0 * b1 % P
        s0, s1 = x0 + b0, x1 + b1
        d0 = 2 * ((s0 + s1) * (s0 - s1) - a0 - c0) % P
        d1 = 2 * (2 * s0 * s1 - a1 - c1) % P
        e0, e1 = 3 * a0, 3 * a1
        f0, f1 = (e0 + e1) * (e0 - e1) % P, 2 * e0 * e1 % P
        z0, z1 = 2 * (y0 * z0 - y1 * z1) % P, 2 * (y0 * z1 + y1 * z0) % P
        x0, x1 = (f0 - 2 * d0) % P, (f1 - 2 * d1) % P
        t0, t1 = d0 - x0, d1 - x1
        y0 = (e0 * t0 - e1 * t1 - 8 * c0) % P
        y1 = (e0 * t1 + e1 * t0 - 8 * c1) % P
        if z0 == 0 and z1 == 0:
            raise _LadderHitInfinity
        if bit == "1":
            # mixed addition with the affine base point
            zz0, zz1 = (z0 + z1) * (z0 - z1) % P, 2 * z0 * z1 % P
            u0, u1 = (px0 * zz0 - px1 * zz1) % P, (px0 * zz1 + px1 * zz0) % P
            zzz0, zzz1 = (z0 * zz0 - z1 * zz1) % P, (z0 * zz1 + z1 * zz0) % P
            s0, s1 = (py0 * zzz0 - py1 * zzz1) % P, (py0 * zzz1 + py1 * zzz0) % P
            h0, h1 = (u0 - x0) % P, (u1 - x1) % P
            r0, r1 = (s0 - y0) % P, (s1 - y1) % P
            if h0 == 0 and h1 == 0:
                raise _LadderHitInfinity
            hh0, hh1 = (h0 + h1) * (h0 - h1) % P, 2 * h0 * h1 % P
            hhh0, hhh1 = (h0 * hh0 - h1 * hh1) % P, (h0 * hh1 + h1 * hh0) % P
            v0, v1 = (x0 * hh0 - x1 * hh1) % P, (x0 * hh1 + x1 * hh0) % P
            rr0, rr1 = (r0 + r1) * (r0 - r1) % P, 2 * r0 * r1 % P
            x0, x1 = (rr0 - hhh0 - 2 * v0) % P, (rr1 - hhh1 - 2 * v1) % P
            t0, t1 = v0 - x0, v1 - x1
            w0 = (y0 * hhh0 - y1 * hhh1) % P
            w1 = (y0 * hhh1 + y1 * hhh0) % P
            y0 = (r0 * t0 - r1 * t1 - w0) % P
            y1 = (r0 * t1 + r1 * t0 - w1) % P
            z0, z1 = (z0 * h0 - z1 * h1) % P, (z0 * h1 + z1 * h0) % P
    return x0, x1, y0, y1, z0, z1


def g2_is_in_subgroup_slow(point: G2Affine) -> bool:
    """N * Q == O by definition, tested as (N - 1) Q == -Q. If the ladder
    meets an exceptional case first, some k < N has kQ in {O, Q, -Q}, so the
    order of Q divides a number below N + 1 other than N: Q is not in G2."""
    if point is None:
        return True
    try:
        multiple = _g2_mul_jacobian(point, N - 1)
    except _LadderHitInfinity:
        return False
    x, y = point
    return _jacobian_equals_affine(multiple, (x, (-y[0] % P, -y[1] % P)))


def _jacobian_equals_affine(jacobian: tuple[int, int, int, int, int, int], affine: tuple[Fp2, Fp2]) -> bool:
    x0, x1, y0, y1, z0, z1 = jacobian
    zz = f2_sqr((z0, z1))
    zzz = f2_mul(zz, (z0, z1))
    return f2_mul(affine[0], zz) == (x0, x1) and f2_mul(affine[1], zzz) == (y0, y1)


SIX_U_SQUARED = 6 * BN_U * BN_U


def g2_is_in_subgroup(point: G2Affine) -> bool:
    """Whether an on-curve twist point lies in the order-N subgroup G2.

    The twist has cofactor 2p - N, so this matters. On G2 the endomorphism
    psi (untwist, Frobenius, twist) acts as multiplication by p = 6u^2 mod N,
    and for BN curves psi(Q) == [6u^2] Q also implies Q is in G2 (Scott,
    "A note on group membership tests", eprint 2021/1130; arkworks and gnark
    use it). This halves the scalar size of the naive N * Q == O check.
    """
    if point is None:
        return True
    try:
        multiple = _g2_mul_jacobian(point, SIX_U_SQUARED)
    except _LadderHitInfinity:
        return g2_is_in_subgroup_slow(point)
    return _jacobian_equals_affine(multiple, psi(point))


def psi(point: tuple[Fp2, Fp2]) -> tuple[Fp2, Fp2]:
    """The untwist-Frobenius-twist endomorphism on the D-type twist."""
    (qx, qy) = point
    return f2_mul((qx[0], -qx[1] % P), _PI1_X), f2_mul((qy[0], -qy[1] % P), _PI1_Y)


# ---------------------------------------------------------------- Fp12


def f12_mul(a: Fp12, b: Fp12) -> Fp12:
    """Product in Fp2[w]/(w^6 - xi); zero coefficients of ``a`` are skipped."""
    acc = [0] * 22
    for i in range(6):
        ar = a[2 * i]
        ai = a[2 * i + 1]
        if ar == 0 and ai == 0:
            continue
        k = 2 * i
        for j in range(0, 12, 2):
            br = b[j]
            bi = b[j + 1]
            acc[k + j] += ar * br - ai * bi
            acc[k + j + 1] += ar * bi + ai * br
    for k in range(0, 10, 2):  # w^(6+m) = xi * w^m, xi * (x + yi) = (9x - y) + (x + 9y)i
        hr = acc[12 + k]
        hi = acc[13 + k]
        acc[k] += 9 * hr - hi
        acc[k + 1] += hr + 9 * hi
    return (
        acc[0] % P, acc[1] % P, acc[2] % P, acc[3] % P, acc[4] % P, acc[5] % P,
        acc[6] % P, acc[7] % P, acc[8] % P, acc[9] % P, acc[10] % P, acc[11] % P,
    )  # fmt: skip


def f12_sqr(a: Fp12) -> Fp12:
    """Square in Fp2[w]/(w^6 - xi), computing each cross product once."""
    acc = [0] * 22
    for i in range(6):
        ar = a[2 * i]
        ai = a[2 * i + 1]
        acc[4 * i] += ar * ar - ai * ai
        acc[4 * i + 1] += 2 * ar * ai
        ar2 = 2 * ar
        ai2 = 2 * ai
        for j in range(i + 1, 6):
            br = a[2 * j]
            bi = a[2 * j + 1]
            k = 2 * (i + j)
            acc[k] += ar2 * br - ai2 * bi
            acc[k + 1] += ar2 * bi + ai2 * br
    for k in range(0, 10, 2):
        hr = acc[12 + k]
        hi = acc[13 + k]
        acc[k] += 9 * hr - hi
        acc[k + 1] += hr + 9 * hi
    return (
        acc[0] % P, acc[1] % P, acc[2] % P, acc[3] % P, acc[4] % P, acc[5] % P,
        acc[6] % P, acc[7] % P, acc[8] % P, acc[9] % P, acc[10] % P, acc[11] % P,
    )  # fmt: skip


F12_ONE: Fp12 = (1,) + (0,) * 11


def f12_conj(a: Fp12) -> Fp12:
    """a^(p^6): negates the odd powers of w (w^(p^6) = -w)."""
    return (
        a[0], a[1], -a[2] % P, -a[3] % P, a[4], a[5],
        -a[6] % P, -a[7] % P, a[8], a[9], -a[10] % P, -a[11] % P,
    )  # fmt: skip


# Frobenius: (c w^k)^p = conj(c) * xi^(k(p-1)/6) * w^k.
_FROB1 = tuple(f2_pow(XI, k * (P - 1) // 6) for k in range(6))
_FROB2 = tuple(f2_pow(XI, k * (P * P - 1) // 6) for k in range(6))
_FROB3 = tuple(f2_pow(XI, k * (P**3 - 1) // 6) for k in range(6))


def _frobenius(a: Fp12, gammas: tuple[Fp2, ...], conjugate: bool) -> Fp12:
    out = []
    for k in range(6):
        re, im = a[2 * k], a[2 * k + 1]
        if conjugate:
            im = -im
        out.extend(f2_mul((re, im), gammas[k]))
    return tuple(out)


def f12_frobenius(a: Fp12, power: int) -> Fp12:
    """a^(p^power) for power in 1, 2, 3."""
    if power == 1:
        return _frobenius(a, _FROB1, True)
    if power == 2:
        return _frobenius(a, _FROB2, False)
    return _frobenius(a, _FROB3, True)


def _f6_mul(a: tuple[Fp2, Fp2, Fp2], b: tuple[Fp2, Fp2, Fp2]) -> tuple[Fp2, Fp2, Fp2]:
    """Product in Fp6 = Fp2[v]/(v^3 - xi)."""
    a0, a1, a2 = a
    b0, b1, b2 = b
    t00, t11, t22 = f2_mul(a0, b0), f2_mul(a1, b1), f2_mul(a2, b2)
    t12 = _f2_add(f2_mul(a1, b2), f2_mul(a2, b1))
    t01 = _f2_add(f2_mul(a0, b1), f2_mul(a1, b0))
    t02 = f2_add3(f2_mul(a0, b2), f2_mul(a2, b0), t11)
    return _f2_add(t00, f2_mul(XI, t12)), _f2_add(t01, f2_mul(XI, t22)), t02


def _f2_add(a: Fp2, b: Fp2) -> Fp2:
    return (a[0] + b[0]) % P, (a[1] + b[1]) % P


def _f2_sub(a: Fp2, b: Fp2) -> Fp2:
    return (a[0] - b[0]) % P, (a[1] - b[1]) % P


def f2_add3(a: Fp2, b: Fp2, c: Fp2) -> Fp2:
    return (a[0] + b[0] + c[0]) % P, (a[1] + b[1] + c[1]) % P


def _f6_inv(a: tuple[Fp2, Fp2, Fp2]) -> tuple[Fp2, Fp2, Fp2]:
    a0, a1, a2 = a
    t0 = _f2_sub(f2_sqr(a0), f2_mul(XI, f2_mul(a1, a2)))
    t1 = _f2_sub(f2_mul(XI, f2_sqr(a2)), f2_mul(a0, a1))
    t2 = _f2_sub(f2_sqr(a1), f2_mul(a0, a2))
    denominator = _f2_add(f2_mul(a0, t0), f2_mul(XI, _f2_add(f2_mul(a2, t1), f2_mul(a1, t2))))
    d_inv = f2_inv(denominator)
    return f2_mul(t0, d_inv), f2_mul(t1, d_inv), f2_mul(t2, d_inv)


def f12_inv(a: Fp12) -> Fp12:
    """Inverse via a = A + wB with A, B in Fp6 (v = w^2): 1/a = (A - wB)/(A^2 - vB^2)."""
    coeffs = [(a[2 * k], a[2 * k + 1]) for k in range(6)]
    big_a = (coeffs[0], coeffs[2], coeffs[4])
    big_b = (coeffs[1], coeffs[3], coeffs[5])
    a_sq = _f6_mul(big_a, big_a)
    b_sq = _f6_mul(big_b, big_b)
    v_b_sq = (f2_mul(XI, b_sq[2]), b_sq[0], b_sq[1])  # multiply by v
    denominator_inv = _f6_inv(tuple(_f2_sub(x, y) for x, y in zip(a_sq, v_b_sq)))
    c = _f6_mul(big_a, denominator_inv)
    d = _f6_mul(big_b, denominator_inv)
    out = []
    for k in range(3):
        out.extend(c[k])
        out.extend((-d[k][0] % P, -d[k][1] % P))
    return tuple(out)


def f12_pow(a: Fp12, exponent: int) -> Fp12:
    result = F12_ONE
    for bit in bin(exponent)[2:]:
        result = f12_sqr(result)
        if bit == "1":
            result = f12_mul(result, a)
    return result


# ---------------------------------------------------------------- pairing


def _line(slope: Fp2, x1: Fp2, y1: Fp2, px: int, py: int) -> Fp12:
    """The line of given slope through twist point (x1, y1), evaluated at P.

    Untwisting (x, y) -> (x w^2, y w^3) turns the slope into slope * w, so
    the line is yP - slope*xP w + (slope*x1 - y1) w^3: a sparse element.
    """
    s0, s1 = slope
    c3 = f2_mul(slope, x1)
    return (
        py, 0,
        -s0 * px % P, -s1 * px % P,
        0, 0,
        (c3[0] - y1[0]) % P, (c3[1] - y1[1]) % P,
        0, 0, 0, 0,
    )  # fmt: skip


_ATE_BITS = bin(ATE_LOOP_COUNT)[3:]
# Untwist-Frobenius-twist endomorphism coefficients on the D-type twist.
_PI1_X = f2_pow(XI, (P - 1) // 3)
_PI1_Y = f2_pow(XI, (P - 1) // 2)
_PI2_X = f2_pow(XI, (P * P - 1) // 3)
_PI2_Y = f2_pow(XI, (P * P - 1) // 2)


def _add_step(t: tuple[Fp2, Fp2], q: tuple[Fp2, Fp2], px: int, py: int) -> tuple[Optional[tuple[Fp2, Fp2]], Optional[Fp12]]:
    """T + Q and the line through them at P (None for a vertical line, which
    lies in Fp6 and is erased by the final exponentiation)."""
    x1, y1 = t
    x2, y2 = q
    if x1 == x2:
        if y1 != y2:
            return None, None
        slope = f2_mul(f2_mul((3, 0), f2_sqr(x1)), f2_inv(_f2_add(y1, y1)))
    else:
        slope = f2_mul(_f2_sub(y2, y1), f2_inv(_f2_sub(x2, x1)))
    x3 = _f2_sub(_f2_sub(f2_sqr(slope), x1), x2)
    y3 = _f2_sub(f2_mul(slope, _f2_sub(x1, x3)), y1)
    return (x3, y3), _line(slope, x1, y1, px, py)


def _double_step(t: tuple[Fp2, Fp2], px: int, py: int) -> tuple[tuple[Fp2, Fp2], Fp12]:
    (x0, x1), (y0, y1) = t
    # slope = 3 x^2 / (2 y)
    xx0, xx1 = (x0 + x1) * (x0 - x1), 2 * x0 * x1
    n0, n1 = 3 * xx0 % P, 3 * xx1 % P
    inv = pow(4 * (y0 * y0 + y1 * y1), -1, P)
    d0, d1 = 2 * y0 * inv, -2 * y1 * inv  # 1/(2y) = conj(2y)/|2y|^2
    s0, s1 = (n0 * d0 - n1 * d1) % P, (n0 * d1 + n1 * d0) % P
    x3_0 = ((s0 + s1) * (s0 - s1) - 2 * x0) % P
    x3_1 = (2 * s0 * s1 - 2 * x1) % P
    e0, e1 = x0 - x3_0, x1 - x3_1
    y3_0 = (s0 * e0 - s1 * e1 - y0) % P
    y3_1 = (s0 * e1 + s1 * e0 - y1) % P
    return ((x3_0, x3_1), (y3_0, y3_1)), _line((s0, s1), (x0, x1), (y0, y1), px, py)


def miller_loop(pairs: list[tuple[tuple[int, int], tuple[Fp2, Fp2]]]) -> Fp12:
    """Product of the optimal ate Miller loops f_{6u+2,Q}(P) * lines, all pairs at once."""
    if not pairs:
        return F12_ONE
    f = F12_ONE
    points = [q for _, q in pairs]
    for bit in _ATE_BITS:
        f = f12_sqr(f)
        for index, ((px, py), q) in enumerate(pairs):
            t, line = _double_step(points[index], px, py)
            f = f12_mul(line, f)
            if bit == "1":
                t, line = _add_step(t, q, px, py)
                if line is not None:
                    f = f12_mul(line, f)
            points[index] = t
    for index, ((px, py), q) in enumerate(pairs):
        (qx, qy) = q
        q1 = psi(q)
        minus_q2 = (f2_mul(qx, _PI2_X), f2_mul((-qy[0] % P, -qy[1] % P), _PI2_Y))
        t, line = _add_step(points[index], q1, px, py)
        if line is not None:
            f = f12_mul(line, f)
        if t is not None:
            _, line = _add_step(t, minus_q2, px, py)
            if line is not None:
                f = f12_mul(line, f)
    return f


def _pow_u(a: Fp12) -> Fp12:
    return f12_pow(a, BN_U)


def final_exponentiation(f: Fp12) -> Fp12:
    """f^((p^12 - 1) / N): easy part (p^6 - 1)(p^2 + 1), then the BN hard part."""
    f = f12_mul(f12_conj(f), f12_inv(f))
    f = f12_mul(f12_frobenius(f, 2), f)
    # Hard part (p^4 - p^2 + 1)/N as a product of Frobenius images of f^(u^i);
    # in the cyclotomic subgroup the inverse is the conjugate.
    fp = f12_frobenius(f, 1)
    fp2 = f12_frobenius(f, 2)
    fp3 = f12_frobenius(f, 3)
    fu = _pow_u(f)
    fu2 = _pow_u(fu)
    fu3 = _pow_u(fu2)
    y0 = f12_mul(f12_mul(fp, fp2), fp3)
    y1 = f12_conj(f)
    y2 = f12_frobenius(fu2, 2)
    y3 = f12_conj(f12_frobenius(fu, 1))
    y4 = f12_conj(f12_mul(fu, f12_frobenius(fu2, 1)))
    y5 = f12_conj(fu2)
    y6 = f12_conj(f12_mul(fu3, f12_frobenius(fu3, 1)))
    t0 = f12_mul(f12_mul(f12_sqr(y6), y4), y5)
    t1 = f12_mul(f12_mul(y3, y5), t0)
    t0 = f12_mul(t0, y2)
    t1 = f12_sqr(f12_mul(f12_sqr(t1), t0))
    t0 = f12_mul(t1, y1)
    t1 = f12_mul(t1, y0)
    t0 = f12_sqr(t0)
    return f12_mul(t0, t1)


def pairing_product_is_one(pairs: list[tuple[tuple[int, int], tuple[Fp2, Fp2]]]) -> bool:
    """Whether prod e(P_i, Q_i) == 1 for finite, valid (P_i, Q_i)."""
    if not pairs:
        return True
    return final_exponentiation(miller_loop(pairs)) == F12_ONE
