"""The national psychometric report from contributions equals R and the pooled rows.

Three generated jurisdictions (tests/data/r/generated_national.csv, made with their reference
values by tests/data/r/make_reference_national.R): each hands over only its sufficient
statistics, as JSON, and :func:`app.services.national_report.compute_report` builds the report.
Its nation figures must equal psych / multilevel / lavaan on the pooled rows and the project's
own row-based functions on the same rows, within 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pingouin
import pytest

import scoring
import surveys
from app.reporting.national import FitRow, Invariance
from app.services.national_report import NATION, compute_report
from scoring.sufficient import pair_sums, sufficient_statistics
from surveys.model import Instrument, Item, ResponseScale, Scale

DATA = Path(__file__).parents[1] / "data" / "r"
REF = json.loads((DATA / "reference_national.json").read_text())
TOL = 1e-6
SCALES = {s: [f"{s}{i}" for i in range(1, 5)] for s in "abc"}
ITEMS = [i for members in SCALES.values() for i in members]


def _instrument() -> Instrument:
    agree = ResponseScale("agree5", 5, {"en": ("1", "2", "3", "4", "5")}, 4, 2)
    scales = tuple(
        Scale(
            key=key,
            title={"en": f"Scale {key}"},
            response_scale=agree,
            higher_is_better=True,
            items=tuple(Item(i, {"en": f"item {i}"}) for i in members),
        )
        for key, members in SCALES.items()
    )
    return Instrument(
        key="generated",
        version="1",
        title={"en": "generated"},
        languages=("en", "es"),
        response_scales={"agree5": agree},
        scales=scales,
    )


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_csv(DATA / "generated_national.csv")


def _payload(part: pd.DataFrame) -> dict[str, Any]:
    stats = sufficient_statistics(part[ITEMS], SCALES, points=5, unit=part["team"])
    # Language sums of the respondents who answered every item: there pairwise deletion is
    # listwise deletion, which is what the lavaan reference used.
    complete = part.dropna(subset=ITEMS)
    languages = {
        code: pair_sums(group[ITEMS]).to_dict() for code, group in complete.groupby("language")
    }
    payload = {
        "wave": {"year": 2026, "invited": 2 * len(part), "responses": len(part)},
        "instrument": {"key": "generated", "version": "1"},
        "statistics": stats.to_dict(),
        "languages": languages,
    }
    # What leaves a jurisdiction is JSON: go through it, as a contribution does.
    parsed: dict[str, Any] = json.loads(json.dumps(payload))
    return parsed


@pytest.fixture(scope="module")
def report(rows: pd.DataFrame) -> dict[str, Any]:
    parts = [(name, _payload(part)) for name, part in rows.groupby("jurisdiction")]
    return compute_report(parts, _instrument(), scope="nation", min_report_n=5)


def _assert_fit(fit: FitRow, ref: dict[str, float]) -> None:
    assert fit.verdict != "failed"
    assert fit.chi2 == pytest.approx(ref["chisq"], abs=TOL)
    assert fit.df == ref["df"]
    assert fit.n == ref["ntotal"]
    for ours, theirs in (("cfi", "cfi"), ("tli", "tli"), ("rmsea", "rmsea"), ("srmr", "srmr")):
        assert getattr(fit, ours) == pytest.approx(ref[theirs], abs=TOL), ours
    assert fit.rmsea_ci == pytest.approx((ref["rmsea.ci.lower"], ref["rmsea.ci.upper"]), abs=TOL)


def _invariance(report: dict[str, Any], across: str) -> Invariance:
    found: Invariance = next(i for i in report["invariance"] if i.across == across)
    return found


def test_nation_alpha_omega_item_total_equal_psych_and_the_pooled_rows(
    report: dict[str, Any], rows: pd.DataFrame
) -> None:
    nation = [r for r in report["reliability"] if r.group == NATION]
    assert [r.scale for r in nation] == ["Scale a", "Scale b", "Scale c"]
    for key, row in zip(SCALES, nation, strict=True):
        ref = REF["scales"][key]
        assert row.n == ref["n"]
        assert row.alpha == pytest.approx(ref["alpha"], abs=TOL)
        assert row.alpha_ci == pytest.approx(tuple(ref["alpha_ci"]), abs=TOL)
        assert row.omega == pytest.approx(ref["omega_total"], abs=TOL)
        for item in row.items:
            assert item.r_drop == pytest.approx(ref["r_drop"][item.item], abs=TOL)
            assert item.alpha_if_deleted == pytest.approx(ref["alpha_drop"][item.item], abs=TOL)
        on_rows = scoring.reliability(rows[SCALES[key]].dropna())  # listwise, as psych here
        assert row.alpha == pytest.approx(on_rows.alpha, abs=TOL)
        assert row.omega == pytest.approx(on_rows.omega_total, abs=TOL)


def test_the_alpha_interval_is_the_one_pingouin_gives_on_the_pooled_rows(
    report: dict[str, Any], rows: pd.DataFrame
) -> None:
    nation = [r for r in report["reliability"] if r.group == NATION]
    for key, row in zip(SCALES, nation, strict=True):
        alpha, ci = pingouin.cronbach_alpha(rows[SCALES[key]].dropna())
        assert row.alpha == pytest.approx(alpha, abs=TOL)
        # pingouin rounds its interval to three decimals.
        assert row.alpha_ci == pytest.approx(tuple(ci), abs=5e-4)


def test_nation_icc_equals_multilevel_on_the_pooled_rows(report: dict[str, Any]) -> None:
    nation = [r for r in report["icc"] if r.group == NATION]
    for key, row in zip(SCALES, nation, strict=True):
        assert row.icc1 == pytest.approx(REF["icc"][key]["icc1"], abs=TOL)
        assert row.icc2 == pytest.approx(REF["icc"][key]["icc2"], abs=TOL)


def test_nation_cfa_fit_equals_lavaan_and_the_pooled_rows(
    report: dict[str, Any], rows: pd.DataFrame
) -> None:
    nation = next(f for f in report["cfa"] if f.group == NATION)
    _assert_fit(nation, REF["cfa"])
    on_rows = scoring.cfa_fit(rows, SCALES)
    assert nation.cfi == pytest.approx(on_rows.cfi, abs=TOL)
    assert nation.chi2 == pytest.approx(on_rows.chi2, abs=TOL)
    # Each jurisdiction's own fit is there too, from its own statistics.
    assert {f.group for f in report["cfa"]} == {NATION, "north", "south", "west"}


@pytest.mark.parametrize(
    ("across", "reference", "column"),
    [
        ("jurisdictions", "invariance_jurisdiction", "jurisdiction"),
        ("languages", "invariance_language", "language"),
    ],
)
def test_invariance_equals_lavaan_and_the_pooled_rows(
    report: dict[str, Any], rows: pd.DataFrame, across: str, reference: str, column: str
) -> None:
    found = _invariance(report, across)
    assert found.unavailable == ""
    on_rows = scoring.invariance(rows, SCALES, group=column)
    for step in found.steps:
        _assert_fit(step.fit, REF[reference][step.step])
        assert step.fit.cfi == pytest.approx(on_rows[step.step].cfi, abs=TOL)
    cfi = {s.step: REF[reference][s.step]["cfi"] for s in found.steps}
    metric = next(s for s in found.steps if s.step == "metric")
    assert metric.delta_cfi == pytest.approx(cfi["configural"] - cfi["metric"], abs=TOL)
    assert metric.holds == (cfi["configural"] - cfi["metric"] <= 0.01)


def test_the_items_generated_to_differ_between_jurisdictions_are_the_ones_named(
    report: dict[str, Any],
) -> None:
    # make_reference_national.R gives item 3 of every scale a different loading in south and
    # west: the metric step breaks and item 3 is the culprit in each scale.
    found = _invariance(report, "jurisdictions")
    assert found.reached == "configural"
    for row in found.scales:
        key = row.scale.removeprefix("Scale ")
        assert row.broken == "metric", row
        assert row.items == (f"item {key}3",), row


def test_kmo_and_bartlett_equal_psych_on_the_pooled_rows(report: dict[str, Any]) -> None:
    efa = report["efa"]
    assert efa is not None
    assert efa.n == REF["efa"]["n"]
    assert efa.kmo == pytest.approx(REF["efa"]["kmo"], abs=TOL)
    assert efa.bartlett_chi2 == pytest.approx(REF["efa"]["bartlett_chi2"], abs=TOL)
    assert efa.bartlett_df == REF["efa"]["bartlett_df"]
    assert efa.n_factors == 3  # parallel analysis finds the three generated scales
    for row in efa.loadings:
        assert row.scale == f"Scale {row.item.removeprefix('item ')[0]}"


def test_a_language_group_missing_everywhere_is_named_not_reported(rows: pd.DataFrame) -> None:
    english = rows[rows["language"] == "en"]
    parts = [(name, _payload(part)) for name, part in english.groupby("jurisdiction")]
    found = compute_report(parts, _instrument(), scope="nation", min_report_n=5)
    assert "below:es" in found["language_notes"]
    languages = _invariance(found, "languages")
    assert languages.unavailable == "fewer_than_two" and languages.steps == ()


def test_default_instrument_is_what_contributions_name() -> None:
    # The report finds the instrument by key and version, as contributions carry them.
    default = surveys.load_default()
    assert surveys.find_instrument(default.key, default.version) == default


def test_contributions_without_language_sums_say_so(rows: pd.DataFrame) -> None:
    parts = []
    for name, part in rows.groupby("jurisdiction"):
        payload = _payload(part)
        del payload["languages"]  # as an instance without per-language sums sends it
        parts.append((name, payload))
    found = compute_report(parts, _instrument(), scope="nation", min_report_n=5)
    assert _invariance(found, "languages").unavailable == "no_sums"
    assert found["language_notes"] == ()
