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
from collections.abc import Sequence

from babel import Locale, UnknownLocaleError
from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, format_percent, get_locale, gettext
from flask_babel.speaklater import LazyString
from markupsafe import escape

from app import catalog
from app.catalog import N_

TRANSLATIONS = catalog.TRANSLATIONS
log = logging.getLogger(__name__)


def languages() -> tuple[str, ...]:
    """The configured languages (the ``LANGUAGES`` setting), the default first."""
    configured: tuple[str, ...] | None = (
        current_app.config.get("LANGUAGES") if has_app_context() else None
    )
    # A bare Flask app (some tests, a script) has no settings: the environment's, then "en,es".
    return configured or catalog.environment_languages()


def default_language() -> str:
    return languages()[0]


def language_names() -> dict[str, str]:
    """Each configured language's name in itself, for language choices."""
    return {code: catalog.language_name(code) for code in languages()}


def _account_language() -> str | None:
    """The signed-in account's language, if this request has already loaded the account.

    Never loads it: choosing a language must not query the database (the page saying the
    database is unreachable is translated too).
    """
    account = g.get("_login_user")  # where Flask-Login keeps the loaded account
    user = getattr(account, "user", None)
    language = getattr(user, "language", None)
    return language if isinstance(language, str) else None


def page_language() -> str:
    """The language of the page being rendered."""
    return str(get_locale() or default_language())


def _percent(fraction: float) -> str:
    """A share (0.724) as a whole percentage the page's way: "72%", "72 %"."""
    return str(format_percent(fraction))


def language_in_page(code: str) -> str:
    """A language's name in the page's language, for running text: "Spanish", "español"."""
    try:
        name = Locale.parse(code).get_display_name(page_language())
    except (ValueError, UnknownLocaleError):
        return code
    return str(name or code)


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


#: Words the pages show for stored values (unit kinds, statuses, roles, sharing levels), by value.
VALUE_LABELS: dict[str, str] = {
    "agency": N_("agency"),
    "region": N_("region"),
    "office": N_("office"),
    "team": N_("team"),
    "draft": N_("draft"),
    "open": N_("open"),
    "closed": N_("closed"),
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
    "national": N_("national coordinator"),
    "jurisdiction_admin": N_("jurisdiction administrator"),
    "leader": N_("leader"),
    # Data-sharing levels (the same words as the national home's).
    "none": N_("nothing"),
    "benchmark": N_("benchmark figures"),
    "psychometric": N_("psychometric statistics"),
    "research_extract": N_("research extract"),
}


def value_label(value: object) -> str:
    """A stored value (an enum or its string) in the page's language; unknown ones as they are."""
    raw = str(getattr(value, "value", value))
    label = VALUE_LABELS.get(raw)
    return gettext(label) if label else raw


class Message(LazyString):  # type: ignore[misc]
    """A sentence translated when it is shown, in the language of the page showing it.

    Flask-Babel's own lazy strings tell Jinja they are already markup; a message may hold what
    a person typed (a unit name, an email), so this one is escaped like any other text.
    """

    def __html__(self) -> str:
        return str(escape(str(self)))


def translate(string: str, **variables: object) -> str:
    """``gettext`` that also works where Flask-Babel is not set up (a bare Flask app in a script
    or a test): there, as outside any app, the English source with its variables filled in."""
    if has_app_context() and "babel" not in current_app.extensions:
        return string % variables if variables else string
    return str(gettext(string, **variables))


def lazy_message(string: str, **variables: object) -> Message:
    """``lazy_gettext`` for service errors: ``str()`` gives the current page's language, English
    outside a request (the CLI, a plain test); escaped when a template shows it."""
    return Message(translate, string, **variables)


_l = lazy_message  # the name Babel extracts (babel.cfg keywords)


def either(choices: Sequence[str]) -> str | Message:
    """Choices as running text, translated when shown: "en or es", "en o es"."""
    if len(choices) < 2:
        return "".join(choices)
    return _l("%(first)s or %(last)s", first=", ".join(choices[:-1]), last=choices[-1])


def both(items: Sequence[str]) -> str | Message:
    """Items as running text, translated when shown: "email and unit", "email y unit"."""
    if len(items) < 2:
        return "".join(items)
    return _l("%(first)s and %(last)s", first=", ".join(items[:-1]), last=items[-1])


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", catalog.SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    try:
        catalog.compile_catalogs(app.config.get("LANGUAGES"))
    except OSError as error:  # a read-only install: `make translations` at build time instead
        log.warning("could not compile the translation catalogs: %s", error)
    Babel(app, locale_selector=select_language)
    app.jinja_env.globals.update(
        language_names=language_names, languages=languages, page_language=page_language
    )
    app.jinja_env.filters.update(
        label=value_label, percent=_percent, language_name=language_in_page
    )
