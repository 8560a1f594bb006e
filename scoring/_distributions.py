"""Student's t and F quantiles (and the t tail) without SciPy: the regularised incomplete beta.

``python -m scoring score`` needs only two quantile functions, and importing ``scipy.special``
for them cost about 0.1 s of a researcher's 1 s run. Everything here is vectorised numpy.

I_x(a, b) comes from its continued fraction (DLMF 8.17.22) evaluated by Lentz's method on the
side of the mean where it converges fast, with the other tail as the complement. The factor
x^a y^b / B(a, b) (y = 1 - x) is computed around the mean x0 = a / (a + b) as

    ½ ln(ab / (2π(a + b))) − ω(a) − ω(b) + ω(a + b) + a·L(x/x0 − 1) + b·L(y/y0 − 1)

with ω Stirling's remainder of ln Γ and L(u) = ln(1 + u) − u. The linear terms of the two
logarithms cancel exactly and are never formed, so that nothing of size √(a + b) is subtracted:
with 100,000 respondents a and b are 10⁵, and ln Γ differences would lose five digits. Every
point is carried as the pair (x, y), each accurate in its own right, and Newton's method moves
whichever is the smaller, so a quantile near 1 keeps its distance to 1 to full precision;
where the fraction's variable would be near 1 the small tail comes from the power series in
the other variable (DLMF 8.17.8).

Accuracy against SciPy (Boost) and R (tests/scoring/test_distributions.py): t and F at
.975 / .025, as scoring uses them, within 1e-14 relative up to 10⁶ degrees of freedom; any p in
[1e-3, 1 − 1e-3] within 1e-12 (t also down to 1e-6); F quantiles further out in a tail within
5e-11 (the worst seen, 1.15e-11, in the upper tail with df1 = 1 and df2 near 2·10⁶).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Stirling series of ω(z) = ln Γ(z) − (z − ½) ln z + z − ½ ln 2π: B_2k / (2k (2k − 1)).
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_STIRLING_FROM = 10.0  # the next term, 3617/122400 z⁻¹⁵, is below 1e-16 from here on
_SERIES_U = 0.25  # |u| below which L(u) comes from its series
_EPS = 1e-15
_MAX_FRACTION_TERMS = 5000
_FRACTION_DONE = 4e-16  # two ulps: the last factor of the fraction is 1 to rounding
_SCALAR_BELOW = 8
_TINY = 1e-300
_MAX_NEWTON = 100
_NEWTON_DONE = 1e-10
_SMALL = 0.05  # below this the other coordinate, 1 − it, has lost 4+ bits
_REDO = 0.999  # a computed tail above this leaves the other to cancellation
_SERIES_MAX = 200.0  # terms the series may spend growing before it converges


def _stirling_remainder(z: FloatArray) -> FloatArray:
    """ω(z) = ln Γ(z) − (z − ½) ln z + z − ½ ln 2π, for z > 0."""
    out = np.empty_like(z)
    big = z >= _STIRLING_FROM
    if big.any():
        r = 1.0 / z[big]
        r2 = r * r
        acc = np.zeros_like(r)
        for c in reversed(_STIRLING):
            acc = acc * r2 + c
        out[big] = acc * r
    small = ~big
    if small.any():
        # Below 10 ln Γ is at most 13, so the subtraction loses under two digits.
        zs = z[small]
        lg = np.array([math.lgamma(v) for v in zs.tolist()])
        out[small] = lg - (zs - 0.5) * np.log(zs) + zs - _HALF_LOG_2PI
    return out


def _log1p_minus(u: FloatArray, log_ratio: FloatArray) -> FloatArray:
    """L(u) = ln(1 + u) − u; ``log_ratio`` is ln(1 + u) (:func:`_log_ratio`).

    Near 0 it comes from ln(1 + u) = 2 atanh(s), s = u / (2 + u): L = −u² / (2 + u) + 2 Σ s^(2k+1)
    / (2k + 1), k ≥ 1, with no cancellation. Further out the two terms are of different size.
    """
    out = log_ratio - u
    near = np.abs(u) <= _SERIES_U
    if near.any():
        un = u[near]
        s = un / (2.0 + un)
        s2 = s * s
        acc = np.zeros_like(s)
        for k in range(13, 0, -1):  # s² ≤ 0.021 here: 13 terms leave < 1e-21
            acc = acc * s2 + 1.0 / (2 * k + 1)
        out[near] = -un * un / (2.0 + un) + 2.0 * s * s2 * acc
    return out


def _log_ratio(u: FloatArray, v: FloatArray, v0: FloatArray) -> FloatArray:
    """ln(v / v0) where v = v0 (1 + u): from u while that is accurate, else from the ratio.

    ``u`` comes from the one deviation d, exact to rounding; ln1p(u) then has an absolute
    error far below that of ln v − ln v0 (each of size |ln v|), which a or b up to 10⁵ multiply.
    """
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where computes both branches
        out: FloatArray = np.where((u >= -0.5) & (u <= 1.0), np.log1p(u), np.log(v / v0))
    return out


def _log_factor(a: FloatArray, b: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """ln(x^a y^b / B(a, b)) for y = 1 − x, both given (see the module docstring)."""
    total = a + b
    x0 = a / total
    y0 = b / total
    # One deviation d for both coordinates, taken from the smaller of each pair, so that
    # x = x0 + d and y = y0 − d hold together.
    d = np.where(x <= y, x - x0, y0 - y)
    u_x, u_y = d / x0, -d / y0
    lx = _log1p_minus(u_x, _log_ratio(u_x, x, x0))
    ly = _log1p_minus(u_y, _log_ratio(u_y, y, y0))
    const = (
        0.5 * np.log(a * b / total)
        - _HALF_LOG_2PI
        - _stirling_remainder(a)
        - _stirling_remainder(b)
        + _stirling_remainder(total)
    )
    out: FloatArray = const + a * lx + b * ly
    return out


def _fraction(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """The continued fraction of I_x(a, b) · a B(a, b) / (x^a y^b), modified Lentz."""
    if x.size <= _SCALAR_BELOW:
        # numpy's per-call cost dominates on a few elements (a Feldt interval has two).
        return np.array(
            [_fraction_one(*v) for v in zip(a.tolist(), b.tolist(), x.tolist(), strict=True)]
        )
    tiny = _TINY
    c = np.ones_like(x)
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = np.where(np.abs(d) < tiny, tiny, d)
    d = 1.0 / d
    h = d.copy()
    active = np.ones(x.shape, dtype=bool)
    for m in range(1, _MAX_FRACTION_TERMS + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        aa, bb, xx = a[idx], b[idx], x[idx]
        cc, dd, hh = c[idx], d[idx], h[idx]
        m2 = 2.0 * m
        for coef in (
            m * (bb - m) * xx / ((aa + m2 - 1.0) * (aa + m2)),
            -(aa + m) * (aa + bb + m) * xx / ((aa + m2) * (aa + m2 + 1.0)),
        ):
            dd = 1.0 + coef * dd
            dd = np.where(np.abs(dd) < tiny, tiny, dd)
            cc = 1.0 + coef / cc
            cc = np.where(np.abs(cc) < tiny, tiny, cc)
            dd = 1.0 / dd
            delta = cc * dd
            hh = hh * delta
        c[idx], d[idx], h[idx] = cc, dd, hh
        active[idx] = np.abs(delta - 1.0) > _FRACTION_DONE
    return h


def _fraction_one(a: float, b: float, x: float) -> float:
    """:func:`_fraction` of one point, in Python floats."""
    tiny = _TINY
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) >= tiny else tiny)
    h = d
    for m in range(1, _MAX_FRACTION_TERMS + 1):
        m2 = 2.0 * m
        delta = 1.0
        for coef in (
            m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)),
        ):
            d = 1.0 + coef * d
            d = 1.0 / (d if abs(d) >= tiny else tiny)
            c = 1.0 + coef / c
            c = c if abs(c) >= tiny else tiny
            delta = c * d
            h *= delta
        if abs(delta - 1.0) <= _FRACTION_DONE:
            break
    return h


def _series(a: FloatArray, b: FloatArray, x: FloatArray) -> FloatArray:
    """Σ_n (a + b)_n / (a + 1)_n x^n = I_x(a, b) · a B(a, b) / (x^a y^b) (DLMF 8.17.8).

    Every term is positive, so the sum is as accurate as x itself: the form for small x.
    """
    term = np.ones_like(x)
    total = np.ones_like(x)
    active = np.ones(x.shape, dtype=bool)
    for n in range(_MAX_FRACTION_TERMS):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        t = term[idx] * (a[idx] + b[idx] + n) * x[idx] / (a[idx] + 1.0 + n)
        term[idx] = t
        total[idx] += t
        # Past the largest term the rest is below t · r / (1 − r) with the ratio r < 1.
        ratio = (a[idx] + b[idx] + n + 1.0) * x[idx] / (a[idx] + 2.0 + n)
        active[idx] = ~((ratio < 0.5) & (t <= 1e-17 * total[idx]))
    return total


def _beta_tails(
    a: FloatArray, b: FloatArray, x: FloatArray, y: FloatArray, target: FloatArray | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]:
    """(I_x(a, b), 1 − I_x(a, b), ln of the density at x, which of the two is exact).

    ``target`` is the value of I_x a quantile search is after (None: I_x itself is wanted to
    full relative precision, as by :func:`beta_inc`).

    One tail is computed and the other is its complement; ``lower[i]`` says the first was
    computed. The continued fraction is used on the side of the mean where it converges fast,
    except where its variable would be near 1: there 1 − x has lost digits that the answer
    needs (a t quantile with 10⁵ degrees of freedom has y ≈ 4e-5), and the other tail comes
    from the power series in the small variable instead.
    """
    log_factor = _log_factor(a, b, x, y)
    near_x = x * (a + b + 2.0) < a + 1.0  # the fraction converges fast in x
    total = a + b
    # The series' terms grow while (a + b + n) x > a + 1 + n, then fall off within ~√a terms.
    series_y = near_x & (y < _SMALL) & (total * y - b <= _SERIES_MAX + 10.0 * np.sqrt(b))
    series_x = ~near_x & (x < _SMALL) & (total * x - a <= _SERIES_MAX + 10.0 * np.sqrt(a))
    lower = (near_x & ~series_y) | series_x
    first = np.empty_like(x)
    second = np.empty_like(x)
    for mask, in_x, method in (
        (near_x & ~series_y, True, _fraction),
        (series_x, True, _series),
        (~near_x & ~series_x, False, _fraction),
        (series_y, False, _series),
    ):
        if not mask.any():
            continue
        if in_x:
            first[mask] = np.exp(log_factor[mask]) / a[mask] * method(a[mask], b[mask], x[mask])
            second[mask] = 1.0 - first[mask]
        else:
            second[mask] = np.exp(log_factor[mask]) / b[mask] * method(b[mask], a[mask], y[mask])
            first[mask] = 1.0 - second[mask]
    # A series tail near 1 leaves the other, small, tail to a subtraction that would lose its
    # digits. Where that small tail is what is wanted, it comes from the fraction after all
    # (as good as x itself there); a quantile search only needs the side its target is on.
    if target is None:
        small_first = second > _REDO
        small_second = np.zeros(x.shape, dtype=bool)
    else:
        small_first = target < 1.0 - _REDO
        small_second = target > _REDO
    redo_x = series_y & small_first
    if redo_x.any():
        first[redo_x] = (
            np.exp(log_factor[redo_x]) / a[redo_x] * _fraction(a[redo_x], b[redo_x], x[redo_x])
        )
        second[redo_x] = 1.0 - first[redo_x]
        lower[redo_x] = True
    redo_y = series_x & small_second
    if redo_y.any():
        second[redo_y] = (
            np.exp(log_factor[redo_y]) / b[redo_y] * _fraction(b[redo_y], a[redo_y], y[redo_y])
        )
        first[redo_y] = 1.0 - second[redo_y]
        lower[redo_y] = False
    log_density = log_factor - np.log(x) - np.log(y)
    return first, second, log_density, lower


def beta_inc(a: Any, b: Any, x: Any) -> FloatArray:
    """Regularised incomplete beta I_x(a, b) (``scipy.special.betainc``), for tests mainly."""
    aa, bb, xx = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, x)))
    first, _, _, _ = _beta_tails(aa.ravel(), bb.ravel(), xx.ravel(), 1.0 - xx.ravel())
    return first.reshape(aa.shape)


def _beta_quantile(
    a: FloatArray, b: FloatArray, p: FloatArray, q: FloatArray, x: FloatArray, y: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(x, 1 − x) with I_x(a, b) = p (q = 1 − p given separately), from the start (x, y).

    Newton's method, kept inside a bracket that every evaluation narrows; a step that would
    leave the bracket is replaced by its midpoint (in whichever coordinate is small there).
    """
    lo_x, lo_y = np.zeros_like(x), np.ones_like(x)
    hi_x, hi_y = np.ones_like(x), np.zeros_like(x)
    active = np.ones(x.shape, dtype=bool)
    for _ in range(_MAX_NEWTON):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        ai, bi, pi, qi, xi, yi = a[idx], b[idx], p[idx], q[idx], x[idx], y[idx]
        first, second, log_density, lower = _beta_tails(ai, bi, xi, yi, pi)
        # I − p from the tail that was computed (the other is only its complement).
        resid = np.where(lower, first - pi, qi - second)
        below = resid < 0.0
        lo_x[idx] = np.where(below, xi, lo_x[idx])
        lo_y[idx] = np.where(below, yi, lo_y[idx])
        hi_x[idx] = np.where(below, hi_x[idx], xi)
        hi_y[idx] = np.where(below, hi_y[idx], yi)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            step = resid / np.exp(log_density)  # in x; y moves by −step
        move_x = xi <= yi
        new_x = np.where(move_x, xi - step, 1.0 - (yi + step))
        new_y = np.where(move_x, 1.0 - (xi - step), yi + step)
        lx, ly, hx, hy = lo_x[idx], lo_y[idx], hi_x[idx], hi_y[idx]
        inside = np.isfinite(step) & (new_x >= lx) & (new_x <= hx) & (new_y <= ly) & (new_y >= hy)
        # Bisect in the coordinate that is small over the bracket.
        left, right = hx <= 0.5, lx >= 0.5
        mid_x = np.where(left, 0.5 * (lx + hx), 0.5)
        mid_y = np.where(right, 0.5 * (ly + hy), 0.5)
        mid_x = np.where(right, 1.0 - mid_y, mid_x)
        mid_y = np.where(left, 1.0 - mid_x, mid_y)
        new_x = np.where(inside, new_x, mid_x)
        new_y = np.where(inside, new_y, mid_y)
        size = np.where(move_x, np.abs(new_x - xi) / np.maximum(xi, 1e-300), 0.0)
        size = np.where(move_x, size, np.abs(new_y - yi) / np.maximum(yi, 1e-300))
        x[idx], y[idx] = new_x, new_y
        # Newton converges quadratically: after a step of relative size 1e-10 the error is far
        # below the noise of I itself (~1e-15), and smaller steps only chase that noise.
        done = (inside & (size <= _NEWTON_DONE)) | (resid == 0.0)
        done |= np.minimum(hx - lx, ly - hy) <= _EPS * np.minimum(np.minimum(new_x, new_y), 1.0)
        active[idx] = ~done
    return x, y


