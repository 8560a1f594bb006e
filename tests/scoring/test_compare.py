"""compare(): change between two waves against R's t.test (score_compare_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import scoring
import surveys

DATA = Path(__file__).resolve().parents[1] / "data" / "r"
INSTRUMENT = surveys.load_instrument(DATA / "score_instrument.yaml")
EXPECTED: dict[str, Any] = json.loads(
    (DATA / "score_compare_expected.json").read_text(encoding="utf-8")
)
KEYS = list(INSTRUMENT.item_keys)


def _wave(scores: dict[str, list[float]]) -> scoring.WaveScores:
    """Respondents answering only gamma_scale (c1..c3), every item at 1 + score / 25."""
    rows = []
    for unit, values in scores.items():
        for v in values:
            answer = 1 + v / 25
            rows.append({"unit": unit, **dict.fromkeys(KEYS), "c1": answer, "c2": answer,
                         "c3": answer})  # fmt: skip
    return scoring.score(pd.DataFrame(rows, columns=["unit", *KEYS]), INSTRUMENT)


@pytest.fixture(scope="module")
def comparison() -> scoring.Comparison:
    # Before: c (2) is hidden and d (5) goes with it; after: d is gone, c is shown.
    scores = {"a": EXPECTED["a"]["before"], "b": EXPECTED["b"]["before"], "c": [50, 75]}
    before = _wave(scores | {"d": [25, 50, 50, 75, 100]})
    after = _wave({"a": EXPECTED["a"]["after"], "b": EXPECTED["b"]["after"], "c": [50] * 6})
    assert before.scales["gamma_scale"].units["c"].suppressed
    assert before.scales["gamma_scale"].units["d"].suppressed
    return scoring.compare(before, after)


@pytest.mark.parametrize("unit", ["a", "b"])
def test_welch_t_and_hedges_g_match_r(comparison: scoring.Comparison, unit: str) -> None:
    change = comparison.units["gamma_scale"][unit]
    ref = EXPECTED[unit]
    assert change.t == pytest.approx(ref["t"], abs=1e-6)
    assert change.df == pytest.approx(ref["df"], abs=1e-6)
    assert change.p_value == pytest.approx(ref["p_value"], abs=1e-6)
    assert change.hedges_g == pytest.approx(ref["hedges_g"], abs=1e-6)
    assert change.delta_pct_positive == pytest.approx(ref["delta_pct_positive"], abs=1e-9)
    assert change.n_before == len(ref["before"]) and change.n_after == len(ref["after"])


def test_meaningful_means_at_least_five_points(comparison: scoring.Comparison) -> None:
    units = comparison.units["gamma_scale"]
    assert units["a"].meaningful  # +46.4 points
    assert not units["b"].meaningful  # +2.8 points


def test_only_units_shown_in_both_waves_are_compared(comparison: scoring.Comparison) -> None:
    assert set(comparison.units["gamma_scale"]) == {"a", "b"}
    # Scales nobody answered have no shown unit and so no change.
    assert comparison.units["alpha_scale"] == {}
    assert "alpha_scale" not in comparison.overall
    assert comparison.overall["gamma_scale"].n_after == 8 + 8 + 6


def test_no_variance_gives_no_test_rather_than_nan() -> None:
    before = _wave({"a": [50] * 5})
    after = _wave({"a": [75] * 5})
    change = scoring.compare(before, after).units["gamma_scale"]["a"]
    assert change.t is None and change.p_value is None and change.hedges_g is None
    assert change.delta_pct_positive == 100.0
    assert json.dumps(scoring.compare(before, after).to_dict(), allow_nan=False)
