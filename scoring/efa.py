"""Exploratory factor analysis of a correlation matrix: KMO, Bartlett, parallel analysis."""

from __future__ import annotations

import math
import warnings as _warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scoring._linalg import FloatArray

#: Rotation of the loadings. Oblimin, not varimax: the scales of a safety-culture survey measure
#: related sides of one climate (their factors correlate around .3–.6), and an orthogonal rotation
#: would force those correlations into cross-loadings.
ROTATION = "oblimin"
#: Random correlation matrices drawn for parallel analysis.
PARALLEL_ITERATIONS = 100
#: Quantile of the random eigenvalues an observed eigenvalue must exceed (Glorfeld's 95%).
PARALLEL_QUANTILE = 0.95


@dataclass(frozen=True)
class Efa:
    """Result of :func:`efa`; every number unrounded, ``None`` where it cannot be computed."""

    items: tuple[str, ...]
    n: int
    kmo: float | None
    kmo_items: dict[str, float]
    bartlett_chi2: float | None
    bartlett_df: int
    bartlett_p: float | None
    eigenvalues: tuple[float, ...]
    random_eigenvalues: tuple[float, ...]
    n_factors: int
    rotation: str
    loadings: dict[str, tuple[float, ...]]
    factor_correlations: tuple[tuple[float, ...], ...] | None
    warnings: tuple[str, ...]


def kmo(r: FloatArray) -> tuple[float, FloatArray]:
    """Kaiser–Meyer–Olkin measure of sampling adequacy, overall and per item.

    With A the anti-image (partial) correlations a_ij = -q_ij / sqrt(q_ii q_jj), Q = R⁻¹:
    KMO = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} a_ij²), per item the same sums over j only.
    R: ``psych::KMO(R)$MSA`` and ``$MSAi``; factor-analyzer: ``calculate_kmo(x)``.
    """
    q = np.linalg.inv(r)
    d = np.sqrt(np.diag(q))
    a = -q / np.outer(d, d)
    off = ~np.eye(r.shape[0], dtype=bool)
    r2 = np.where(off, r * r, 0.0)
    a2 = np.where(off, a * a, 0.0)
    per_item: FloatArray = r2.sum(axis=0) / (r2.sum(axis=0) + a2.sum(axis=0))
    return float(r2.sum() / (r2.sum() + a2.sum())), per_item


def bartlett(r: FloatArray, n: int) -> tuple[float, int, float]:
    """Bartlett's test of sphericity: χ² = -(n - 1 - (2p + 5) / 6) · ln|R|, df = p(p - 1) / 2.

    R: ``psych::cortest.bartlett(R, n)``; factor-analyzer: ``calculate_bartlett_sphericity(x)``.
    """
    from scipy.stats import chi2 as chi2_dist

    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise ValueError("the correlation matrix is singular")
    stat = -(n - 1 - (2 * p + 5) / 6.0) * float(logdet)
    df = p * (p - 1) // 2
    return stat, df, float(chi2_dist.sf(stat, df))