def _normal_start(p: FloatArray) -> FloatArray:
    """Upper-tail-free normal quantile to about 4.5e-4 (A&S 26.2.23): a start only."""
    tail = np.minimum(p, 1.0 - p)
    t = np.sqrt(-2.0 * np.log(tail))
    z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (
        1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))
    )
    out: FloatArray = np.where(p < 0.5, -z, z)
    return out


def t_quantile(df: Any, p: Any) -> FloatArray:
    """Quantile of Student's t with ``df`` > 0 degrees of freedom (``scipy.special.stdtrit``).

    For p > ½, t = √(ν y / x) where I_x(ν/2, ½) = 2(1 − p) and y = 1 − x (A&S 26.7.1); p < ½ by
    symmetry. NaN where df ≤ 0 or p outside (0, 1).
    """
    nu, pp = np.broadcast_arrays(np.asarray(df, dtype=np.float64), np.asarray(p, dtype=np.float64))
    shape = nu.shape
    nu, pp = nu.ravel().copy(), pp.ravel().copy()
    out = np.full(nu.shape, np.nan)
    ok = (nu > 0) & (pp > 0) & (pp < 1) & np.isfinite(nu)
    out[ok & (pp == 0.5)] = 0.0
    work = ok & (pp != 0.5)
    if work.any():
        # Thousands of units share a few hundred sizes: solve each (df, p) once.
        v, pw = nu[work], pp[work]
        if np.all(pw == pw[0]):  # one p (the usual case): a 1-D unique is far cheaper
            distinct, inverse = np.unique(v, return_inverse=True)
            pairs = np.stack([distinct, np.full(distinct.shape, pw[0])])
        else:
            pairs, inverse = np.unique(np.stack([v, pw]), axis=1, return_inverse=True)
        out[work] = _t_quantile_distinct(pairs[0], pairs[1])[inverse.ravel()]
    return out.reshape(shape)


