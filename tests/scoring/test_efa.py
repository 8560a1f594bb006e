"""Exploratory factor analysis of the pooled national correlation matrix, checked against psych."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin
import pytest
from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo

from scoring.efa import correlation, efa, random_eigenvalues
from scoring.sufficient import SufficientStatistics, pool, reliability_from_moments
from scoring.sufficient import sufficient_statistics as stats_of

DATA = Path(__file__).parents[1] / "data" / "r"
REF = json.loads((DATA / "reference_national.json").read_text())
SCALES = {s: [f"{s}{i}" for i in range(1, 5)] for s in "abc"}
ITEMS = [i for members in SCALES.values() for i in members]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "generated_national.csv")


@pytest.fixture(scope="module")
def national(rows: pd.DataFrame) -> SufficientStatistics:
    return pool(
        stats_of(p[ITEMS], SCALES, points=5, language=p["language"])
        for _, p in rows.groupby("jurisdiction")
    )


def test_kmo_and_bartlett_from_contributions_equal_psych_and_factor_analyzer(
    national: SufficientStatistics, rows: pd.DataFrame
) -> None:
    m = national.combined().instrument
    result = efa(correlation(m.covariance()), m.n, m.items)
    ref = REF["efa"]
    assert result.n == ref["n"]
    assert result.kmo == pytest.approx(ref["kmo"], abs=1e-6)
    assert result.kmo_items == pytest.approx(ref["kmo_items"], abs=1e-6)
    assert result.bartlett_chi2 == pytest.approx(ref["bartlett_chi2"], rel=1e-9)
    assert result.bartlett_df == ref["bartlett_df"]
    complete = rows[ITEMS].dropna().to_numpy()
    fa_items, fa_total = calculate_kmo(complete)
    chi2, _ = calculate_bartlett_sphericity(complete)
    assert result.kmo == pytest.approx(fa_total, abs=1e-9)
    assert list(result.kmo_items.values()) == pytest.approx(list(fa_items), abs=1e-9)
    assert result.bartlett_chi2 == pytest.approx(chi2, rel=1e-9)


def test_parallel_analysis_finds_the_three_generated_scales_and_loadings_follow_them(
    national: SufficientStatistics,
) -> None:
    m = national.combined().instrument
    result = efa(correlation(m.covariance()), m.n, m.items, seed=7)
    assert result.n_factors == 3
    assert result.rotation == "oblimin"
    owner = {}
    for item, row in result.loadings.items():
        owner.setdefault(item[0], set()).add(int(np.argmax(np.abs(row))))
    # Each scale's items load mostly on one factor, and the three factors differ.
    assert all(len(v) == 1 for v in owner.values())
    assert len({next(iter(v)) for v in owner.values()}) == 3
    # The generated factors correlate (.3–.5): an oblique rotation shows it.
    assert result.factor_correlations is not None
    off = [abs(result.factor_correlations[i][j]) for i in range(3) for j in range(3) if i != j]
    assert min(off) > 0.15
    # Seeded: the same numbers on a rebuild.
    again = efa(correlation(m.covariance()), m.n, m.items, seed=7)
    assert again.random_eigenvalues == result.random_eigenvalues


def test_random_eigenvalues_have_the_distribution_of_simulated_rows() -> None:
    p, n = 6, 200
    drawn = random_eigenvalues(p, n, iterations=400, seed=1)
    rng = np.random.default_rng(2)
    simulated = np.array(
        [
            np.linalg.eigvalsh(np.corrcoef(rng.standard_normal((n, p)), rowvar=False))[::-1]
            for _ in range(400)
        ]
    )
    # Same mean of each ordered eigenvalue within Monte Carlo error (se ≈ 0.004).
    np.testing.assert_allclose(drawn.mean(axis=0), simulated.mean(axis=0), atol=0.015)
    assert drawn[:, 0].mean() > 1.2  # the largest random eigenvalue is well above 1 at n = 200


def test_alpha_interval_agrees_with_pingouin(
    national: SufficientStatistics, rows: pd.DataFrame
) -> None:
    ours = reliability_from_moments(national.combined().scales["a"])
    alpha, ci = pingouin.cronbach_alpha(rows[SCALES["a"]].dropna(), ci=0.95)
    assert ours.alpha == pytest.approx(alpha, abs=1e-9)
    assert ours.alpha_ci is not None
    # pingouin rounds its interval to three decimals.
    assert ours.alpha_ci == pytest.approx(tuple(ci), abs=5e-4 + 1e-12)


def test_too_few_items_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least 3 items"):
        efa(np.eye(2), 100, ["x", "y"])
