"""Dates written out in words, in any configured language, through Babel's locale data."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_datetime

#: English reads day first, as the platform always wrote it ("14 December 2026"); other
#: languages take their own long form from the locale ("14 de diciembre de 2026").
_PATTERNS = {"en": "d MMMM y"}


def long_date(value: date, language: str = "en") -> str:
    """'14 December 2026' / '14 de diciembre de 2026'."""
    return format_date(value, _PATTERNS.get(language, "long"), locale=language)


def long_datetime(value: datetime, language: str = "en") -> str:
    """A date and time of day in ``language`` ('14 December 2026, 17:00')."""
    day = long_date(value.date(), language)
    return f"{day}, {format_datetime(value, 'HH:mm', locale=language)}"
