"""The one place where report numbers are rounded and turned into text, in the report's language.

Templates and charts print numbers only through these functions, so a test can compare the
PDF's text with ``format_x(value)`` of the numbers it was given. ``None`` prints as a dash.
Rounding is half away from zero on the decimal value as written (72.5 → "73%"); Babel then
writes the rounded number the locale's way ("72,4" and "73 %" in Spanish). Each function takes
a ``language``; left out, it is the language of the report being rendered (:func:`in_language`,
set by the renderer), else English.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal, format_percent, get_decimal_symbol

from app import catalog, dates
from app.catalog import N_, N_plural

#: Printed where a number is not shown (suppressed, not computed, not published).
MISSING = "–"
#: Typographic minus sign for negative numbers.
MINUS = "\u2212"

_language: ContextVar[str] = ContextVar("report_language", default="en")


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Numbers formatted inside the block default to ``language``."""
    token = _language.set(language)
    try:
        yield
    finally:
        _language.reset(token)


def _lang(language: str | None) -> str:
    return language or _language.get()


def _rounded(value: float, places: int) -> Decimal:
    exponent = Decimal(1).scaleb(-places)
    result = Decimal(repr(float(value))).quantize(exponent, rounding=ROUND_HALF_UP)
    return result if result != 0 else abs(result)  # never print "-0"


def _number(number: Decimal, places: int, language: str) -> str:
    pattern = "#,##0" + ("." + "0" * places if places else "")
    text = format_decimal(abs(number), pattern, locale=language)
    return f"{MINUS}{text}" if number < 0 else text


def _percent(number: Decimal, language: str) -> str:
    text = format_percent(abs(number) / 100, locale=language, decimal_quantization=False)
    return f"{MINUS}{text}" if number < 0 else text


def pct(value: float | None, language: str | None = None) -> str:
    """A percentage on a 0–100 scale as a whole number: 72.4 → "72%" ("72 %" in Spanish)."""
    if value is None:
        return MISSING
    return _percent(_rounded(value, 0), _lang(language))


def _points(number: Decimal, language: str) -> str:
    sign = "+" if number > 0 else ""
    text = sign + _number(number, 0, language)
    return catalog.translate_plural(
        language, "{number} pt", "{number} pts", int(abs(number))
    ).format(number=text)


def delta(value: float | None, language: str | None = None) -> str:
    """A change in percentage points with its sign: 6.2 → "+6 pts", -1 → "−1 pt", 0.2 → "0 pts"."""
    if value is None:
        return MISSING
    return _points(_rounded(value, 0), _lang(language))


def score(value: float | None, language: str | None = None) -> str:
    """A 0–100 mean score with one decimal: 68.43 → "68.4" ("68,4" in Spanish)."""
    if value is None:
        return MISSING
    return _number(_rounded(value, 1), 1, _lang(language))


def interval(bounds: tuple[float, float] | None, language: str | None = None) -> str:
    """An interval of 0–100 scores: (64.08, 72.71) → "64.1–72.7"."""
    if bounds is None:
        return MISSING
    low, high = bounds
    return f"{score(low, language)}–{score(high, language)}"


def pct_interval(bounds: tuple[float, float] | None, language: str | None = None) -> str:
    """An interval of percentages: (32.9, 100.0) → "33–100%"."""
    if bounds is None:
        return MISSING
    low, high = bounds
    return f"{_number(_rounded(low, 0), 0, _lang(language))}–{pct(high, language)}"


def delta_interval(bounds: tuple[float, float] | None, language: str | None = None) -> str:
    """An interval of changes in points: (-8.2, 3.4) → "−8 to +3 pts"."""
    if bounds is None:
        return MISSING
    low, high = (_rounded(bound, 0) for bound in bounds)
    lang = _lang(language)
    first = ("+" if low > 0 else "") + _number(low, 0, lang)
    return catalog.translate(lang, "{low} to {high}").format(low=first, high=_points(high, lang))


def coefficient(value: float | None, language: str | None = None) -> str:
    """A coefficient bounded by ±1 (rwg(j), alpha, omega, ICC) as APA style: 0.823 → ".82"."""
    if value is None:
        return MISSING
    number = _rounded(value, 2)
    text = f"{abs(number):.2f}"
    if abs(number) < 1:
        text = text[1:]  # drop the leading zero
    text = text.replace(".", get_decimal_symbol(_lang(language)))
    return f"{MINUS}{text}" if number < 0 else text


def p_value(value: float | None, language: str | None = None) -> str:
    """A p value: 0.0123 → "p = .012", 0.0004 → "p < .001"."""
    if value is None:
        return MISSING
    point = get_decimal_symbol(_lang(language))
    if value < 0.001:
        return f"p < {point}001"
    return f"p = {f'{_rounded(value, 3):.3f}'.removeprefix('0').replace('.', point)}"


def percentile(value: float | None, language: str | None = None) -> str:
    """A percentile rank as an ordinal: 72.4 → "72nd" (other languages: the number)."""
    if value is None:
        return MISSING
    number = int(_rounded(value, 0))
    if _lang(language) != "en":
        return f"{number}"
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def count(value: int | None, language: str | None = None) -> str:
    """A count with the locale's thousands separators: 1234 → "1,234"."""
    if value is None:
        return MISSING
    return format_decimal(value, "#,##0", locale=_lang(language))


def long_date(value: date, language: str | None = None) -> str:
    """A date written out: 2026-03-05 → "5 March 2026" ("5 de marzo de 2026")."""
    return dates.long_date(value, _lang(language))


# Looked up above by their English text.
_MARKED = (N_("{low} to {high}"), N_plural("{number} pt", "{number} pts"))
