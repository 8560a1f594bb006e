"""Dates written out in words, in the languages the platform speaks (English, Spanish)."""

from __future__ import annotations

from datetime import date

MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}


def long_date(value: date, language: str = "en") -> str:
    """'14 December 2026' / '14 de diciembre de 2026' (unknown languages get English)."""
    if language == "es":
        return f"{value.day} de {MONTH_NAMES['es'][value.month - 1]} de {value.year}"
    return f"{value.day} {MONTH_NAMES['en'][value.month - 1]} {value.year}"
