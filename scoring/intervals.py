"""Intervals that stay inside their range at team size, changes with a Holm adjustment, ranks."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from scoring._distributions import t_quantile, t_tail

FloatArray = npt.NDArray[np.float64]

#: Two-sided 95%: the standard normal quantile 0.975.
Z95 = 1.959963984540054
#: A change smaller than this (percentage points) is never called a change.
MIN_CHANGE_PP = 5.0
#: Percentile ranks and benchmark percentiles need at least this many comparable units.
MIN_RANK_UNITS = 20
#: Levels of the benchmark percentiles.
BENCHMARK_LEVELS = (10, 25, 50, 75, 90)
#: Two values closer than this are tied in a rank (unit % positive are ratios of small counts).
_TIE = 1e-9


def wilson(
    positive: npt.ArrayLike, n: npt.ArrayLike, *, z: float = Z95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a proportion, in percent (0–100); NaN where ``n <= 0``.

    Parameters
    ----------
    positive, n : array_like
        Number of positive answers and of answers; ``n`` may be fractional (an effective
        count, see :func:`headline_interval`).
    z : float
        Normal quantile (1.96 for 95%).

    Notes
    -----
    With p = positive / n::

        centre = (p + z² / 2n) / (1 + z² / n)
        half   = z / (1 + z² / n) · sqrt(p (1 - p) / n + z² / 4n²)

    The interval always lies inside [0, 100], is never empty at p = 0 or 1, and keeps close
    to its nominal coverage at n = 5–12 where the Wald interval fails (Brown, Cai & DasGupta
    2001, Statistical Science 16:101). R: ``prop.test(x, n, correct = FALSE)$conf.int``.
    """
    k = np.asarray(positive, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    lo = np.full(np.broadcast(k, m).shape, np.nan)
    hi = lo.copy()
    ok = np.broadcast_to(m > 0, lo.shape)
    kk, mm = np.broadcast_to(k, lo.shape)[ok], np.broadcast_to(m, lo.shape)[ok]
    p = np.clip(kk / mm, 0.0, 1.0)
    z2 = z * z
    denom = 1.0 + z2 / mm
    centre = (p + z2 / (2.0 * mm)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / mm + z2 / (4.0 * mm * mm))
    lo[ok] = np.clip(centre - half, 0.0, 1.0) * 100.0
    hi[ok] = np.clip(centre + half, 0.0, 1.0) * 100.0
    return lo, hi


def effective_count(
    pct: npt.ArrayLike, variance: npt.ArrayLike, n: npt.ArrayLike, cap: npt.ArrayLike
) -> FloatArray:
    """Effective count of a headline: p(1 - p) / Var(p) · (z / t(n - 1))².

    ``pct`` in percent, ``variance`` of the proportion (0–1 scale), ``n`` respondents and
    ``cap`` the number of answers behind it (no more information than that many independent
    answers; also used where Var is 0 inside (0, 1)); at 0% or 100% the count is ``n``. The
    factor (z / t)² is Korn & Graubard's (1998) degrees-of-freedom adjustment for a variance
    estimated from n respondents. See :func:`headline_interval`.
    """
    p = np.asarray(pct, dtype=np.float64) / 100.0
    v = np.asarray(variance, dtype=np.float64)
    nn = np.asarray(n, dtype=np.float64)
    top = np.asarray(cap, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        neff = p * (1.0 - p) / v
    at_bound = (p <= 0.0) | (p >= 1.0)
    neff = np.where(at_bound, nn, neff)
    neff = np.where(~at_bound & ~(v > 0), top, neff)
    neff = np.clip(neff, np.minimum(1.0, top), top)
    # Korn & Graubard's degrees-of-freedom adjustment: the variance is estimated from n
    # respondents, so the count is shrunk by (z / t(n - 1))² (half at n = 5, 0.8 at n = 12).
    with np.errstate(invalid="ignore"):
        t = _t975(np.maximum(nn - 1.0, 1.0))
    out: FloatArray = neff * (Z95 / t) ** 2
    return out


def headline_interval(
    pct: npt.ArrayLike, n_effective: npt.ArrayLike, *, z: float = Z95
) -> tuple[FloatArray, FloatArray]:
    """95% interval of a scale's headline % positive (the mean of its items' % positive).

    The headline p̄ = (1/J) Σ_j k_j / n_j averages J proportions answered by the same people,
    so its variance is estimated from respondents (linearisation, as for a ratio in a cluster
    sample): each respondent i contributes d_i = (1/J) Σ_j a_ij (z_ij - p_j) / n_j (a: answered,
    z: positive), Var(p̄) = n/(n - 1) Σ d_i². The Wilson interval is then taken at p̄ with the
    effective count n_eff = p̄(1 - p̄) / Var(p̄) (Korn & Graubard 1998, Survey Methodology
    24:193; the "Wilson with effective sample size" of Dean & Pagano 2015, Int Stat Rev 83:16).
    Like Wilson it stays inside [0, 100] and does not collapse at 0% or 100%. Where Var is 0,
    n_eff is the respondent count at 0%/100% and the answer count otherwise.
    """
    p = np.asarray(pct, dtype=np.float64) / 100.0
    neff = np.asarray(n_effective, dtype=np.float64)
    return wilson(p * neff, neff, z=z)


def mean_interval(
    mean: npt.ArrayLike, sd: npt.ArrayLike, n: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """95% interval of a mean 0–100 score, always inside [0, 100]; NaN where ``n < 2``.

    The t interval is built on the logit scale and transformed back (delta method):
    with m = mean/100 and se = sd / (100 √n)::

        logit(m) ± t(.975, n - 1) · se / (m (1 - m))   →   100 · expit(...)

    This is the "logit" interval R's ``survey::svyciprop(method = "logit")`` uses for a
    bounded mean; unlike clipping it keeps the interval asymmetric near the bounds (a team
    at 92 gets 81–97, not 80–104 cut to 80–100). At m = 0 or 100 every respondent scored the
    bound (sd = 0) and the interval is that point, as the t interval would be.
    """
    m = np.asarray(mean, dtype=np.float64) / 100.0
    s = np.asarray(sd, dtype=np.float64) / 100.0
    nn = np.asarray(n, dtype=np.float64)
    lo = np.full(np.broadcast(m, s, nn).shape, np.nan)
    hi = lo.copy()
    ok = (nn >= 2) & np.isfinite(m) & np.isfinite(s)
    if not ok.any():
        return lo, hi
    mm, ss, n_ok = m[ok], s[ok], nn[ok]
    t = _t975(n_ok - 1.0)
    inner = (mm > 0.0) & (mm < 1.0) & (ss > 0.0)
    low = mm.copy()
    high = mm.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        half = t * ss / np.sqrt(n_ok) / (mm * (1.0 - mm))
        clipped = np.clip(mm, 1e-12, 1 - 1e-12)
        centre = np.log(clipped / (1.0 - clipped))
    low[inner] = _expit(centre[inner] - half[inner])
    high[inner] = _expit(centre[inner] + half[inner])
    lo[ok] = low * 100.0
    hi[ok] = high * 100.0
    return lo, hi


def change_interval(
    before: npt.ArrayLike,
    neff_before: npt.ArrayLike,
    after: npt.ArrayLike,
    neff_after: npt.ArrayLike,
    *,
    z: float = Z95,
) -> tuple[FloatArray, FloatArray]:
    """Interval of Δ = after − before (percentage points) from the two Wilson intervals.

    Newcombe's hybrid score interval (Newcombe 1998, Statistics in Medicine 17:873,
    method 10)::

        L = Δ - sqrt((p_a - l_a)² + (u_b - p_b)²)
        U = Δ + sqrt((u_a - p_a)² + (p_b - l_b)²)

    with (l, u) the Wilson limits of each wave at its effective count; it stays inside
    [-100, 100]. R: ``DescTools::BinomDiffCI(method = "score")`` for integer counts.
    """
    pb = np.asarray(before, dtype=np.float64)
    pa = np.asarray(after, dtype=np.float64)
    lb, ub = headline_interval(pb, neff_before, z=z)
    la, ua = headline_interval(pa, neff_after, z=z)
    delta = pa - pb
    low = delta - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = delta + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    return low, high


def change_p_value(
    before: npt.ArrayLike,
    neff_before: npt.ArrayLike,
    after: npt.ArrayLike,
    neff_after: npt.ArrayLike,
    df: npt.ArrayLike | None = None,
) -> FloatArray:
    """Two-sided p-value of Δ by inverting :func:`change_interval`.

    The quantile z* at which the interval just touches 0 is found by bisection; p is its
    two-sided tail, from Student's t with ``df`` degrees of freedom when given (the two
    waves' respondents minus 2: both variances are estimated, and Holm's first steps look at
    p < .05 / 8 where the normal tail is too thin), else from the normal. With the normal,
    "p < .05" and "the 95% interval excludes 0" agree exactly; with t, p < .05 implies it.
    p = 1 when Δ = 0.
    """
    pb = np.atleast_1d(np.asarray(before, dtype=np.float64))
    pa = np.atleast_1d(np.asarray(after, dtype=np.float64))
    nb = np.broadcast_to(np.asarray(neff_before, dtype=np.float64), pb.shape)
    na = np.broadcast_to(np.asarray(neff_after, dtype=np.float64), pa.shape)
    delta = pa - pb
    lo_z = np.zeros(pb.shape)
    hi_z = np.full(pb.shape, 40.0)
    for _ in range(60):
        mid = (lo_z + hi_z) / 2.0
        low, high = _change_at(pb, nb, pa, na, mid)
        excludes = np.where(delta > 0, low > 0, high < 0)
        lo_z = np.where(excludes, mid, lo_z)
        hi_z = np.where(excludes, hi_z, mid)
    z_star = (lo_z + hi_z) / 2.0
    if df is None:
        # Two-sided normal tail 2Φ(−z) = erfc(z / √2).
        p: FloatArray = np.array([math.erfc(v / math.sqrt(2.0)) for v in z_star.ravel().tolist()])
        p = p.reshape(z_star.shape)
    else:
        dof = np.maximum(np.broadcast_to(np.asarray(df, dtype=np.float64), z_star.shape), 1.0)
        p = 2.0 * t_tail(dof, -z_star)
    p = np.where(delta == 0, 1.0, p)
    p = np.where(np.isfinite(delta) & (nb > 0) & (na > 0), p, np.nan)
    return p


def _change_at(
    pb: FloatArray, nb: npt.ArrayLike, pa: FloatArray, na: npt.ArrayLike, z: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """:func:`change_interval` with one z per element."""
    nbf = np.asarray(nb, dtype=np.float64)
    naf = np.asarray(na, dtype=np.float64)

    def limits(p: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
        q = p / 100.0
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (q + z2 / (2.0 * n)) / denom
        half = z / denom * np.sqrt(q * (1.0 - q) / n + z2 / (4.0 * n * n))
        return np.clip(centre - half, 0, 1) * 100.0, np.clip(centre + half, 0, 1) * 100.0

    with np.errstate(divide="ignore", invalid="ignore"):
        lb, ub = limits(pb, nbf)
        la, ua = limits(pa, naf)
    delta = pa - pb
    return (
        delta - np.sqrt((pa - la) ** 2 + (ub - pb) ** 2),
        delta + np.sqrt((ua - pa) ** 2 + (pb - lb) ** 2),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (R: ``p.adjust(p, method = "holm")``).

    Sorted ascending p_(1) ≤ … ≤ p_(m): adjusted p_(i) = max_{j ≤ i} min(1, (m − j + 1) p_(j)).
    Controls the chance of calling any of the m scales changed when none is at α.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        out[i] = running
    return out


def percentiles(values: npt.ArrayLike, levels: Sequence[float] = BENCHMARK_LEVELS) -> FloatArray:
    """Percentiles of unit figures, every unit weighted equally (R ``quantile(type = 7)``)."""
    v = np.asarray(values, dtype=np.float64)
    out: FloatArray = np.percentile(v, list(levels), method="linear")
    return out


def percentile_rank(values: npt.ArrayLike, of: npt.ArrayLike) -> FloatArray:
    """Percentile rank of each ``of`` among ``values``: 100 · (below + ties / 2) / N.

    Ties (within 1e-9) count half, so a unit equal to the median of the group ranks 50 and a
    unit tied with every other unit ranks 50. ``of`` need not be among ``values`` (a unit of a
    jurisdiction that does not share). This is the only percentile rank in the project;
    ranks are only published among at least :data:`MIN_RANK_UNITS` units.
    """
    v = np.sort(np.asarray(values, dtype=np.float64))
    x = np.asarray(of, dtype=np.float64)
    if v.size == 0:
        return np.full(x.shape, np.nan)
    below = np.searchsorted(v, x - _TIE, side="left")
    upto = np.searchsorted(v, x + _TIE, side="right")
    out: FloatArray = 100.0 * (below + (upto - below) / 2.0) / v.size
    return out


def finite(x: float | None) -> float | None:
    """``x`` as a float, or None if missing or not finite."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def _t975(df: FloatArray) -> FloatArray:
    """Upper 97.5% point of Student's t with ``df`` degrees of freedom."""
    return t_quantile(df, 0.975)


def _expit(x: FloatArray) -> FloatArray:
    """1 / (1 + e^−x), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    out: FloatArray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out
