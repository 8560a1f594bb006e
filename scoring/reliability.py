"""Internal consistency of a scale: Cronbach's alpha, Feldt interval, item-total r, omega total."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring._distributions import f_quantile
from scoring._linalg import FloatArray, pairwise_moments

MIN_OK = 100
MIN_UNSTABLE = 30
#: psych::fa keeps every uniqueness of a minres fit at or above this bound (optim's lower limit).
_PSYCH_MIN_UNIQUENESS = 0.005
_MAX_FIT_STEPS = 200
_FIT_STEP_DONE = 1e-13


@dataclass(frozen=True)
class Reliability:
    """Reliability of one scale; every statistic is unrounded, ``None`` when it cannot be computed.

    ``status`` is ``"ok"`` (at least 100 complete cases), ``"unstable"`` (30–99) or
    ``"insufficient"`` (fewer than 30; then every statistic is ``None`` and the dicts are empty).
    ``warnings`` gives the reason for every ``None`` and for anything a reader should know.
    """

    alpha: float | None
    alpha_ci: tuple[float, float] | None
    omega_total: float | None
    n_complete: int
    item_total: dict[str, float]
    alpha_if_deleted: dict[str, float]
    status: str
    warnings: tuple[str, ...]


def _status(n_complete: int) -> str:
    if n_complete >= MIN_OK:
        return "ok"
    if n_complete >= MIN_UNSTABLE:
        return "unstable"
    return "insufficient"


def _alpha_from_cov(c: FloatArray) -> float | None:
    k = c.shape[0]
    total = float(c.sum())
    if k < 2 or not math.isfinite(total) or total <= 0.0:
        return None
    return float((1.0 - float(np.trace(c)) / total) * k / (k - 1))


def _feldt(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    # Our own F quantile: importing scipy.special for it was a tenth of the CLI's run.
    tail = (1.0 - level) / 2.0
    df1, df2 = n - 1, (n - 1) * (k - 1)
    upper_q, lower_q = f_quantile(df1, df2, [1.0 - tail, tail]).tolist()
    return 1.0 - (1.0 - alpha) * upper_q, 1.0 - (1.0 - alpha) * lower_q


def _minres_one_factor(r: FloatArray) -> FloatArray | None:
    """Loadings of a one-factor minimum-residual fit: argmin f(λ) = Σ_{i<j} (r_ij − λ_i λ_j)².

    Newton's method on f with a backtracking line search, from a principal-axis start; where
    the Hessian is not positive definite the Gauss–Newton matrix (always positive
    semi-definite, ridged) takes its place, as in Levenberg–Marquardt. With p ≤ a dozen items
    each step is one small linear solve. ``None`` if it does not converge.
    """
    p = r.shape[0]
    off = ~np.eye(p, dtype=bool)
    # Start from a principal-axis step with squared multiple correlations as communalities.
    try:
        smc = 1.0 - 1.0 / np.diag(np.linalg.inv(r))
    except np.linalg.LinAlgError:
        smc = np.max(np.abs(r - np.eye(p)), axis=0)
    if not np.all(np.isfinite(smc)):
        smc = np.max(np.abs(r - np.eye(p)), axis=0)
    reduced = r.copy()
    np.fill_diagonal(reduced, np.clip(smc, 0.0, 1.0))
    values, vectors = np.linalg.eigh(reduced)
    lam: FloatArray = vectors[:, -1] * math.sqrt(max(values[-1], 1e-6))

    def loss(v: FloatArray) -> float:
        e = (r - np.outer(v, v))[off]
        return 0.5 * float(e @ e)  # each pair counted twice

    current = loss(lam)
    for _ in range(_MAX_FIT_STEPS):
        outer = np.outer(lam, lam)
        resid = np.where(off, r - outer, 0.0)
        grad = -2.0 * (resid @ lam)
        square = float(lam @ lam)
        gauss = 2.0 * np.where(off, outer, 0.0)
        np.fill_diagonal(gauss, 2.0 * (square - lam * lam))
        hess = gauss - 2.0 * resid
        step = _descent_step(hess, gauss, grad)
        if step is None:
            return None
        t = 1.0
        while True:
            trial = lam + t * step
            value = loss(trial)
            if value <= current + 1e-4 * t * float(grad @ step) or t < 1e-10:
                break
            t *= 0.5
        size = float(np.max(np.abs(trial - lam)))
        lam, current = trial, value
        if size <= _FIT_STEP_DONE * max(1.0, float(np.max(np.abs(lam)))):
            return lam if np.all(np.isfinite(lam)) else None
    return None


def _descent_step(hess: FloatArray, gauss: FloatArray, grad: FloatArray) -> FloatArray | None:
    """Newton's step where the Hessian is positive definite, else a ridged Gauss–Newton one."""
    for matrix in (hess, gauss):
        for ridge in (0.0, 1e-10, 1e-6, 1e-2):
            m = matrix + ridge * max(1.0, float(np.max(np.abs(np.diag(matrix))))) * np.eye(
                grad.size
            )
            try:
                chol = np.linalg.cholesky(m)
            except np.linalg.LinAlgError:
                continue
            step: FloatArray = -np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
            if np.all(np.isfinite(step)):
                return step
    return None


