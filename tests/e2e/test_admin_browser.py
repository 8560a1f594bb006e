"""Signed-in pages in a real browser: axe-core (WCAG 2.1 A/AA) on every page of every role.

The survey's pages have their own walk; this one signs in as the national coordinator, a
jurisdiction administrator and a leader and scans each page they can open, including the
confirmation pages before a launch and a close, the forms showing their errors, and the
header whose sign-out button once had a contrast of about 1.1:1.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.models import Role
from app.services import roster, waves
from tests.admin.conftest import PASSWORD, make_jurisdiction, make_user, roster_csv
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import Site, axe_violations


@dataclass
class Admin:
    draft_id: int
    open_id: int


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
        waves.launch_wave(session, None, opened.id, secret_key=TEST_SECRET)
        draft = waves.create_wave(
            session,
            None,
            jurisdiction_id=lake.id,
            year=2030,
            instrument_key="team-safety-culture",
            opens=date.today(),
            closes=date.today() + timedelta(days=14),
        )
        world = Admin(draft_id=draft.id, open_id=opened.id)
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


def test_every_administrator_page_has_no_wcag_21_aa_violations(
    site: Site, admin_world: Admin, context: Any
) -> None:
    page = context.new_page()
    _sign_in(site, page, "axe-admin@x.org")
    paths = [
        "/admin/",
        "/admin/users",
        "/admin/roster",
        "/admin/staff",
        "/admin/staff?q=team",
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
        "/reports",
    ]
    problems = _scan_all(site, page, paths)
    # A form showing its errors, too.
    page.goto(f"{site.base}/admin/waves/{admin_world.draft_id}/edit")
    page.fill("input[name=timezone]", "Nowhere/Atlantis")
    page.click("form.form button[type=submit]")
    assert "unknown time zone" in page.content()
    if violations := axe_violations(page):
        problems["wave edit with an error"] = violations
    assert problems == {}


def test_every_national_and_leader_page_has_no_wcag_21_aa_violations(
    site: Site, admin_world: Admin, context: Any
) -> None:
    page = context.new_page()
    _sign_in(site, page, "axe-national@x.org")
    problems = _scan_all(site, page, ["/admin/", "/admin/jurisdictions", "/admin/users"])
    problems |= _scan_all(site, page, ["/admin/waves", "/admin/audit", "/reports"])
    leader = context.browser.new_context(locale="en-US")
    try:
        from tests.e2e.conftest import AXE

        leader.add_init_script(path=str(AXE))
        leader_page = leader.new_page()
        _sign_in(site, leader_page, "axe-leader@x.org")
        problems |= {
            f"leader {k}": v
            for k, v in _scan_all(site, leader_page, ["/admin/", "/reports", "/password"]).items()
        }
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
    from sqlalchemy import select

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
