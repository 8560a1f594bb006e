"""Languages of the signed-in and public pages: one gettext catalog through Flask-Babel.

The catalog lives in ``app/translations/<language>/LC_MESSAGES/messages.po`` (compiled to ``.mo`` by
the Makefile). Templates mark every string a person reads with ``_()``; Python code with
``flask_babel.gettext`` / ``lazy_gettext``. A page's language is, in order: the one the view chose
(``g.language``), the signed-in person's choice, the browser's preference, English.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request
from flask_babel import Babel

SUPPORTED: tuple[str, ...] = ("en", "es")
DEFAULT = "en"
TRANSLATIONS = Path(__file__).parent / "translations"


def select_language() -> str:
    chosen = getattr(g, "language", None)
    if chosen in SUPPORTED:
        return str(chosen)
    best = request.accept_languages.best_match(SUPPORTED) if request else None
    return best or DEFAULT


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_language)
