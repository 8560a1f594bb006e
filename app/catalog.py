"""The gettext catalog, without Flask: where it lives, compiling it, loading one language.

One catalog (domain ``messages``) serves the pages (through Flask-Babel, :mod:`app.i18n`), the
emails and the PDF reports (:mod:`app.reporting`, which knows no Flask). English is the source
language: the msgids are the English words, so English needs no catalog of its own.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
#: Used when the LANGUAGES setting is not at hand (a worker's module, a script).
DEFAULT_LANGUAGES = "en,es"


def po_path(language: str, directory: Path = TRANSLATIONS) -> Path:
    return directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str, directory: Path = TRANSLATIONS) -> Path:
    return po_path(language, directory).with_suffix(".mo")


def catalog_languages(directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """Every language that has a catalog, plus the source language."""
    found = {path.parent.parent.name for path in directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return (SOURCE_LANGUAGE, *sorted(found - {SOURCE_LANGUAGE}))


def parse_languages(raw: str, directory: Path = TRANSLATIONS) -> tuple[str, ...]:
    """``"en,es"`` → ``("en", "es")``; raises ValueError naming what is wrong.

    English must be among them (it is the source the others are translated from), and every
    other language needs a catalog under ``app/translations/<language>/``.
    """
    languages = tuple(dict.fromkeys(code.strip() for code in raw.split(",") if code.strip()))
    if SOURCE_LANGUAGE not in languages:
        raise ValueError(f"expected a list that includes {SOURCE_LANGUAGE}, got {raw!r}")
    for code in languages:
        try:
            Locale.parse(code)
        except (ValueError, UnknownLocaleError):
            raise ValueError(f"{code!r} is not a language code such as es or fr") from None
        if code != SOURCE_LANGUAGE and not po_path(code, directory).is_file():
            raise ValueError(
                f"no catalog for {code!r}: add app/translations/{code}/LC_MESSAGES/{DOMAIN}.po "
                "(README: Adding a language)"
            )
    return languages


def environment_languages() -> tuple[str, ...]:
    """The LANGUAGES setting read from the environment, for code that runs without the app."""
    return parse_languages(os.environ.get("LANGUAGES") or DEFAULT_LANGUAGES)


def language_name(language: str) -> str:
    """A language's name in itself: "English", "Español"."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


def is_stale(language: str, directory: Path = TRANSLATIONS) -> bool:
    po, mo = po_path(language, directory), mo_path(language, directory)
    return po.is_file() and (not mo.is_file() or mo.stat().st_mtime < po.stat().st_mtime)


def compile_catalogs(
    languages: Iterable[str] | None = None, directory: Path = TRANSLATIONS, *, force: bool = False
) -> list[Path]:
    """Write ``messages.mo`` beside every ``messages.po`` that is newer (or all, ``force``).

    Returns the files written. Fuzzy entries are left out, as ``pybabel compile`` does.
    """
    written = []
    for language in languages or catalog_languages(directory):
        if language == SOURCE_LANGUAGE and not po_path(language, directory).is_file():
            continue
        if not (force or is_stale(language, directory)):
            continue
        with po_path(language, directory).open("rb") as source:
            catalog = read_po(source, locale=language, domain=DOMAIN)
        target = mo_path(language, directory)
        # A file of its own per writer (test workers compile at once), then an atomic rename:
        # a reader never sees half a file.
        with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False) as out:
            write_mo(out, catalog, use_fuzzy=False)
        os.chmod(out.name, 0o644)  # as readable as the .po it comes from (not 0600)
        os.replace(out.name, target)
        written.append(target)
    load.cache_clear()
    return written


@functools.cache
def load(language: str, directory: Path = TRANSLATIONS) -> NullTranslations:
    """The compiled catalog of ``language`` (English, or a missing .mo: the msgids themselves)."""
    if language == SOURCE_LANGUAGE or not mo_path(language, directory).is_file():
        return NullTranslations()
    with mo_path(language, directory).open("rb") as source:
        return Translations(source, domain=DOMAIN)


def translate(language: str, message: str) -> str:
    """``message`` (an English msgid) in ``language``."""
    return load(language).ugettext(message)


def translate_plural(language: str, singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` (English msgids) for ``n``, in ``language``."""
    return load(language).ungettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks an English msgid for extraction without translating it (translated where shown)."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:
    """Marks a plural pair of msgids for extraction (``pybabel -k N_plural:1,2``)."""
    return singular, plural
