"""The one formatting module: rounding and signs as printed in the reports."""

from __future__ import annotations

from datetime import date

import pytest

from app.reporting import format as fmt


@pytest.mark.parametrize(
    ("value", "printed"),
    [(72.4, "72%"), (72.5, "73%"), (0.4, "0%"), (-0.4, "0%"), (100.0, "100%"), (None, "–")],
)
def test_pct_rounds_half_away_from_zero_and_never_prints_minus_zero(
    value: float | None, printed: str
) -> None:
    assert fmt.pct(value) == printed


@pytest.mark.parametrize(
    ("value", "printed"),
    [(6.2, "+6 pts"), (-5.5, "−6 pts"), (1.0, "+1 pt"), (-0.8, "−1 pt"), (0.3, "0 pts")],
)
def test_delta_carries_a_sign_and_a_unit(value: float, printed: str) -> None:
    assert fmt.delta(value) == printed


def test_score_and_interval_have_one_decimal() -> None:
    assert fmt.score(68.43) == "68.4"
    assert fmt.interval((64.08, 72.75)) == "64.1–72.8"
    assert fmt.interval(None) == fmt.MISSING


@pytest.mark.parametrize(
    ("value", "printed"),
    [(0.823, ".82"), (1.0, "1.00"), (-0.031, "−.03"), (0.996, "1.00"), (0.004, ".00")],
)
def test_coefficient_drops_the_leading_zero(value: float, printed: str) -> None:
    assert fmt.coefficient(value) == printed


def test_p_value_has_three_decimals_and_a_floor() -> None:
    assert fmt.p_value(0.0123) == "p = .012"
    assert fmt.p_value(0.0004) == "p < .001"
    assert fmt.p_value(0.5) == "p = .500"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (1.2, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (11, "11th"),
        (12.4, "12th"),
        (21, "21st"),
        (72.5, "73rd"),
    ],
)
def test_percentile_is_an_english_ordinal(value: float, printed: str) -> None:
    assert fmt.percentile(value) == printed


def test_count_and_date() -> None:
    assert fmt.count(2318) == "2,318"
    assert fmt.long_date(date(2026, 3, 5)) == "5 March 2026"
