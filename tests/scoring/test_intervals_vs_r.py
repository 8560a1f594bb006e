"""Intervals, Holm, percentiles and r*wg(j) against R (tests/data/r/make_reference_intervals.R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scoring

DATA = Path(__file__).resolve().parents[1] / "data" / "r"
TOL = 1e-9


def test_wilson_matches_prop_test_without_correction() -> None:
    ref = pd.read_csv(DATA / "reference_wilson.csv")
    lo, hi = scoring.wilson(ref["k"].to_numpy(), ref["n"].to_numpy())
    np.testing.assert_allclose(lo, ref["low"], atol=TOL)
    np.testing.assert_allclose(hi, ref["high"], atol=TOL)


def test_holm_matches_p_adjust() -> None:
    ref = pd.read_csv(DATA / "reference_holm.csv")
    for _, group in ref.groupby("vector"):
        got = scoring.holm(group["p"].tolist())
        np.testing.assert_allclose(got, group["holm"], atol=TOL)


def test_benchmark_percentiles_match_quantile_type_7() -> None:
    ref = pd.read_csv(DATA / "reference_quantile.csv")
    for _, row in ref.iterrows():
        values = [float(v) for v in str(row["values"]).split()]
        got = scoring.percentiles(values)
        expected = row[["p10", "p25", "p50", "p75", "p90"]].to_numpy(dtype=np.float64)
        np.testing.assert_allclose(got, expected, atol=1e-9)


def test_rwg_star_j_matches_rwg_j_lindell() -> None:
    ref = pd.read_csv(DATA / "reference_rwg_lindell.csv").set_index("team")
    teams = pd.read_csv(DATA / "generated_teams.csv")
    got = scoring.rwg_star_j(teams[["i1", "i2", "i3", "i4"]], teams["team"], points=5)
    both = ref.index[ref["gsize"] >= 2]
    assert len(both) > 20
    np.testing.assert_allclose(got[both], ref.loc[both, "rwg_lindell"], atol=TOL)


@pytest.mark.parametrize("n", [2, 5, 12, 40])
def test_mean_interval_is_inside_the_scale_and_near_t_in_the_middle(n: int) -> None:
    rng = np.random.default_rng(n)
    for centre in (3.0, 50.0, 97.0):
        x = np.clip(rng.normal(centre, 15, n), 0, 100)
        lo, hi = scoring.mean_interval(x.mean(), x.std(ddof=1), n)
        assert 0.0 <= float(lo) <= x.mean() <= float(hi) <= 100.0
    if n < 12:
        return
    # In the middle of the scale the logit interval is close to the t interval.
    from scipy import stats

    x = rng.normal(50, 10, n)
    half = stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)
    lo, hi = scoring.mean_interval(x.mean(), x.std(ddof=1), n)
    assert float(hi) - float(lo) == pytest.approx(2 * half, rel=0.05)
