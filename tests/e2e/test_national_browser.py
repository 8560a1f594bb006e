"""The coordinator's pages in a real browser, in English and in Spanish: axe-core WCAG 2.1 A/AA.

The national home (with the national benchmarks table and a withdrawal note), the national
psychometric report, the data-sharing page, and a jurisdiction administrator's own report and
contribution page. In Spanish each page must be marked ``lang="es"`` and show no English: no
sentence of the catalog, no English scale title or level meaning, no stored value ("team",
"psychometric") printed as it is. The coordinator asks for Spanish through the browser, the
administrator through the account's language setting.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pprint import pformat
from typing import Any

import pytest
from sqlalchemy.orm import Session

import surveys
from app.models import Role, SharingLevel
from app.services import contributions, sharing
from tests.admin.conftest import PASSWORD, make_user
from tests.e2e.conftest import AXE, Site, axe_violations
from tests.national.conftest import seed_wave
from tests.national.test_psychometric_pages import share
from tests.test_i18n_pages import english_in, visible_text

COORDINATOR = "axe-coordinator@x.org"
ADMIN = "axe-nat-admin@x.org"  # no language of their own: the browser's
SPANISH_ADMIN = "axe-nat-admin-es@x.org"  # the account's language is Spanish

#: English that the catalog detector cannot see: the instrument's English scale titles (the
#: Spanish ones come from the instrument, not the catalog) and the level meanings' sentences.
KNOWN_ENGLISH = {
    scale.title["en"]
    for scale in surveys.load_default().scales
    if scale.title["en"] != scale.title.get("es")
} | set(sharing.LEVEL_MEANING.values())
#: Stored values and short words shown as they are, too short for the catalog detector: a
#: sharing level, a unit kind, an invariance step, the group of all respondents, an interval.
ENGLISH_WORDS = re.compile(
    r"(?<![\w-])(none|benchmark|psychometric|research_extract|team|office|region|agency"
    r"|metric|scalar|all|to)(?![\w-])"
)


def english_left(page: str) -> list[str]:
    """English on a page meant to be Spanish: catalog sentences, known titles, stored words."""
    text = visible_text(page)
    found = english_in(text) + sorted(e for e in KNOWN_ENGLISH if e in text)
    return found + sorted(set(ENGLISH_WORDS.findall(text)))


@dataclass(frozen=True)
class National:
    year: int
    wave_id: int  # Lake's wave: its administrators' contribution page


@pytest.fixture(scope="module")
def national_world(site: Site) -> Iterator[National]:
    with Session(site.engine) as session:
        lake, lake_wave = share(session, "axe-nat-lake", seed=11)
        share(session, "axe-nat-hill", seed=12)
        # Enough jurisdictions at benchmark level for published national benchmarks, and
        # one that withdraws after its contribution left, so the home shows the note.
        for n, slug in enumerate(("axe-nat-sea", "axe-nat-moor", "axe-nat-dale", "axe-nat-fen")):
            _, wave = seed_wave(session, slug, teams=8, per_team=6, seed=20 + n)
            sharing.set_level(session, None, wave.id, "benchmark", reference=f"DSA-{slug}")
            contributions.approve_contribution(session, None, wave.id)
            if slug == "axe-nat-fen":
                sharing.set_level(session, None, wave.id, "none")
        make_user(session, COORDINATOR, Role.NATIONAL)
        make_user(session, ADMIN, Role.JURISDICTION_ADMIN, lake)
        make_user(session, SPANISH_ADMIN, Role.JURISDICTION_ADMIN, lake).language = "es"
        world = National(year=lake_wave.year, wave_id=lake_wave.id)
        session.commit()
    yield world


def _sign_in(site: Site, page: Any, email: str) -> None:
    page.goto(f"{site.base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert "/login" not in page.url, page.content()[:500]


def _scan(site: Site, page: Any, paths: list[str], *, spanish: bool) -> dict[str, Any]:
    """Each path's axe violations and, in Spanish, a wrong ``lang`` or English left on it."""
    found: dict[str, Any] = {}
    for path in paths:
        response = page.goto(f"{site.base}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        problems: dict[str, Any] = {}
        if violations := axe_violations(page):
            problems["axe"] = violations
        if spanish:
            if (lang := page.locator("html").get_attribute("lang")) != "es":
                problems["lang"] = lang
            if english := english_left(page.content()):
                problems["english"] = english
        if problems:
            found[path] = problems
    return found


def _signed_in_page(site: Site, context: Any, locale: str, email: str) -> tuple[Any, Any]:
    browser_context = context.browser.new_context(locale=locale)
    browser_context.add_init_script(path=str(AXE))  # not inline: the CSP stays in force
    page = browser_context.new_page()
    _sign_in(site, page, email)
    return browser_context, page


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
def test_the_coordinators_pages_have_no_wcag_21_aa_violations_nor_english_in_spanish(
    site: Site, national_world: National, context: Any, locale: str
) -> None:
    spanish = locale == "es-ES"
    problems: dict[str, Any] = {}
    coordinator, page = _signed_in_page(site, context, locale, COORDINATOR)
    try:
        paths = [
            "/national/",
            f"/national/?year={national_world.year}",
            "/national/report",
            "/admin/sharing",
            "/admin/",
        ]
        problems |= _scan(site, page, paths, spanish=spanish)
        # The home showed what the scan is meant to cover: benchmark tables and a withdrawal,
        # with the scales under the instrument's own titles in the page's language.
        page.goto(f"{site.base}/national/")
        section = page.locator("section.national-benchmarks")
        assert section.locator("table tbody td").count() > 0
        assert section.locator("p.note").count() == 1
        assert "Axe-Nat-Fen County" in section.inner_text()
        rows = section.locator("table").first.locator("tbody th").all_inner_texts()
        language = "es" if spanish else "en"
        assert rows == [s.title[language] for s in surveys.load_default().scales]
        page.goto(f"{site.base}/national/report")
        heading = page.locator("h1").inner_text()
        expected = "Informe psicométrico nacional" if spanish else "National psychometric report"
        assert heading.startswith(expected), heading
    finally:
        coordinator.close()
    # A jurisdiction's administrator: the Spanish one by the account's setting alone, with a
    # browser that still asks for English.
    email = SPANISH_ADMIN if spanish else ADMIN
    admin, admin_page = _signed_in_page(site, context, "en-US", email)
    try:
        paths = ["/national/self", "/admin/sharing"]
        paths.append(f"/admin/contributions/{national_world.wave_id}")
        problems |= {
            f"admin {k}": v for k, v in _scan(site, admin_page, paths, spanish=spanish).items()
        }
    finally:
        admin.close()
    assert not problems, pformat(problems, width=100)


def test_the_english_detector_sees_what_the_catalog_cannot() -> None:
    title = next(iter(KNOWN_ENGLISH - set(sharing.LEVEL_MEANING.values())))
    meaning = sharing.LEVEL_MEANING[SharingLevel.NONE]
    page = f"<p>Nivel: psychometric — {meaning}</p><td>.80 to .85</td><th>{title}</th>«team»"
    assert {title, meaning, "psychometric", "to", "team"} <= set(english_left(page))
    spanish = "<p>Instrumento: team-safety-culture 2026.1; .80 a .85; nada; «equipo»</p>"
    assert english_left(spanish) == []
