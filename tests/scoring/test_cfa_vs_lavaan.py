"""CFA fit and measurement invariance checked against lavaan 0.6.14 with its defaults.

Reference values come from ``tests/data/r/make_reference_cfa.R``; R is not needed here.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scoring.cfa import CfaFit, cfa_fit, invariance

DATA = Path(__file__).resolve().parents[1] / "data" / "r"
TOL = 1e-3
with open(DATA / "reference_cfa.json", encoding="utf-8") as _fh:
    CASES: list[dict[str, Any]] = json.load(_fh)["cases"]
SINGLE = [c for c in CASES if c["group"] is None]
GROUPED = [c for c in CASES if c["group"] is not None]


@cache
def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


def _prepared(case: dict[str, Any]) -> pd.DataFrame:
    data = _data(case["file"]).copy()
    for item in case["reverse"]:
        data[item] = case["points"] + 1 - data[item]
    return data


def _assert_matches(ours: CfaFit, ref: dict[str, Any]) -> None:
    assert ours.converged and ref["converged"]
    assert ours.n == pytest.approx(ref["ntotal"], abs=1e-6)
    assert ours.df == ref["df"]
    assert ours.chi2 == pytest.approx(ref["chisq"], abs=TOL)
    assert ours.pvalue == pytest.approx(ref["pvalue"], abs=TOL)
    assert ours.cfi == pytest.approx(ref["cfi"], abs=TOL)
    assert ours.tli == pytest.approx(ref["tli"], abs=TOL)
    assert ours.rmsea == pytest.approx(ref["rmsea"], abs=TOL)
    assert ours.rmsea_ci[0] == pytest.approx(ref["rmsea.ci.lower"], abs=TOL)
    assert ours.rmsea_ci[1] == pytest.approx(ref["rmsea.ci.upper"], abs=TOL)
    assert ours.srmr == pytest.approx(ref["srmr"], abs=TOL)


@pytest.mark.parametrize("case", SINGLE, ids=[c["name"] for c in SINGLE])
def test_cfa_fit_matches_lavaan(case: dict[str, Any]) -> None:
    _assert_matches(cfa_fit(_prepared(case), case["factors"]), case["single"])


@pytest.mark.parametrize("case", GROUPED, ids=[c["name"] for c in GROUPED])
def test_invariance_matches_lavaan(case: dict[str, Any]) -> None:
    fits = invariance(_prepared(case), case["factors"], group=case["group"])
    assert list(fits) == ["configural", "metric", "scalar"]
    for step, fit in fits.items():
        _assert_matches(fit, case[step])


def test_lavaan_references_cover_listwise_deletion_and_groups() -> None:
    # Guards the fixtures: listwise deletion and unequal groups must be exercised.
    survey = next(c for c in GROUPED if c["name"] == "survey_8factor_by_jurisdiction")
    data = _data(survey["file"])
    assert survey["configural"]["ntotal"] < len(data)
    assert data[survey["group"]].value_counts().min() < 400
    assert survey["scalar"]["cfi"] < survey["metric"]["cfi"] - 0.005  # a real scalar misfit


def test_shuffling_rows_changes_no_fit_index() -> None:
    case = next(c for c in SINGLE if c["name"] == "small_2factor")
    data = _prepared(case)
    a = cfa_fit(data, case["factors"])
    b = cfa_fit(data.sample(frac=1.0, random_state=4), case["factors"])
    assert (a.chi2, a.cfi, a.rmsea, a.srmr) == pytest.approx((b.chi2, b.cfi, b.rmsea, b.srmr))


def test_all_missing_row_changes_nothing() -> None:
    case = next(c for c in GROUPED if c["name"] == "small_2factor_by_site")
    data = _prepared(case)
    blank = pd.DataFrame({c: [np.nan] for c in data.columns}).assign(site="north")
    a = invariance(data, case["factors"], group="site")
    b = invariance(pd.concat([data, blank], ignore_index=True), case["factors"], group="site")
    for step in a:
        assert a[step] == b[step]


def test_constant_item_gives_a_warning_not_a_crash() -> None:
    case = next(c for c in SINGLE if c["name"] == "small_2factor")
    data = _prepared(case).assign(v2=3.0)
    fit = cfa_fit(data, case["factors"])
    assert not fit.converged
    assert math.isnan(fit.chi2)
    assert any("v2" in w for w in fit.warnings)


def test_unknown_item_is_rejected() -> None:
    with pytest.raises(ValueError, match="nope"):
        cfa_fit(_data("generated_cfa_small.csv"), {"f": ["v1", "v2", "nope"]})


def test_single_group_gives_no_invariance() -> None:
    data = _data("generated_cfa_small.csv").assign(site="all")
    fits = invariance(data, {"f": ["v1", "v2", "v3"]}, group="site")
    assert all(not f.converged and f.warnings for f in fits.values())