def random_eigenvalues(
    p: int, n: int, *, iterations: int = PARALLEL_ITERATIONS, seed: int = 0
) -> FloatArray:
    """Eigenvalues (descending) of correlation matrices of n rows × p independent normals.

    Returns an ``iterations × p`` array. Instead of drawing n × p numbers, each matrix is drawn
    directly from the distribution it has: the cross-products of n centred normal rows are
    Wishart(n - 1, I), drawn with Bartlett's decomposition W = AAᵀ (A lower triangular, A_ii² ~
    χ²(n - 1 - i), A_ij ~ N(0, 1) below the diagonal), and R = D^-1/2 W D^-1/2. The cost is
    O(p³) per matrix whatever n is.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((iterations, p))
    rows, cols = np.tril_indices(p, k=-1)
    for t in range(iterations):
        a = np.zeros((p, p))
        a[np.arange(p), np.arange(p)] = np.sqrt(rng.chisquare(n - 1 - np.arange(p)))
        a[rows, cols] = rng.standard_normal(rows.size)
        w = a @ a.T
        d = np.sqrt(np.diag(w))
        out[t] = np.linalg.eigvalsh(w / np.outer(d, d))[::-1]
    return out


def efa(
    r: FloatArray,
    n: int,
    items: Sequence[str],
    *,
    n_factors: int | None = None,
    seed: int = 0,
) -> Efa:
    """Exploratory factor analysis of a correlation matrix of ``n`` complete rows.

    Parameters
    ----------
    r : numpy.ndarray
        p × p correlation matrix (from pooled sufficient statistics or from rows).
    n : int
        Number of rows it came from (listwise complete).
    items : Sequence[str]
        Item of each row and column.
    n_factors : int, optional
        Factors to extract; by default as many as parallel analysis suggests (at least 1).
    seed : int
        Seed of parallel analysis, so a report is rebuilt with the same numbers.

    Notes
    -----
    * KMO and Bartlett: :func:`kmo`, :func:`bartlett`.
    * Parallel analysis (Horn): eigenvalues of R against the 95th percentile of the eigenvalues
      of :data:`PARALLEL_ITERATIONS` random correlation matrices of the same n and p
      (:func:`random_eigenvalues`); the suggested number of factors is how many leading
      eigenvalues exceed theirs. R: ``psych::fa.parallel(x, fa = "pc")`` (which simulates rows).
    * Loadings: factor-analyzer's minimum-residual fit of R (``FactorAnalyzer(method="minres",
      is_corr_matrix=True)``) with an oblimin rotation (:data:`ROTATION`) — R
      ``psych::fa(R, nfactors, rotate = "oblimin", fm = "minres")``.
    """
    from factor_analyzer import FactorAnalyzer

    r = np.asarray(r, dtype=np.float64)
    p = r.shape[0]
    if r.shape != (p, p) or len(items) != p:
        raise ValueError("the correlation matrix must be square with one name per item")
    if p < 3:
        raise ValueError("factor analysis needs at least 3 items")
    notes: list[str] = []
    if not np.all(np.isfinite(r)):
        raise ValueError("the correlation matrix has a missing value")
    eigen = np.linalg.eigvalsh(r)[::-1]
    if eigen[-1] <= 1e-10:
        notes.append("the correlation matrix is singular: KMO and Bartlett are not defined")
        kmo_total, kmo_items, chi2, p_value = None, {}, None, None
    else:
        total, per_item = kmo(r)
        kmo_total = total
        kmo_items = {name: float(v) for name, v in zip(items, per_item, strict=True)}
        chi2, _, p_value = bartlett(r, n)
    null = np.quantile(random_eigenvalues(p, n, seed=seed), PARALLEL_QUANTILE, axis=0)
    above = eigen > null
    suggested = int(np.argmin(above)) if not above.all() else p
    k = n_factors if n_factors is not None else max(suggested, 1)
    if not 1 <= k < p:
        raise ValueError(f"cannot extract {k} factors from {p} items")
    rotation = ROTATION if k > 1 else "none"
    fa = FactorAnalyzer(
        n_factors=k,
        rotation=None if k == 1 else ROTATION,
        method="minres",
        is_corr_matrix=True,
        svd_method="lapack",
    )
    with _warnings.catch_warnings():
        # factor-analyzer 0.5 still passes scikit-learn's renamed ``force_all_finite`` argument;
        # the FutureWarning is about their call, not about our data.
        _warnings.simplefilter("ignore", category=FutureWarning)
        fa.fit(r)
    loadings = np.asarray(fa.loadings_, dtype=np.float64)
    # A factor's sign is arbitrary: show each with its largest loadings positive.
    sign = np.where(loadings.sum(axis=0) < 0, -1.0, 1.0)
    loadings = loadings * sign
    phi = getattr(fa, "phi_", None)
    correlations = None
    if phi is not None and k > 1:
        phi = np.asarray(phi) * np.outer(sign, sign)
        correlations = tuple(tuple(float(v) for v in row) for row in phi)
    if np.any(np.abs(loadings) > 1.0 + 1e-9):
        notes.append("a loading exceeds 1 (Heywood case): read the loadings with care")
    return Efa(
        items=tuple(items),
        n=int(n),
        kmo=kmo_total,
        kmo_items=kmo_items,
        bartlett_chi2=chi2,
        bartlett_df=p * (p - 1) // 2,
        bartlett_p=p_value,
        eigenvalues=tuple(float(v) for v in eigen),
        random_eigenvalues=tuple(float(v) for v in null),
        n_factors=k,
        rotation=rotation,
        loadings={
            name: tuple(float(v) for v in row) for name, row in zip(items, loadings, strict=True)
        },
        factor_correlations=correlations,
        warnings=tuple(notes),
    )


def correlation(cov: FloatArray) -> FloatArray:
    """Correlation matrix of a covariance matrix (cov2cor)."""
    d = np.sqrt(np.diag(cov))
    if not np.all(d > 0) or not all(math.isfinite(v) for v in d):
        raise ValueError("an item has no variance")
    out: FloatArray = cov / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return out
