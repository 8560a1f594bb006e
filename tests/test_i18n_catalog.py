"""The catalog is complete: no words outside it, and none missing in a configured language.

Four checks, each able to fail on one forgotten string:
- every Jinja template (pages, emails, reports) is lexed, and its literal text — outside
  ``{{ }}``/``{% %}`` and outside tags, plus the attributes a person reads (``alt``, ``title``,
  ``placeholder``, ``aria-label``) — must hold no word: words go through ``_()``;
- in the views and forms, a flash message or a form field label must be a ``_()`` call, never
  a bare string;
- in the service modules whose errors reach a page, a raised message (or a roster problem, or a
  password rule) must be an ``_l()`` call (``app.i18n.lazy_message``), never a bare string;
- Babel extracts every msgid from the code and templates (babel.cfg), and each configured
  language (``LANGUAGES``) has a translation of every one, keeping its placeholders.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from app import catalog, config

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
TEMPLATES = sorted(
    [p for p in APP.rglob("templates/**/*.html")] + [p for p in APP.rglob("templates/**/*.txt")]
)
PYTHON_UI = sorted(
    [
        *APP.glob("*/views.py"),
        *APP.glob("*/*_views.py"),
        *APP.glob("*/forms.py"),
        *APP.glob("*/faults.py"),
    ]
)
WORD = re.compile(r"[^\W\d_]{2,}")
TAG = re.compile(r"<[^>]*>", re.S)
READ_ATTRIBUTE = re.compile(
    r"""\b(?:alt|title|placeholder|aria-label|aria-description)\s*=\s*(["'])(.*?)\1""", re.S
)
ENTITY = re.compile(r"&[a-zA-Z]+;|&#\d+;")
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")

_LEXER = jinja2.Environment(extensions=["jinja2.ext.i18n"])


def bare_words(source: str) -> list[str]:
    """Every piece of literal template text a person would read."""
    data = [value for _, kind, value in _LEXER.lex(source) if kind == "data"]
    found = [
        match.group(0).strip()
        for value in data
        for match in READ_ATTRIBUTE.finditer(value)
        if WORD.search(ENTITY.sub("", match.group(2)))
    ]
    # Joined with a marker where an expression stood, so a tag holding expressions
    # (<a href="{{ x }}" class="y">) is still one tag and its attributes are not text.
    text = ENTITY.sub("", TAG.sub(" ", "\x00".join(data)))
    for piece in text.split("\x00"):
        if WORD.search(piece):
            found.append(" ".join(piece.split())[:80])
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(APP)))
def test_no_template_shows_a_word_outside_the_catalog(path: Path) -> None:
    leaks = bare_words(path.read_text(encoding="utf-8"))
    assert not leaks, f"{path.relative_to(ROOT)}: wrap these in _(): {leaks}"


def test_the_template_check_finds_a_bare_sentence() -> None:
    assert bare_words("<p>{{ _('Fine') }}</p><p>Hello there</p>")
    assert bare_words('<img alt="A chart" src="{{ url }}">')
    assert bare_words('<a href="{{ url }}">Open it</a>')
    assert not bare_words('<a href="{{ url }}" class="x">{{ _("Open it") }}</a> — {{ n }} ·')


def _ui_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Bare strings given to flash() or as a form field's label."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        first = node.args[0]
        bare = isinstance(first, ast.JoinedStr) or (
            isinstance(first, ast.Constant) and isinstance(first.value, str)
        )
        if bare and (name == "flash" or (name.endswith("Field") and name[0].isupper())):
            found.append((node.lineno, ast.unparse(first)[:80]))
    for node in ast.walk(tree):
        # Words handed to a template by name (a page's title or message).
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "render_template":
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg in {"title", "message", "heading"}
                    and isinstance(value, ast.Constant | ast.JoinedStr)
                    and (isinstance(value, ast.JoinedStr) or isinstance(value.value, str))
                ):
                    found.append((node.lineno, ast.unparse(value)[:80]))
    return found


@pytest.mark.parametrize("path", PYTHON_UI, ids=lambda p: str(p.relative_to(APP)))
def test_no_flash_or_label_is_a_bare_string(path: Path) -> None:
    leaks = _ui_strings(ast.parse(path.read_text(encoding="utf-8")))
    assert not leaks, f"{path.relative_to(ROOT)}: wrap these in _() / _l(): {leaks}"


