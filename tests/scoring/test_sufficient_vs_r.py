"""National statistics from per-jurisdiction sufficient statistics equal R on the pooled rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring
from scoring.cfa import cfa_fit_from_moments, invariance_from_moments
from scoring.sufficient import (
    SufficientStatistics,
    icc_from_sums,
    pool,
    reliability_from_moments,
    sufficient_statistics,
)

DATA = Path(__file__).parents[1] / "data" / "r"
REF = json.loads((DATA / "reference_national.json").read_text())
TOL = 1e-6
SCALES = {s: [f"{s}{i}" for i in range(1, 5)] for s in "abc"}
ITEMS = [i for members in SCALES.values() for i in members]
FIT_NAMES = {
    "chi2": "chisq",
    "cfi": "cfi",
    "tli": "tli",
    "rmsea": "rmsea",
    "srmr": "srmr",
}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "generated_national.csv")


def _contribution(part: pd.DataFrame) -> SufficientStatistics:
    stats = sufficient_statistics(
        part[ITEMS], SCALES, points=5, language=part["language"], unit=part["team"]
    )
    # What leaves the jurisdiction is JSON: go through it, as a contribution file would.
    return SufficientStatistics.from_dict(json.loads(json.dumps(stats.to_dict())))


@pytest.fixture(scope="module")
def national(rows: pd.DataFrame) -> SufficientStatistics:
    return pool(_contribution(part) for _, part in rows.groupby("jurisdiction"))


def _assert_fit(fit: scoring.CfaFit, ref: dict[str, float]) -> None:
    assert fit.converged
    for ours, theirs in FIT_NAMES.items():
        assert getattr(fit, ours) == pytest.approx(ref[theirs], abs=TOL), ours
    assert fit.df == ref["df"]
    assert fit.n == ref["ntotal"]
    assert fit.rmsea_ci == pytest.approx((ref["rmsea.ci.lower"], ref["rmsea.ci.upper"]), abs=TOL)


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_alpha_omega_item_total_from_contributions_equal_psych_and_pooled_rows(
    national: SufficientStatistics, rows: pd.DataFrame, scale: str
) -> None:
    ref = REF["scales"][scale]
    ours = reliability_from_moments(national.combined().scales[scale])
    on_rows = scoring.reliability(rows[SCALES[scale]].dropna())
    for got in (ours, on_rows):
        assert got.n_complete == ref["n"]
        assert got.alpha == pytest.approx(ref["alpha"], abs=TOL)
        assert got.alpha_ci == pytest.approx(tuple(ref["alpha_ci"]), abs=TOL)
        assert got.omega_total == pytest.approx(ref["omega_total"], abs=TOL)
        assert got.item_total == pytest.approx(ref["r_drop"], abs=TOL)
        assert got.alpha_if_deleted == pytest.approx(ref["alpha_drop"], abs=TOL)


@pytest.mark.parametrize("scale", sorted(SCALES))
def test_icc_from_contributions_equals_multilevel_on_pooled_rows(
    national: SufficientStatistics, rows: pd.DataFrame, scale: str
) -> None:
    ref = REF["icc"][scale]
    ours = icc_from_sums(national.anova[scale])
    assert ours.icc1 == pytest.approx(ref["icc1"], abs=TOL)
    assert ours.icc2 == pytest.approx(ref["icc2"], abs=TOL)


def test_cfa_fit_from_contributions_equals_lavaan_on_pooled_rows(
    national: SufficientStatistics, rows: pd.DataFrame
) -> None:
    m = national.combined().instrument
    _assert_fit(cfa_fit_from_moments(m.n, m.covariance(ddof=0), m.items, SCALES), REF["cfa"])
    _assert_fit(scoring.cfa_fit(rows, SCALES), REF["cfa"])


@pytest.mark.parametrize("by", ["jurisdiction", "language"])
def test_invariance_from_contributions_equals_lavaan_on_pooled_rows(
    rows: pd.DataFrame, by: str
) -> None:
    contributions = {j: _contribution(part) for j, part in rows.groupby("jurisdiction")}
    if by == "jurisdiction":
        groups = {j: c.combined().instrument for j, c in contributions.items()}
    else:
        nation = pool(contributions.values())
        groups = {lang: g.instrument for lang, g in nation.groups.items()}
    # lavaan orders groups by first appearance in the data; the fit does not depend on it.
    moments = [(m.n, m.mean, m.covariance(ddof=0)) for m in groups.values()]
    ours = invariance_from_moments(moments, ITEMS, SCALES)
    ref = REF[f"invariance_{by}"]
    for step in ("configural", "metric", "scalar"):
        _assert_fit(ours[step], ref[step])


def test_pooling_is_exact_whatever_the_split(rows: pd.DataFrame) -> None:
    whole = sufficient_statistics(rows[ITEMS], SCALES, points=5, unit=rows["team"])
    shuffled = rows.sample(frac=1.0, random_state=3)
    pieces = [shuffled.iloc[i::4] for i in range(4)]
    # The ICC pieces need disjoint units, so split by team for them.
    parts = [
        sufficient_statistics(p[ITEMS], SCALES, points=5, unit=p["team"])
        for p in (rows[rows["team"] < "s"], rows[rows["team"] >= "s"])
    ]
    by_rows = pool(sufficient_statistics(p[ITEMS], SCALES, points=5) for p in pieces).combined()
    a, b = whole.combined().instrument, by_rows.instrument
    assert a.n == b.n
    np.testing.assert_allclose(a.mean, b.mean, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.comoment, b.comoment, rtol=1e-12)
    assert whole.combined().distributions == by_rows.distributions
    pooled = pool(parts).anova["a"]
    assert pooled.n == whole.anova["a"].n and pooled.units == whole.anova["a"].units
    assert pooled.ss_between == pytest.approx(whole.anova["a"].ss_between, rel=1e-12)
    assert pooled.ss_within == pytest.approx(whole.anova["a"].ss_within, rel=1e-12)


def test_a_contribution_holds_no_row(rows: pd.DataFrame) -> None:
    part = rows[rows["jurisdiction"] == "north"]
    text = json.dumps(_contribution(part).to_dict())
    assert "north-t" not in text  # no team label leaves
    # Its size does not grow with the number of respondents.
    doubled = _contribution(pd.concat([part, part]))
    assert abs(len(json.dumps(doubled.to_dict())) - len(text)) < 0.05 * len(text)


def test_an_empty_respondent_changes_nothing(rows: pd.DataFrame) -> None:
    part = rows[rows["jurisdiction"] == "west"]
    blank = part.iloc[:3].copy()
    blank[ITEMS] = np.nan
    a = _contribution(part)
    b = _contribution(pd.concat([part, blank]))
    assert a.to_dict() == b.to_dict()
