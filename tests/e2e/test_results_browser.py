"""A leader's year in a real browser: find a team, read its results, download the PDF, plan.

Signs in as a leader, searches the home's tree for a team, reads the team's results page,
downloads its PDF and checks that the PDF prints the page's numbers, records an action plan,
and opens next year's results, which show that plan. axe-core (WCAG 2.1 A/AA) scans the home,
the results pages and the plan page, in English and with ``?lang=es``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Role
from app.services import roster
from tests.admin.conftest import PASSWORD, make_jurisdiction, make_user, roster_csv
from tests.e2e.conftest import Site, axe_violations

LEADER = "results-leader@x.org"


@dataclass
class Years:
    first: int  # wave ids
    second: int
    team: int  # "Region 1 / Office A / Team 1"


def _closed_wave(session: Session, jurisdiction_id: int, year: int, seed: int) -> int:
    """A closed wave where each team of the jurisdiction has 7 answer sets."""
    import numpy as np

    import surveys
    from app.demo_data import generate_answers, new_team_effects
    from app.models import OrgUnit, Response, Wave, WaveStatus
    from app.services.instruments import ensure_instrument

    instrument = surveys.load_default()
    row = ensure_instrument(session, instrument)
    teams = session.scalars(
        select(OrgUnit)
        .where(OrgUnit.jurisdiction_id == jurisdiction_id, OrgUnit.path.like("%/ Team %"))
        .order_by(OrgUnit.path)
    ).all()
    wave = Wave(
        jurisdiction_id=jurisdiction_id,
        instrument_id=row.id,
        year=year,
        opens_at=datetime(year, 10, 1, tzinfo=UTC),
        closes_at=datetime(year, 11, 1, tzinfo=UTC),
        status=WaveStatus.CLOSED,
    )
    session.add(wave)
    session.flush()
    rng = np.random.default_rng(seed)
    team_of = np.repeat(np.arange(len(teams)), 7)
    answers = generate_answers(
        instrument, team_of, new_team_effects(instrument, len(teams), rng), rng
    )
    for r, t in enumerate(team_of):
        values = {
            k: int(v) for k, v in zip(instrument.item_keys, answers[r], strict=True) if v == v
        }
        session.add(Response(wave_id=wave.id, unit_id=teams[int(t)].id, answers=values))
    session.flush()
    return wave.id


@pytest.fixture(scope="module")
def years(site: Site) -> Iterator[Years]:
    from app.models import OrgUnit

    with Session(site.engine) as session:
        pine = make_jurisdiction(session, "pine-results", "Pine County")
        rows = [(f"r{i}@x.org", f"Region 1 / Office A / Team {i % 3}", "en") for i in range(21)]
        rows += [(f"s{i}@x.org", f"Region 1 / Office B / Team {i % 2}", "en") for i in range(10)]
        roster.import_roster(session, None, pine.id, roster_csv(rows))
        make_user(session, LEADER, Role.LEADER, pine, ("Region 1",))
        first = _closed_wave(session, pine.id, 2031, seed=11)
        second = _closed_wave(session, pine.id, 2032, seed=12)
        team = session.scalars(
            select(OrgUnit.id).where(
                OrgUnit.jurisdiction_id == pine.id, OrgUnit.path == "Region 1 / Office A / Team 1"
            )
        ).one()
        session.commit()
        world = Years(first, second, team)
    yield world


def _sign_in(site: Site, page: Any) -> None:
    page.goto(f"{site.base}/login")
    page.fill("input[name=email]", LEADER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _numbers(texts: list[str]) -> list[str]:
    return [t.split()[0] for t in texts]


def test_a_leader_finds_reads_downloads_plans_and_sees_the_plan_next_year(
    site: Site, years: Years, context: Any, tmp_path: Any
) -> None:
    page = context.new_page()
    _sign_in(site, page)
    assert page.url == f"{site.base}/reports"  # the leader's home is the results tree
    problems: dict[str, Any] = {}
    if v := axe_violations(page):
        problems["home"] = v

    page.fill("input[name=q]", "team 1")
    page.click("form.search button[type=submit]")
    assert "q=team+1" in page.url
    if v := axe_violations(page):
        problems["home, searched"] = v
    section = page.locator("section.wave-tree", has_text="survey 2031")
    links = section.locator("ul.tree a:not(.tree-pdf)", has_text="Team 1")
    # Office A's and Office B's "Team 1": the search keeps both, each under its office.
    assert links.count() == 2
    assert section.locator("ul.tree a:not(.tree-pdf)", has_text="Team 2").count() == 0
    section.locator(f"a[href='/reports/{years.first}/{years.team}']").click()
    assert page.url.endswith(f"/reports/{years.first}/{years.team}")
    assert page.locator("h1").inner_text() == "Team 1"
    if v := axe_violations(page):
        problems["results 2031"] = v

    headlines = _numbers(page.locator(".report-page table.summary .headline").all_inner_texts())
    assert headlines and all(re.fullmatch(r"\d+%", h) for h in headlines)
    responses = page.locator(".report-page dl.facts dd").nth(2).inner_text()
    assert responses.startswith("7 of")

    with page.expect_download() as info:
        page.click("text=Download the PDF report")
    pdf_path = tmp_path / "team.pdf"
    info.value.save_as(pdf_path)
    reader = PdfReader(io.BytesIO(pdf_path.read_bytes()))
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    assert responses in text
    pdf_pcts = re.findall(r"\d+%", text)
    position = 0
    for value in headlines:  # the PDF prints the page's headline figures, in the same order
        assert value in pdf_pcts[position:], (value, headlines, pdf_pcts[:40])
        position = pdf_pcts.index(value, position) + 1

    page.click("text=Action plan for Team 1")
    assert page.url.endswith(f"/plans/{years.first}/{years.team}")
    if v := axe_violations(page):
        problems["plan"] = v
    page.select_option("select[name='focus-0-scale']", index=1)
    chosen = page.locator("select[name='focus-0-scale'] option:checked").inner_text()
    page.fill("[name='focus-0-actions-0-text']", "Talk through one near miss every Monday")
    page.fill("[name='focus-0-actions-0-owner']", "team supervisor")
    page.select_option("select[name='focus-0-actions-0-status']", "done")
    page.click("form.plan button[type=submit]")
    assert "The plan is saved." in page.content()

    page.goto(f"{site.base}/reports?q=office+a+%2F+team+1")
    next_year = page.locator("section.wave-tree", has_text="survey 2032")
    next_year.locator(f"a[href='/reports/{years.second}/{years.team}']").click()
    plan = page.locator(".report-page .previous-plan")
    assert "The action plan after the 2031 survey" in plan.inner_text()
    assert "Talk through one near miss every Monday" in plan.inner_text()
    assert chosen in plan.inner_text() and "done" in plan.inner_text()
    if v := axe_violations(page):
        problems["results 2032 with last year's plan"] = v

    for path in ("/reports?lang=es", f"/reports/{years.second}/{years.team}?lang=es"):
        page.goto(f"{site.base}{path}")
        assert page.locator("html").get_attribute("lang") == "es"
        if v := axe_violations(page):
            problems[path] = v
    assert problems == {}


def test_a_leader_asking_for_a_unit_outside_their_scope_gets_not_found(
    site: Site, years: Years, context: Any
) -> None:
    from app.models import OrgUnit

    with Session(site.engine) as session:
        outside = make_jurisdiction(session, "elm-results", "Elm County")
        roster.import_roster(
            session, None, outside.id, roster_csv([("e@x.org", "Region 9 / Team 1", "en")])
        )
        unit = session.scalars(select(OrgUnit.id).where(OrgUnit.jurisdiction_id == outside.id))
        unit_ids = list(unit)
        session.commit()
    page = context.new_page()
    _sign_in(site, page)
    for unit_id in unit_ids:
        response = page.goto(f"{site.base}/reports/{years.first}/{unit_id}")
        assert response is not None and response.status == 404


def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_leader_records_a_plan_with_the_keyboard_only(
    site: Site, years: Years, context: Any
) -> None:
    page = context.new_page()
    _sign_in(site, page)
    _tab_to(page, "input[name=q]")
    page.keyboard.type("office b / team 0")
    page.keyboard.press("Enter")
    page.wait_for_url("**/reports?q=*")
    # Region 1 › Office B › Team 0 of the 2032 survey: the team sits two levels down.
    _tab_to(page, f"section[aria-labelledby='wave-{years.second}'] ul.tree ul ul a:not(.tree-pdf)")
    page.keyboard.press("Enter")
    page.wait_for_selector(".report-page")
    assert page.locator("h1").inner_text() == "Team 0"
    _tab_to(page, "a[href^='/plans/']")
    page.keyboard.press("Enter")
    page.wait_for_selector("form.plan")
    _tab_to(page, "select[name='focus-0-scale']")
    page.keyboard.press("ArrowDown")  # the first scale after "— none —"
    _tab_to(page, "[name='focus-0-actions-0-text']")
    page.keyboard.type("Close every home visit with a two-minute check-in")
    _tab_to(page, "[name='focus-0-actions-0-owner']")
    page.keyboard.type("supervisor")
    _tab_to(page, "form.plan button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector(".flash")
    assert "The plan is saved." in page.content()
    assert page.input_value("[name='focus-0-actions-0-text']").startswith("Close every home visit")
    assert page.input_value("select[name='focus-0-scale']") != ""