def test_the_python_check_finds_a_bare_flash() -> None:
    tree = ast.parse(
        'flash("Saved.", "ok")\nflash(_("Saved."), "ok")\nx = StringField("Name")\n'
        'render_template("x.html", title="Oops")\nrender_template("x.html", title=_("Fine"))'
    )
    assert sorted(line for line, _ in _ui_strings(tree)) == [1, 3, 4]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    import importlib.util

    spec = importlib.util.spec_from_file_location("translations", ROOT / "scripts/translations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    extracted: Catalog = module.extract(tmp_path_factory.mktemp("pot") / "messages.pot")
    return extracted


def configured_languages() -> tuple[str, ...]:
    default = next(s.default for s in config.SETTINGS if s.name == "LANGUAGES")
    assert default is not None
    return catalog.parse_languages(default)


def test_every_msgid_is_translated_in_every_configured_language(extracted: Catalog) -> None:
    assert len(extracted) > 400, "extraction found too little: is babel.cfg still right?"
    problems = []
    for language in configured_languages():
        if language == catalog.SOURCE_LANGUAGE:
            continue
        with catalog.po_path(language).open("rb") as source:
            po = read_po(source, locale=language)
        for message in extracted:
            if not message.id:
                continue
            translated = po.get(message.id)
            strings = translated.string if translated is not None else None
            forms = strings if isinstance(strings, tuple) else (strings,)
            if translated is None or translated.fuzzy or not all(forms):
                problems.append(f"{language}: no translation of {message.id!r}")
                continue
            wanted = set(
                PLACEHOLDER.findall(
                    str(message.id[-1] if isinstance(message.id, tuple) else message.id)
                )
            )
            for form in forms:
                if set(PLACEHOLDER.findall(str(form))) != wanted:
                    problems.append(f"{language}: placeholders differ in {message.id!r}")
    assert not problems, "\n".join(problems[:20]) + "\n(run `make translations`)"


def test_the_compiled_catalog_is_the_current_one() -> None:
    for language in configured_languages():
        assert not catalog.is_stale(language), f"{language}: messages.mo is older than its .po"


def test_a_third_language_is_one_catalog_and_one_line(tmp_path: Path) -> None:
    # Without its catalog the setting is refused with the reason; with one it is accepted,
    # compiled and loaded like Spanish.
    with pytest.raises(ValueError, match="no catalog for 'fr'"):
        catalog.parse_languages("en,fr", tmp_path)
    for language in ("es", "fr"):
        po = catalog.po_path(language, tmp_path)
        po.parent.mkdir(parents=True)
        po.write_text(
            'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            'msgid "Read in {language}"\nmsgstr "Lire en {language}"\n',
            encoding="utf-8",
        )
    assert catalog.parse_languages("en,es,fr", tmp_path) == ("en", "es", "fr")
    assert catalog.compile_catalogs(("fr",), tmp_path) == [catalog.mo_path("fr", tmp_path)]
    assert catalog.load("fr", tmp_path).ugettext("Read in {language}") == "Lire en {language}"


def test_languages_must_include_english_and_be_real_codes() -> None:
    with pytest.raises(ValueError, match="includes en"):
        catalog.parse_languages("es")
    with pytest.raises(ValueError, match="not a language code"):
        catalog.parse_languages("en,notalanguage")


def test_a_bad_languages_setting_stops_the_app_naming_it(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="LANGUAGES"):
        config.load({"LANGUAGES": "en,zz"}, tmp_path, allow_generated_key=True)


#: Service modules whose errors reach a page (flashed or shown with ``str(error)``): every
#: message they raise is a ``_l()`` call, translated when the page shows it.
SERVICE_MESSAGES = sorted(
    APP / "services" / name
    for name in (
        "access.py",
        "accounts.py",
        "audit.py",
        "national_report.py",
        "reports/browse.py",
        "exports.py",
        "extract.py",
        "jurisdictions.py",
        "mail_settings.py",
        "passwords.py",
        "plans.py",
        "report_batches.py",
        "roster.py",
        "sharing.py",
        "staff.py",
        "users.py",
        "wave_previews.py",
        "waves.py",
        "reports/context.py",
        "reports/errors.py",
        "reports/results.py",
    )
)
#: Modules mostly for operators (the command line), where only some functions reach a page.
PAGE_FUNCTIONS = {
    APP / "services" / "contributions.py": {"build_contribution", "approve_contribution"}
}
#: Exceptions no person reads as a sentence: the sign-in form says its own one message, and
#: an unknown language is refused by the form, a ValueError is a bug in the caller. (NotFound
#: and PermissionDenied are read: the 404 and 403 pages show them.)
NOT_SHOWN = {"LoginFailed", "SignInDelayed", "UnknownLanguage", "ValueError"}
#: Exceptions given data, not a sentence: their ``__str__`` composes the translated message.
COMPOSED = {"UnitSuppressed"}


def _bare_texts(node: ast.AST) -> list[ast.AST]:
    """String literals and f-strings in ``node`` that are not inside a call (``_l()`` etc.)."""
    found: list[ast.AST] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.JoinedStr) or (
            isinstance(current, ast.Constant) and isinstance(current.value, str)
        ):
            found.append(current)
        elif not isinstance(current, ast.Call):
            stack.extend(ast.iter_child_nodes(current))
    return found