def _omega_total(cor: FloatArray, names: list[str], warnings: list[str]) -> float | None:
    p = cor.shape[0]
    if p < 3:
        # A one-factor model has as many loadings as there are correlations with 2 items.
        warnings.append("omega total needs at least 3 items (one factor is not identified)")
        return None
    if not np.all(np.isfinite(cor)):
        warnings.append("omega total: some item pair has no pairwise-complete correlation")
        return None
    lam = _minres_one_factor(cor)
    if lam is None:
        warnings.append("omega total: the one-factor minres fit did not converge")
        return None
    if lam.sum() < 0:
        lam = -lam
    h2 = lam * lam
    if np.any(h2 > 1.0 - _PSYCH_MIN_UNIQUENESS):
        bad = [n for n, h in zip(names, h2, strict=True) if h > 1.0 - _PSYCH_MIN_UNIQUENESS]
        warnings.append(
            "omega total: Heywood case (communality at or above 1) for " + ", ".join(bad)
        )
        return None
    # psych::omega reflects items whose general loading is negative before summing R.
    key = np.where(lam < 0, -1.0, 1.0)
    if np.any(key < 0):
        flipped = [n for n, s in zip(names, key, strict=True) if s < 0]
        warnings.append(
            "omega total: negative loading, item reflected as psych::omega does: "
            + ", ".join(flipped)
        )
    total = float((cor * np.outer(key, key)).sum())
    uniqueness = float((1.0 - h2).sum())
    return 1.0 - uniqueness / total


def reliability(items: pd.DataFrame) -> Reliability:
    """Cronbach's alpha, its Feldt interval, corrected item-total r and McDonald's omega total.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item of the scale, already reverse-scored; NaN is a missing answer.

    Returns
    -------
    Reliability
        Unrounded statistics; any that cannot be computed is ``None`` with a reason in
        ``warnings``. No NaN is ever returned.

    Notes
    -----
    Missing data: covariances are pairwise-complete (R ``cov(x, use = "pairwise")``), exactly
    as ``psych::alpha`` uses them; the Feldt interval and ``status`` use the number of complete
    cases. Rows with every item missing change nothing.

    With C the k × k pairwise covariance matrix:

    * alpha = k / (k - 1) · (1 - tr C / 1ᵀC1) — ``psych::alpha(x)$total$raw_alpha``.
    * Feldt 95% interval: 1 - (1 - alpha) · F(q; n - 1, (n - 1)(k - 1)) with q = .975 for the lower
      and .025 for the upper limit, n = complete cases — ``psych::alpha.ci(alpha, n, k)``.
    * item-total r (item dropped from the total): (Σ_j C_ij - C_ii) / sqrt(C_ii · 1ᵀC₋ᵢ1) —
      ``psych::alpha(x)$item.stats$r.drop``.
    * alpha if item deleted: alpha of C with row and column i removed —
      ``psych::alpha(x)$alpha.drop$raw_alpha``; only for k ≥ 3 (psych reports a regression slope,
      not an alpha, for k = 2; we report nothing and say so).
    * omega total = 1 - Σψ / 1ᵀR1 with R the pairwise correlation matrix and ψ = 1 - λ² from a
      one-factor minimum-residual fit (least squares on the off-diagonal correlations) —
      ``psych::omega(x, nfactors = 1)$omega.tot``. Items with a negative loading are reflected
      in R as psych does. A Heywood case (λ² ≥ .995, where psych's bounded optimiser stops) gives
      ``None``.

    A constant item (zero variance) makes every statistic ``None``: psych silently drops such an
    item, which would publish the reliability of a different scale.
    """
    names = [str(c) for c in items.columns]
    k = len(names)
    x = items.to_numpy(dtype=np.float64, na_value=np.nan)
    n_complete = int(np.count_nonzero(~np.isnan(x).any(axis=1))) if k else 0
    if k < 2 or _status(n_complete) == "insufficient":
        empty = np.full((k, k), np.nan)
        return reliability_from_covariance(empty, empty, n_complete, names)
    moments = pairwise_moments(x)
    return reliability_from_covariance(moments.cov, moments.cor, n_complete, names)


