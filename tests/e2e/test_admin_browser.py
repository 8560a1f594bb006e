"""Signed-in pages in a real browser: axe-core (WCAG 2.1 A/AA) on every page of every role.

The survey's pages have their own walk; this one signs in as the national coordinator, a
jurisdiction administrator and a leader and scans each page they can open, including the
confirmation pages before a launch and a close, the forms showing their errors, and the
header whose sign-out button once had a contrast of about 1.1:1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Role
from app.services import roster, waves
from tests.admin.conftest import PASSWORD, make_jurisdiction, make_user, roster_csv
from tests.conftest import TEST_KEYS, TEST_SECRET
from tests.e2e.conftest import Site, axe_violations


@dataclass
class Admin:
    draft_id: int
    open_id: int
    closed_id: int
    team_id: int


def _closed_wave_with_answers(session: Session, jurisdiction_id: int) -> tuple[int, int]:
    """A closed 2028 wave where each of the three teams has 6 answer sets; (wave, team 0)."""
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
        year=2028,
        opens_at=datetime(2028, 11, 1, tzinfo=UTC),
        closes_at=datetime(2028, 12, 1, tzinfo=UTC),
        status=WaveStatus.CLOSED,
    )
    session.add(wave)
    session.flush()
    rng = np.random.default_rng(3)
    team_of = np.repeat(np.arange(len(teams)), 6)
    answers = generate_answers(
        instrument, team_of, new_team_effects(instrument, len(teams), rng), rng
    )
    for r, t in enumerate(team_of):
        values = {
            k: int(v) for k, v in zip(instrument.item_keys, answers[r], strict=True) if v == v
        }
        session.add(Response(wave_id=wave.id, unit_id=teams[int(t)].id, answers=values))
    session.commit()
    return wave.id, teams[0].id


@pytest.fixture(scope="module")
def admin_world(site: Site) -> Iterator[Admin]:
    with Session(site.engine) as session:
        lake = make_jurisdiction(session, "axe-lake", "Axe Lake County")
        rows = [(f"p{i}@x.org", f"Region 1 / Office A / Team {i % 3}", "en") for i in range(18)]
        roster.import_roster(session, None, lake.id, roster_csv(rows))
        make_user(session, "axe-admin@x.org", Role.JURISDICTION_ADMIN, lake)
        make_user(session, "axe-national@x.org", Role.NATIONAL)
        make_user(session, "axe-leader@x.org", Role.LEADER, lake, ("Region 1",))
        opened = waves.create_wave(
            session,
            None,
            jurisdiction_id=lake.id,
            year=2029,
            instrument_key="team-safety-culture",
            opens=date.today(),
            closes=date.today() + timedelta(days=14),
            timezone="America/Chicago",
        )
        waves.launch_wave(session, None, opened.id, mailer_public=TEST_KEYS.mailer_public)
        draft = waves.create_wave(
            session,
            None,
            jurisdiction_id=lake.id,
            year=2030,
            instrument_key="team-safety-culture",
            opens=date.today(),
            closes=date.today() + timedelta(days=14),
        )
        closed_id, team_id = _closed_wave_with_answers(session, lake.id)
        world = Admin(draft_id=draft.id, open_id=opened.id, closed_id=closed_id, team_id=team_id)
        session.commit()  # reading the ids began a transaction: end it before the browser writes
    yield world


def _sign_in(site: Site, page: Any, email: str) -> None:
    page.goto(f"{site.base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert "/login" not in page.url, page.content()[:500]


def _scan_all(site: Site, page: Any, paths: list[str]) -> dict[str, list[dict[str, Any]]]:
    found = {}
    for path in paths:
        response = page.goto(f"{site.base}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        found[path] = axe_violations(page)
    return {path: v for path, v in found.items() if v}


@pytest.mark.parametrize("locale", ["en-US", "es-ES"])
def test_every_administrator_page_has_no_wcag_21_aa_violations(
    site: Site, admin_world: Admin, context: Any, locale: str
) -> None:
    from tests.e2e.conftest import AXE

    # The browser asks for English, then for Spanish: every page in both languages.
    browser_context = context.browser.new_context(locale=locale)
    browser_context.add_init_script(path=str(AXE))
    page = browser_context.new_page()
    _sign_in(site, page, "axe-admin@x.org")
    paths = [
        "/admin/",
        "/admin/users",
        "/admin/roster",
        "/admin/staff",
        "/admin/staff?q=team",
        "/admin/emails",
        "/admin/waves",
        "/admin/waves/new",
        f"/admin/waves/{admin_world.draft_id}",
        f"/admin/waves/{admin_world.draft_id}/launch",
        f"/admin/waves/{admin_world.draft_id}/edit",
        f"/admin/waves/{admin_world.open_id}",
        f"/admin/waves/{admin_world.open_id}/close",
        f"/admin/waves/{admin_world.open_id}/edit",
        "/admin/audit",
        "/password",
        "/account",
        "/reports",
        "/exports/extracts",
    ]
    problems = _scan_all(site, page, paths)
    # A form showing its errors, too.
    page.goto(f"{site.base}/admin/waves/{admin_world.draft_id}/edit")
    page.fill("input[name=timezone]", "Nowhere/Atlantis")
    page.click("form.form button[type=submit]")
    assert "Nowhere/Atlantis" in page.content()  # the message names what was typed
    if violations := axe_violations(page):
        problems["wave edit with an error"] = violations
    if locale == "es-ES":
        assert 'lang="es"' in page.content()
    browser_context.close()
    assert problems == {}


def test_every_national_and_leader_page_has_no_wcag_21_aa_violations(
    site: Site, admin_world: Admin, context: Any
) -> None:
    page = context.new_page()
    _sign_in(site, page, "axe-national@x.org")
    problems = _scan_all(site, page, ["/admin/", "/admin/jurisdictions", "/admin/users"])
    problems |= _scan_all(site, page, ["/admin/waves", "/admin/audit", "/reports"])
    # The leader's pages in both languages: the browser asks for English, then for Spanish.
    for locale in ("en-US", "es-ES"):
        leader = context.browser.new_context(locale=locale)
        try:
            from tests.e2e.conftest import AXE

            leader.add_init_script(path=str(AXE))
            leader_page = leader.new_page()
            _sign_in(site, leader_page, "axe-leader@x.org")
            problems |= {
                f"leader ({locale}) {k}": v
                for k, v in _scan_all(
                    site,
                    leader_page,
                    [
                        "/admin/",
                        "/reports",
                        "/password",
                        "/account",
                        "/plans",
                        f"/plans/{admin_world.closed_id}/{admin_world.team_id}",
                        f"/plans/{admin_world.closed_id}/summary",
                    ],
                ).items()
            }
            if locale == "es-ES":
                assert 'lang="es"' in leader_page.content()
        finally:
            leader.close()
    assert problems == {}


def test_sign_out_is_readable_on_the_header(site: Site, admin_world: Admin, context: Any) -> None:
    page = context.new_page()
    _sign_in(site, page, "axe-admin@x.org")
    page.goto(f"{site.base}/admin/")
    colour = page.eval_on_selector(".site-header button.link", "b => getComputedStyle(b).color")
    assert colour == "rgb(255, 255, 255)"
    page.click(".site-header button.link")
    assert "/login" in page.url


def test_sign_in_and_password_link_pages_have_no_wcag_21_aa_violations(
    site: Site, admin_world: Admin, context: Any
) -> None:
    from app.models import User
    from app.services import accounts

    with Session(site.engine) as session:
        user = session.scalars(select(User).where(User.email == "axe-admin@x.org")).one()
        token = accounts.make_link_token(TEST_SECRET, user, "reset")
    page = context.new_page()
    problems = _scan_all(site, page, ["/login", "/reset", f"/reset/{token}"])
    response = page.goto(f"{site.base}/reset/not-a-real-link")
    assert response is not None and response.status == 400
    if violations := axe_violations(page):
        problems["a broken link"] = violations
    assert problems == {}


def _tab_to(page: Any, selector: str, limit: int = 200) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_leader_records_a_plan_by_keyboard_alone(
    site: Site, admin_world: Admin, context: Any
) -> None:
    from app.services import plans

    page = context.new_page()
    _sign_in(site, page, "axe-leader@x.org")
    page.goto(f"{site.base}/plans")
    link = f"a[href='/plans/{admin_world.closed_id}/{admin_world.team_id}']"
    _tab_to(page, link)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/plans/{admin_world.closed_id}/{admin_world.team_id}")
    _tab_to(page, "select[name='focus-0-scale']")
    page.keyboard.press("ArrowDown")  # the first scale after "none"
    _tab_to(page, "input[name='focus-0-actions-0-text']")
    page.keyboard.type("Name one near miss at every team meeting")
    page.keyboard.press("Tab")
    page.keyboard.type("supervisor")
    _tab_to(page, "form.plan button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "The plan is saved." in page.locator(".flash").inner_text()
    with Session(site.engine) as session:
        view = plans.get_plan(session, None, admin_world.closed_id, admin_world.team_id)
    assert [a.text for f in view.focus_areas for a in f.actions] == [
        "Name one near miss at every team meeting"
    ]
    assert view.focus_areas[0].actions[0].owner_role == "supervisor"