def _untranslated_messages(tree: ast.AST) -> list[tuple[int, str]]:
    """Messages a person would read, written as bare strings: what ``raise SomeError(...)``
    is given, what joins a roster's ``problems``, what ``weakness()`` (a password) returns."""
    found: list[tuple[int, str]] = []

    def note(parts: list[ast.expr]) -> None:
        for part in parts:
            found.extend((text.lineno, ast.unparse(text)[:80]) for text in _bare_texts(part))

    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = ast.unparse(node.exc.func).rsplit(".", 1)[-1]
            if name not in NOT_SHOWN | COMPOSED:
                note([*node.exc.args, *(k.value for k in node.exc.keywords)])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"append", "extend"}
            and ast.unparse(node.func.value).endswith("problems")
        ):
            note(list(node.args))
        elif (
            isinstance(node, ast.Call)
            and ast.unparse(node.func).rsplit(".", 1)[-1] in {"require", "require_any"}
            and len(node.args) > 1
        ):
            note(node.args[1:])  # what a refusal names: "you may not access <what>"
        elif isinstance(node, ast.FunctionDef) and node.name == "weakness":
            note([r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value])
    return sorted(found)


@pytest.mark.parametrize(
    "path", SERVICE_MESSAGES + sorted(PAGE_FUNCTIONS), ids=lambda p: str(p.relative_to(APP))
)
def test_no_service_message_is_a_bare_string(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if path in PAGE_FUNCTIONS:
        wanted = PAGE_FUNCTIONS[path]
        found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
        assert {n.name for n in found} == wanted, "a function shown on a page was renamed"
        tree = ast.Module(body=list(found), type_ignores=[])
    leaks = _untranslated_messages(tree)
    assert not leaks, f"{path.relative_to(ROOT)}: write these as _l(...): {leaks}"


def test_the_service_check_finds_a_bare_message() -> None:
    tree = ast.parse(
        'raise WaveError("reminders: between 0 and 10")\n'  # 1: bare
        'raise WaveError(f"year: {year} is wrong") from None\n'  # 2: f-string
        'raise WaveError(_l("year: %(y)s", y=f"{year}"))\n'  # translated
        'raise RosterInvalid([(0, "the upload expired")])\n'  # 4: inside a list
        'problems.append((line, "empty unit"))\n'  # 5: a roster problem
        'preview.problems.append((line, _l("empty unit")))\n'
        'raise LoginFailed("wrong email or password")\n'  # the form says its own message
        'def weakness(p):\n    if p:\n        return "too short"\n    return None\n'  # 10
        'access.require(allowed, "this wave")\n'  # 12: a refusal's words
        'raise NotFound(f"no wave {wave_id}")\n'  # 13: the 404 page shows it
    )
    assert [line for line, _ in _untranslated_messages(tree)] == [1, 2, 4, 5, 10, 12, 13]
