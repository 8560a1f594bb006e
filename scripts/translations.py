"""Keep the catalog in step with the code: extract, merge pending translations, update, compile.

    python scripts/translations.py            # all four steps (what `make translations` runs)
    python scripts/translations.py compile    # only compile the .po files that changed
    python scripts/translations.py check      # exit 1 listing what a configured language lacks

1. extract: every msgid in the code and templates (babel.cfg) → app/translations/messages.pot;
2. merge: each ``docs/i18n-pending/*.po`` (translations written beside new pages, by whoever
   added them) fills the entries of its language's catalog that are still empty; a pending
   translation that disagrees with one already in the catalog is reported and not applied;
3. update: each language's messages.po gains the new msgids (empty) and drops the vanished ones;
4. compile: messages.po → messages.mo (not committed; see .gitignore).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.frontend import CommandLineInterface  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from app import catalog  # noqa: E402

TEMPLATE = catalog.TRANSLATIONS / "messages.pot"
PENDING = ROOT / "docs" / "i18n-pending"
KEYWORDS = ("lazy_gettext", "_l", "N_", "N_plural:1,2")


def extract(output: Path = TEMPLATE) -> Catalog:
    """Run Babel's extractor over the project (babel.cfg) and return the template catalog."""
    args = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-o", str(output)]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    args += ["--no-location", "--sort-output", "--omit-header", "--project", "survey", str(ROOT)]
    CommandLineInterface().run(args)
    with output.open("rb") as source:
        return read_po(source)


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def _write(path: Path, po: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, po, width=100, omit_header=False, no_location=True, sort_output=True)


def merge_pending(language: str, po: Catalog) -> list[str]:
    """Fill ``po``'s empty entries from the pending files of ``language``; return the conflicts."""
    conflicts = []
    for path in sorted(PENDING.glob("*.po")):
        pending = _read(path)
        pending_language = str(pending.locale) if pending.locale else "es"
        if pending_language != language:
            continue
        for message in pending:
            if not message.id or not message.string:
                continue
            existing = po.get(message.id)
            if existing is None:
                po.add(message.id, message.string)
            elif not existing.string or existing.fuzzy:
                existing.string = message.string
                existing.flags.discard("fuzzy")
            elif existing.string != message.string:
                conflicts.append(f"{path.name}: {message.id!r} kept {existing.string!r}")
    return conflicts


def update(template: Catalog, languages: tuple[str, ...]) -> None:
    for language in languages:
        if language == catalog.SOURCE_LANGUAGE:
            continue
        path = catalog.po_path(language)
        po = _read(path, language) if path.is_file() else Catalog(locale=language)
        for conflict in merge_pending(language, po):
            print(f"pending translation not applied: {conflict}")
        po.update(template, no_fuzzy_matching=True)
        po.obsolete.clear()
        _write(path, po)


def missing(languages: tuple[str, ...]) -> dict[str, list[str]]:
    """For each configured language, the template's msgids it has no (non-fuzzy) translation of."""
    template = _read(TEMPLATE)
    result = {}
    for language in languages:
        if language == catalog.SOURCE_LANGUAGE:
            continue
        po = _read(catalog.po_path(language), language)
        lacking = []
        for message in template:
            if not message.id:
                continue
            translated = po.get(message.id)
            strings = translated.string if translated else None
            parts = strings if isinstance(strings, tuple) else (strings,)
            if translated is None or translated.fuzzy or not all(parts):
                lacking.append(str(message.id))
        result[language] = lacking
    return result


def main(argv: list[str]) -> int:
    languages = catalog.catalog_languages()
    step = argv[0] if argv else "all"
    if step in {"all", "extract"}:
        template = extract()
        if step == "all":
            update(template, languages)
    if step in {"all", "compile"}:
        for path in catalog.compile_catalogs(languages, force=step == "all"):
            print(f"compiled {path.relative_to(ROOT)}")
    if step in {"all", "check"}:
        lacking = missing(languages)
        for language, msgids in lacking.items():
            for msgid in msgids:
                print(f"{language}: no translation of {msgid!r}")
        if any(lacking.values()):
            return 1 if step == "check" else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
