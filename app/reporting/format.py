"""The one place where report numbers are rounded and turned into text.

Templates and charts print numbers only through these functions, so a test can compare the
PDF's text with ``format_x(value)`` of the numbers it was given. ``None`` prints as a dash.
Rounding is half away from zero on the decimal value as written (72.5 → "73%").
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from app import dates

#: Printed where a number is not shown (suppressed, not computed, not published).
MISSING = "–"
#: Typographic minus sign for negative numbers.
MINUS = "\u2212"


def _rounded(value: float, places: int) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    result = Decimal(repr(float(value))).quantize(exponent, rounding=ROUND_HALF_UP)
    return result if result != 0 else abs(result)  # never print "-0"


def _signed(number: Decimal) -> str:
    text = f"{abs(number)}"
    return f"{MINUS}{text}" if number < 0 else text


def pct(value: float | None) -> str:
    """A percentage on a 0–100 scale as a whole number: 72.4 → "72%"."""
    if value is None:
        return MISSING
    return f"{_signed(_rounded(value, 0))}%"


def delta(value: float | None) -> str:
    """A change in percentage points with its sign: 6.2 → "+6 pts", -1 → "−1 pt", 0.2 → "0 pts"."""
    if value is None:
        return MISSING
    number = _rounded(value, 0)
    sign = "+" if number > 0 else ""
    unit = "pt" if abs(number) == 1 else "pts"
    return f"{sign}{_signed(number)} {unit}"


def score(value: float | None) -> str:
    """A 0–100 mean score with one decimal: 68.43 → "68.4"."""
    if value is None:
        return MISSING
    return _signed(_rounded(value, 1))


def interval(bounds: tuple[float, float] | None) -> str:
    """An interval of 0–100 scores: (64.08, 72.71) → "64.1–72.7"."""
    if bounds is None:
        return MISSING
    low, high = bounds
    return f"{score(low)}–{score(high)}"


def pct_interval(bounds: tuple[float, float] | None) -> str:
    """An interval of percentages: (32.9, 100.0) → "33–100%"."""
    if bounds is None:
        return MISSING
    low, high = bounds
    return f"{pct(low).rstrip('%')}–{pct(high)}"


def delta_interval(bounds: tuple[float, float] | None) -> str:
    """An interval of changes in points: (-8.2, 3.4) → "−8 to +3 pts"."""
    if bounds is None:
        return MISSING
    low, high = bounds
    return f"{delta(low).rsplit(' ', 1)[0]} to {delta(high)}"


def coefficient(value: float | None) -> str:
    """A coefficient bounded by ±1 (rwg(j), alpha, omega, ICC) as APA style: 0.823 → ".82"."""
    if value is None:
        return MISSING
    number = _rounded(value, 2)
    text = f"{abs(number):.2f}"
    if abs(number) < 1:
        text = text[1:]  # drop the leading zero
    return f"{MINUS}{text}" if number < 0 else text


def p_value(value: float | None) -> str:
    """A p value: 0.0123 → "p = .012", 0.0004 → "p < .001"."""
    if value is None:
        return MISSING
    if value < 0.001:
        return "p < .001"
    return f"p = {f'{_rounded(value, 3):.3f}'.removeprefix('0')}"


def percentile(value: float | None, language: str = "en") -> str:
    """A percentile rank as an ordinal: 72.4 → "72nd"."""
    if value is None:
        return MISSING
    number = int(_rounded(value, 0))
    if language != "en":
        return f"{number}"
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def count(value: int | None) -> str:
    """A count with thousands separators: 1234 → "1,234"."""
    if value is None:
        return MISSING
    return f"{value:,}"


def long_date(value: date, language: str = "en") -> str:
    """A date written out: 2026-03-05 → "5 March 2026"."""
    return dates.long_date(value, language)
