"""Reliability and agreement checked against R (psych 2.2.9, multilevel 2.7).

The reference values were produced by ``tests/data/r/make_reference.R`` from the CSV files beside
it; R is not needed to run these tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.agreement import icc, rwg_j
from scoring.reliability import reliability

DATA = Path(__file__).resolve().parents[1] / "data" / "r"
TOL = 1e-3  # statistics
COUNT_TOL = 1e-6  # counts


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


def _reference(name: str) -> dict[str, Any]:
    with open(DATA / name, encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


RELIABILITY = _reference("reference_reliability.json")["cases"]
AGREEMENT = _reference("reference_agreement.json")


def _scale(case: dict[str, Any]) -> pd.DataFrame:
    items = _csv(case["file"])[case["items"]].astype(float)
    if case["rows"] is not None:
        items = items.iloc[np.asarray(case["rows"]) - 1]  # R rows are 1-based
    for item in case["reverse"]:
        items[item] = case["points"] + 1 - items[item]
    return items


@pytest.mark.parametrize("case", RELIABILITY, ids=[c["name"] for c in RELIABILITY])
def test_reliability_matches_psych(case: dict[str, Any]) -> None:
    result = reliability(_scale(case))

    assert result.n_complete == case["n_complete"]
    assert result.status == ("ok" if case["n_complete"] >= 100 else "unstable")
    assert result.alpha == pytest.approx(case["raw_alpha"], abs=TOL)
    assert result.alpha_ci is not None
    assert result.alpha_ci[0] == pytest.approx(case["feldt_lower"], abs=TOL)
    assert result.alpha_ci[1] == pytest.approx(case["feldt_upper"], abs=TOL)
    assert result.item_total == pytest.approx(case["r_drop"], abs=TOL)
    assert result.alpha_if_deleted == pytest.approx(case["alpha_drop"], abs=TOL)
    assert result.omega_total == pytest.approx(case["omega_tot"], abs=TOL)


def test_reference_covers_missing_answers_and_reverse_keyed_items() -> None:
    # Guards the fixtures themselves: the pairwise-missing path must be exercised.
    with_missing = [c for c in RELIABILITY if _scale(c).isna().any().any()]
    assert len(with_missing) >= 5
    assert any(c["reverse"] for c in with_missing)


@pytest.mark.parametrize("case", AGREEMENT["rwg_j"], ids=[c["name"] for c in AGREEMENT["rwg_j"]])
def test_rwg_j_matches_multilevel(case: dict[str, Any]) -> None:
    data = _csv(case["file"])
    groups = data[case["group"]].astype(str)
    result = rwg_j(data[case["items"]], groups, points=case["points"])

    expected = pd.Series(
        [np.nan if v is None or v == "NA" else float(v) for v in case["rwg_j"]],
        index=case["groups"],
        dtype=float,
    )
    # multilevel lists only groups with at least one complete row; ours lists every group.
    missing_in_r = result.index.difference(expected.index)
    assert result.loc[missing_in_r].isna().all()
    ours = result.loc[expected.index]
    assert (ours.isna() == expected.isna()).all()
    both = expected.notna()
    assert both.sum() > 10
    np.testing.assert_allclose(ours[both].to_numpy(), expected[both].to_numpy(), rtol=0, atol=TOL)


def test_rwg_j_generated_teams_include_ones_zeros_and_singletons() -> None:
    # The generated fixture must reach both truncation ends and the one-person rule.
    case = next(c for c in AGREEMENT["rwg_j"] if c["name"] == "generated_teams")
    values = [v for v in case["rwg_j"] if v not in (None, "NA")]
    assert any(v == pytest.approx(1.0) for v in values)
    assert any(v == pytest.approx(0.0) for v in values)
    assert any(v in (None, "NA") for v in case["rwg_j"])
    assert any(g == 1 for g in case["gsize"])


@pytest.mark.parametrize("case", AGREEMENT["icc"], ids=[c["name"] for c in AGREEMENT["icc"]])
def test_icc_matches_multilevel(case: dict[str, Any]) -> None:
    data = _csv(case["file"])
    result = icc(data[case["value"]], data[case["group"]])

    assert result.icc1 == pytest.approx(case["icc1"], abs=TOL)
    assert result.icc2 == pytest.approx(case["icc2"], abs=TOL)


def test_reliability_status_insufficient_below_30_complete_cases() -> None:
    case = next(c for c in RELIABILITY if c["name"] == "generated_6")
    items = _scale(case).dropna().iloc[:29]
    result = reliability(items)
    assert result.status == "insufficient"
    assert result.n_complete == 29
    assert result.alpha is None and result.omega_total is None and result.alpha_ci is None
    assert result.item_total == {} and result.alpha_if_deleted == {}
    assert result.warnings


def test_icc_reference_includes_respondents_without_a_score() -> None:
    # Guards the fixture: R's aov saw the NaN-free rows, so our NaN dropping is exercised.
    case = next(c for c in AGREEMENT["icc"] if c["name"] == "generated_teams_score")
    assert _csv(case["file"])[case["value"]].isna().sum() > 10


def test_negatively_loading_item_is_reflected_for_omega_and_named() -> None:
    case = next(c for c in RELIABILITY if c["name"] == "bfi_A_unreversed")
    result = reliability(_scale(case))
    assert result.omega_total == pytest.approx(case["omega_tot"], abs=TOL)
    assert any("reflected" in w and "A1" in w for w in result.warnings)
    assert result.item_total["A1"] < 0  # alpha itself is left as psych reports it
