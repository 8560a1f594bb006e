"""Languages of the signed-in and public pages: one gettext catalog through Flask-Babel.

The catalog lives in ``app/translations/<language>/LC_MESSAGES/messages.po`` (compiled to ``.mo``
by ``make translations``, the Makefile's other targets, the test session, or at start when a
``.po`` is newer). Templates mark every string a person reads with ``_()``; Python code with
``flask_babel.gettext`` / ``lazy_gettext``. The configured languages are the ``LANGUAGES``
setting and nothing else (:func:`languages`). A page's language is, in order: the one the view
chose (``g.language``; the survey keeps its own in ``g.lang``), the signed-in person's account
setting, the browser's preference, the first configured language.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel

from app import catalog

TRANSLATIONS = catalog.TRANSLATIONS
log = logging.getLogger(__name__)


def languages() -> tuple[str, ...]:
    """The configured languages (the ``LANGUAGES`` setting), the default first."""
    if has_app_context():
        configured: tuple[str, ...] = current_app.config["LANGUAGES"]
        return configured
    return catalog.environment_languages()


def default_language() -> str:
    return languages()[0]


def language_names() -> dict[str, str]:
    """Each configured language's name in itself, for language choices."""
    return {code: catalog.language_name(code) for code in languages()}


def _account_language() -> str | None:
    from app.auth import current_admin

    try:
        user = current_admin()
    except RuntimeError:  # no login manager (a bare test app)
        return None
    return getattr(user, "language", None) if user is not None else None


def select_language() -> str:
    supported = languages()
    for chosen in (getattr(g, "language", None), getattr(g, "lang", None)):
        if chosen in supported:
            return str(chosen)
    if has_request_context():
        own = _account_language()
        if own in supported:
            return str(own)
        best = request.accept_languages.best_match(supported)
        if best:
            return best
    return supported[0]


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", catalog.SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    try:
        catalog.compile_catalogs(app.config["LANGUAGES"])
    except OSError as error:  # a read-only install: `make translations` at build time instead
        log.warning("could not compile the translation catalogs: %s", error)
    Babel(app, locale_selector=select_language)
    app.jinja_env.globals.update(language_names=language_names, languages=languages)