def _t_quantile_distinct(v: FloatArray, pw: FloatArray) -> FloatArray:
    """:func:`t_quantile` for df > 0 and p in (0, ½) ∪ (½, 1)."""
    upper = pw > 0.5
    tail = 2.0 * np.where(upper, 1.0 - pw, pw)  # two-sided tail, ≤ 1
    # Start: Cornish–Fisher expansion about the normal quantile (A&S 26.7.5).
    z = np.abs(_normal_start(tail / 2.0))
    z2 = z * z
    t0 = (
        z
        + z * (z2 + 1.0) / (4.0 * v)
        + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * v * v)
        + z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / (384.0 * v**3)
    )
    t2 = t0 * t0
    x, y = v / (v + t2), t2 / (v + t2)
    a, b = v / 2.0, np.full_like(v, 0.5)
    # Below 3 degrees of freedom the expansion is poor: start from the tails' power laws.
    few = v < 3.0
    if few.any():
        xs, ys = _beta_start(a[few], b[few], tail[few])
        x[few], y[few] = xs, ys
    x, y = _beta_quantile(a, b, tail, 1.0 - tail, x, y)
    t = np.sqrt(v * y / x)
    result: FloatArray = np.where(upper, t, -t)
    return result


def t_tail(df: Any, t: Any) -> FloatArray:
    """P(T ≤ t) for Student's t with ``df`` > 0 (``scipy.special.stdtr``).

    ½ I_x(ν/2, ½) with x = ν / (ν + t²) for t < 0; one minus that for t > 0.
    """
    nu, tt = np.broadcast_arrays(np.asarray(df, dtype=np.float64), np.asarray(t, dtype=np.float64))
    shape = nu.shape
    nu, tt = nu.ravel(), tt.ravel()
    out = np.full(nu.shape, np.nan)
    ok = (nu > 0) & np.isfinite(nu) & np.isfinite(tt)
    out[ok & (tt == 0)] = 0.5
    work = ok & (tt != 0)
    if work.any():
        v, tw = nu[work], tt[work]
        t2 = tw * tw
        x, y = v / (v + t2), t2 / (v + t2)
        first, _, _, _ = _beta_tails(v / 2.0, np.full_like(v, 0.5), x, y)
        half = 0.5 * first
        out[work] = np.where(tw < 0, half, 1.0 - half)
    return out.reshape(shape)