def reliability_from_covariance(
    c: FloatArray, cor: FloatArray, n_complete: int, names: list[str]
) -> Reliability:
    """:func:`reliability` from a covariance matrix ``c`` (divisor n - 1) and its correlations.

    ``n_complete`` is the number of complete cases (Feldt interval and status). Used for
    statistics pooled from several jurisdictions without their rows
    (:func:`scoring.sufficient.reliability_from_moments`).
    """
    k = len(names)
    status = _status(n_complete)
    warnings: list[str] = []

    def empty(*reasons: str) -> Reliability:
        return Reliability(
            alpha=None,
            alpha_ci=None,
            omega_total=None,
            n_complete=n_complete,
            item_total={},
            alpha_if_deleted={},
            status=status,
            warnings=tuple(warnings) + reasons,
        )

    if k < 2:
        return empty("reliability needs at least 2 items")
    if status == "insufficient":
        return empty(f"only {n_complete} complete cases (at least {MIN_UNSTABLE} needed)")

    variances = np.diag(c)
    constant = [n for n, v in zip(names, variances, strict=True) if not v > 0.0]
    if constant:
        return empty("constant item (no variance): " + ", ".join(constant))
    if not np.all(np.isfinite(c)):
        return empty("some item pair is never answered together (no pairwise covariance)")

    alpha = _alpha_from_cov(c)
    alpha_ci: tuple[float, float] | None = None
    if alpha is None:
        warnings.append("alpha: the total-score variance is not positive")
    else:
        alpha_ci = _feldt(alpha, n_complete, k)

    item_total: dict[str, float] = {}
    alpha_if_deleted: dict[str, float] = {}
    total = float(c.sum())
    row_sums = c.sum(axis=1)
    for i, name in enumerate(names):
        rest_var = total - 2.0 * row_sums[i] + variances[i]
        if rest_var > 0.0:
            item_total[name] = float(
                (row_sums[i] - variances[i]) / math.sqrt(variances[i] * rest_var)
            )
        else:
            warnings.append(f"item-total r of {name}: the rest score has no variance")
        if k >= 3:
            keep = np.arange(k) != i
            a = _alpha_from_cov(c[np.ix_(keep, keep)])
            if a is None:
                warnings.append(f"alpha if {name} deleted: the total variance is not positive")
            else:
                alpha_if_deleted[name] = a
    if k == 2:
        warnings.append("alpha if item deleted needs at least 3 items")

    omega = _omega_total(cor, names, warnings)
    return Reliability(
        alpha=alpha,
        alpha_ci=alpha_ci,
        omega_total=omega,
        n_complete=n_complete,
        item_total=item_total,
        alpha_if_deleted=alpha_if_deleted,
        status=status,
        warnings=tuple(warnings),
    )
