"""The national home and psychometric report pages in a real browser: axe-core WCAG 2.1 A/AA."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.models import Role
from tests.admin.conftest import PASSWORD, make_user
from tests.e2e.conftest import Site, axe_violations
from tests.national.test_psychometric_pages import share


@pytest.fixture(scope="module")
def national_world(site: Site) -> Iterator[None]:
    with Session(site.engine) as session:
        lake, _ = share(session, "axe-nat-lake", seed=11)
        share(session, "axe-nat-hill", seed=12)
        make_user(session, "axe-coordinator@x.org", Role.NATIONAL)
        make_user(session, "axe-nat-admin@x.org", Role.JURISDICTION_ADMIN, lake)
        session.commit()
    yield None


def _sign_in(site: Site, page: Any, email: str) -> None:
    page.goto(f"{site.base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert "/login" not in page.url, page.content()[:500]


def _scan(site: Site, page: Any, paths: list[str]) -> dict[str, Any]:
    found = {}
    for path in paths:
        response = page.goto(f"{site.base}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        found[path] = axe_violations(page)
    return {path: v for path, v in found.items() if v}


def test_national_home_and_reports_have_no_wcag_21_aa_violations(
    site: Site, national_world: None, context: Any
) -> None:
    page = context.new_page()
    _sign_in(site, page, "axe-coordinator@x.org")
    problems = _scan(site, page, ["/national/", "/national/report"])
    assert "National psychometric report" in page.content()
    admin = context.browser.new_context(locale="en-US")
    try:
        from tests.e2e.conftest import AXE

        admin.add_init_script(path=str(AXE))
        admin_page = admin.new_page()
        _sign_in(site, admin_page, "axe-nat-admin@x.org")
        problems |= {
            f"admin {k}": v for k, v in _scan(site, admin_page, ["/national/self"]).items()
        }
    finally:
        admin.close()
    assert problems == {}