def f_quantile(df1: Any, df2: Any, p: Any) -> FloatArray:
    """Quantile of the F distribution with (df1, df2) degrees of freedom (``scipy.special.fdtri``).

    f = (df2 / df1) · x / y where I_x(df1/2, df2/2) = p and y = 1 − x (A&S 26.6.2). The start is
    A&S 26.5.22's normal approximation of the beta quantile.
    """
    d1, d2, pp = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (df1, df2, p)))
    shape = d1.shape
    d1, d2, pp = d1.ravel(), d2.ravel(), pp.ravel()
    out = np.full(d1.shape, np.nan)
    ok = (d1 > 0) & (d2 > 0) & (pp > 0) & (pp < 1) & np.isfinite(d1) & np.isfinite(d2)
    if ok.any():
        a, b, pw = d1[ok] / 2.0, d2[ok] / 2.0, pp[ok]
        x, y = _beta_start(a, b, pw)
        x, y = _beta_quantile(a, b, pw, 1.0 - pw, x, y)
        out[ok] = (d2[ok] / d1[ok]) * (x / y)
    return out.reshape(shape)


def _beta_start(a: FloatArray, b: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A start for I_x(a, b) = p: A&S 26.5.22 when a, b > 1, the tails' power laws otherwise."""
    z = -_normal_start(p)  # I_x = p at the lower tail ↔ the normal's upper point of 1 − p
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lam = (z * z - 3.0) / 6.0
        h = 2.0 / (1.0 / (2.0 * a - 1.0) + 1.0 / (2.0 * b - 1.0))
        w = z * np.sqrt(h + lam) / h - (1.0 / (2.0 * b - 1.0) - 1.0 / (2.0 * a - 1.0)) * (
            lam + 5.0 / 6.0 - 2.0 / (3.0 * h)
        )
        # x = a / (a + b e^{2w}); y = b e^{2w} / (a + b e^{2w}), each without cancellation.
        ratio = b / a * np.exp(2.0 * w)
        x = 1.0 / (1.0 + ratio)
        y = ratio / (1.0 + ratio)
    good = (a > 1.0) & (b > 1.0) & np.isfinite(x) & (x > 0) & (y > 0)
    # Otherwise: I_x ≈ x^a / (a B) near 0 and 1 − y^b / (b B) near 1 (B from ln Γ: small a, b).
    lb = np.array(
        [math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v) for u, v in zip(a, b, strict=True)]
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        xs = np.exp((np.log(p * a) + lb) / a)
        ys = np.exp((np.log((1.0 - p) * b) + lb) / b)
    use_x = xs <= 0.5
    x2 = np.clip(np.where(use_x, xs, 1.0 - ys), 1e-300, 1.0)
    y2 = np.clip(np.where(use_x, 1.0 - xs, ys), 1e-300, 1.0)
    return np.where(good, x, x2), np.where(good, y, y2)
