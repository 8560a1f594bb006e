"""Invariants of reliability and agreement that hold whatever R says: order, empty rows, edges."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.agreement import icc, icc_from_codes, rwg_j, rwg_j_from_codes
from scoring.reliability import Reliability, reliability


def _survey(n: int = 400, k: int = 5, seed: int = 3, missing: float = 0.08) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    x = np.clip(np.round(3 + 0.9 * latent[:, None] + rng.normal(size=(n, k))), 1, 5)
    x[rng.random(x.shape) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"q{i + 1}" for i in range(k)])


def _numbers(r: Reliability) -> list[float | None]:
    ci = list(r.alpha_ci) if r.alpha_ci else [None, None]
    return [r.alpha, r.omega_total, *ci, *r.item_total.values(), *r.alpha_if_deleted.values()]


def _assert_same(a: Reliability, b: Reliability) -> None:
    assert a.n_complete == b.n_complete and a.status == b.status
    assert a.item_total.keys() == b.item_total.keys()
    assert _numbers(a) == pytest.approx(_numbers(b), abs=1e-12)


def test_shuffling_rows_changes_no_reliability_statistic() -> None:
    items = _survey()
    shuffled = items.sample(frac=1.0, random_state=11)
    _assert_same(reliability(items), reliability(shuffled))


def test_all_missing_respondent_changes_no_reliability_statistic() -> None:
    items = _survey()
    blank = pd.DataFrame([[np.nan] * items.shape[1]], columns=items.columns)
    _assert_same(reliability(items), reliability(pd.concat([items, blank, blank])))


def test_constant_item_gives_none_with_a_warning() -> None:
    items = _survey()
    items["q3"] = 4.0
    result = reliability(items)
    assert result.alpha is None and result.omega_total is None and result.alpha_ci is None
    assert any("q3" in w and "constant" in w for w in result.warnings)


def test_fewer_than_30_complete_cases_is_insufficient_and_empty() -> None:
    result = reliability(_survey(n=29, missing=0.0))
    assert result.status == "insufficient"
    assert _numbers(result) == [None, None, None, None]
    assert reliability(_survey(n=30, missing=0.0)).status == "unstable"
    assert reliability(_survey(n=100, missing=0.0)).status == "ok"


def test_two_items_give_alpha_but_no_alpha_if_deleted_or_omega() -> None:
    result = reliability(_survey(k=2))
    assert result.alpha is not None and result.alpha_if_deleted == {}
    assert result.omega_total is None
    assert len(result.warnings) == 2


def test_one_item_gives_no_statistic() -> None:
    result = reliability(_survey(k=1))
    assert result.alpha is None and result.warnings


def test_heywood_case_gives_no_omega() -> None:
    # r12 = r13 = .9, r23 = .5: the one-factor fit needs l1² = .9 · .9 / .5 = 1.62 > 1.
    corr = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, 0.5], [0.9, 0.5, 1.0]])
    corr = corr + np.eye(3) * 0.3  # keep it positive definite to draw data from it
    rng = np.random.default_rng(5)
    x = rng.multivariate_normal(np.zeros(3), corr, size=2000)
    result = reliability(pd.DataFrame(x, columns=["a", "b", "c"]))
    assert result.alpha is not None
    assert result.omega_total is None
    assert any("Heywood" in w for w in result.warnings)


def test_items_never_answered_together_are_insufficient() -> None:
    items = _survey(n=200, k=3, missing=0.0)
    items.loc[:99, "q1"] = np.nan
    items.loc[100:, "q2"] = np.nan
    result = reliability(items)
    assert result.status == "insufficient"  # no complete case at all


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=30, max_value=120),
    st.integers(min_value=2, max_value=6),
    st.floats(min_value=0.0, max_value=0.5),
)
def test_reliability_never_returns_nan(seed: int, n: int, k: int, missing: float) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 4, size=(n, k)).astype(float)  # independent, often near-constant items
    x[rng.random(x.shape) < missing] = np.nan
    result = reliability(pd.DataFrame(x, columns=[f"i{j}" for j in range(k)]))
    for value in _numbers(result):
        assert value is None or math.isfinite(value)


def _teams(seed: int = 2) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, size=120)
    groups = pd.Series(np.repeat([f"team{i:03d}" for i in range(sizes.size)], sizes))
    effect = np.repeat(rng.normal(scale=0.7, size=sizes.size), sizes)
    x = np.clip(np.round(3 + effect[:, None] + rng.normal(size=(groups.size, 4))), 1, 5)
    x[rng.random(x.shape) < 0.1] = np.nan
    return pd.DataFrame(x, columns=list("abcd")), groups


def test_shuffling_rows_changes_no_rwg_j_or_icc() -> None:
    items, groups = _teams()
    order = np.random.default_rng(0).permutation(len(groups))
    a = rwg_j(items, groups, points=5)
    b = rwg_j(items.iloc[order].reset_index(drop=True), groups.iloc[order], points=5)
    pd.testing.assert_series_equal(a, b, rtol=0, atol=1e-12)
    score = items.mean(axis=1)
    i1, i2 = icc(score, groups), icc(score.iloc[order], groups.iloc[order])
    assert (i1.icc1, i1.icc2) == pytest.approx((i2.icc1, i2.icc2), abs=1e-12)


def test_all_missing_respondent_changes_no_rwg_j_or_icc() -> None:
    items, groups = _teams()
    blank = pd.DataFrame([[np.nan] * 4], columns=items.columns)
    more_items = pd.concat([items, blank], ignore_index=True)
    more_groups = pd.concat([groups, pd.Series(["team000"])], ignore_index=True)
    pd.testing.assert_series_equal(
        rwg_j(items, groups, points=5), rwg_j(more_items, more_groups, points=5)
    )
    score = items.mean(axis=1)
    more_score = pd.concat([score, pd.Series([np.nan])], ignore_index=True)
    assert icc(score, groups) == icc(more_score, more_groups)


def test_rwg_j_is_nan_below_two_complete_rows_and_within_0_1() -> None:
    items = pd.DataFrame({"a": [1, 2, 3, np.nan, 4, 4, 1, 5], "b": [1, 2, 3, 2, 4, 4, 5, 1]})
    groups = np.array(["solo", "pair", "pair", "gone", "same", "same", "split", "split"])
    result = rwg_j(items, groups, points=5)
    assert list(result.index) == ["gone", "pair", "same", "solo", "split"]
    assert math.isnan(result["solo"]) and math.isnan(result["gone"])
    assert result["same"] == 1.0  # no within-team variance: full agreement
    assert result["split"] == 0.0  # variance beyond the uniform null is truncated
    assert 0.0 < result["pair"] < 1.0


def test_icc_with_one_group_is_none() -> None:
    assert icc(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1])) == icc(
        np.array([1.0, np.nan]), np.array([1, 2])
    )
    assert icc(np.array([1.0, 2.0, 3.0]), np.array([1, 1, 1])).icc1 is None


def test_code_paths_ignore_codes_that_no_row_has() -> None:
    # score passes its unit codes as they are: units absent from a scale are codes with no row,
    # and they must be no group (ICC's G and k = N / G count only groups present).
    rng = np.random.default_rng(11)
    items = _survey(n=300, seed=11)
    labels = rng.choice(["t1", "t2", "t3", "t4", "t5"], size=len(items))
    sparse = {"t1": 0, "t2": 3, "t3": 4, "t4": 8, "t5": 9}  # codes 1, 2, 5, 6, 7 have no row
    codes = np.array([sparse[v] for v in labels], dtype=np.intp)
    values = items.mean(axis=1).to_numpy()

    by_label = icc(values, labels)
    by_code = icc_from_codes(values, codes, 10)
    assert by_code.icc1 == pytest.approx(by_label.icc1, rel=1e-12)
    assert by_code.icc2 == pytest.approx(by_label.icc2, rel=1e-12)

    x = items.to_numpy()
    got = rwg_j_from_codes(x, codes, 10, points=5)
    want = rwg_j(items, labels, points=5)
    np.testing.assert_allclose(got[list(sparse.values())], want[list(sparse)], rtol=1e-12)
    assert np.isnan(got[[1, 2, 5, 6, 7]]).all()
