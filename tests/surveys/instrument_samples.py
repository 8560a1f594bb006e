"""A small valid instrument definition for tests to break, and a YAML writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ErrorsOf = Callable[[object], list[str]]


def make_definition() -> dict[str, Any]:
    """A small definition using every feature; tests break one thing in a fresh copy."""
    return {
        "key": "mini-survey",
        "version": "1.0",
        "title": {"en": "Mini survey", "es": "Mini encuesta"},
        "languages": ["en", "es"],
        "intro": {"en": "Hello.", "es": "Hola."},
        "response_scales": {
            "agree3": {
                "points": 3,
                "labels": {"en": ["No", "Maybe", "Yes"], "es": ["No", "Quizás", "Sí"]},
                "positive_from": 3,
                "negative_to": 1,
                "not_applicable": {"en": "Don't know", "es": "No sé"},
            }
        },
        "scales": [
            {
                "key": "alpha",
                "title": {"en": "Alpha", "es": "Alfa"},
                "description": {"en": "First.", "es": "Primera."},
                "response_scale": "agree3",
                "higher_is_better": True,
                "items": [
                    {"key": "a1", "text": {"en": "Item a1", "es": "Ítem a1"}},
                    {"key": "a2", "text": {"en": "Item a2", "es": "Ítem a2"}, "reverse": True},
                ],
            },
            {
                "key": "beta",
                "title": {"en": "Beta", "es": "Beta"},
                "response_scale": "agree3",
                "higher_is_better": False,
                "items": [{"key": "b1", "text": {"en": "Item b1", "es": "Ítem b1"}}],
            },
        ],
        "background": [
            {
                "key": "role",
                "text": {"en": "Role?", "es": "¿Función?"},
                "options": {"en": ["Worker", "Boss"], "es": ["Trabajador", "Jefe"]},
                "optional": True,
            }
        ],
        "comment": {
            "key": "note",
            "text": {"en": "Anything else?", "es": "¿Algo más?"},
            "min_report_n": 10,
        },
    }


def write_yaml(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
