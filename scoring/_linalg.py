"""Shared numpy helpers: pairwise-complete moments of item matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PairwiseMoments:
    """Covariances and correlations from pairwise-complete observations.

    ``cov[i, j]`` is R's ``cov(x, use = "pairwise")``: means and the (n - 1) divisor are taken over
    the rows where both items are present. ``cor[i, j]`` is R's ``cor(x, use = "pairwise")``: the
    standard deviations are also taken over those joint rows (so ``cor`` is not ``cov2cor(cov)``).
    ``n[i, j]`` counts the joint rows. Entries with fewer than two joint rows are NaN.
    """

    cov: FloatArray
    cor: FloatArray
    n: FloatArray


def pairwise_moments(x: FloatArray) -> PairwiseMoments:
    """Pairwise-complete covariance and correlation matrices of ``x`` (rows × items, NaN missing).

    Works with five matrix products over the data, so it costs O(rows × items²) in numpy and no
    Python loop over rows or item pairs.
    """
    present = ~np.isnan(x)
    m = present.astype(np.float64)
    # Centre each column on its available-case mean first: covariances are shift invariant and
    # the centred sums lose far less precision than raw sums of squares.
    with np.errstate(invalid="ignore"):
        col_n = m.sum(axis=0)
        col_mean = np.where(col_n > 0, np.nansum(x, axis=0) / np.maximum(col_n, 1.0), 0.0)
    z = np.where(present, x - col_mean, 0.0)
    n = m.T @ m
    sx = z.T @ m  # sx[i, j] = sum of item i over rows where item j is present (and i is)
    sxx = (z * z).T @ m
    sxy = z.T @ z
    with np.errstate(invalid="ignore", divide="ignore"):
        enough = n >= 2
        denom = np.where(enough, n - 1.0, np.nan)
        nn = np.where(enough, n, np.nan)
        cov = (sxy - sx * sx.T / nn) / denom
        var_i = (sxx - sx * sx / nn) / denom  # variance of item i on the rows joint with j
        var_i = np.maximum(var_i, 0.0)
        cor = cov / np.sqrt(var_i * var_i.T)
    np.fill_diagonal(cor, np.where(np.diag(enough), 1.0, np.nan))
    return PairwiseMoments(cov=cov, cor=cor, n=n)
