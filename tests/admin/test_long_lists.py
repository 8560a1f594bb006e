"""Long administration lists come in pages and can be searched: accounts and the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.admin.views import AUDIT_PER_PAGE, USERS_PER_PAGE
from app.models import Jurisdiction, Role, User
from app.services import audit

from .conftest import make_user


def _emails(page: str) -> list[str]:
    return re.findall(r"<tr><td>([^<]+@[^<]+)</td>", page)


def test_the_accounts_list_is_paged_and_searchable(
    session: Session, lake: Jurisdiction, signed_in: Callable[[User], FlaskClient]
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    for i in range(USERS_PER_PAGE + 5):
        make_user(session, f"leader{i:03}@lake.org", Role.LEADER, lake)
    client = signed_in(admin)
    first = client.get("/admin/users").get_data(as_text=True)
    assert len(_emails(first)) == USERS_PER_PAGE
    assert "page 1 of 2" in first and 'href="/admin/users?page=2"' in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert len(_emails(second)) == 6  # 56 accounts in all
    assert not set(_emails(first)) & set(_emails(second))
    found = client.get("/admin/users?q=LEADER007").get_data(as_text=True)
    assert _emails(found) == ["leader007@lake.org"]
    assert client.get("/admin/users?page=99").status_code == 200  # past the end: the last page
    assert client.get("/admin/users?page=abc").status_code == 200


def test_the_audit_log_pages_back_and_returns_to_the_newest(
    session: Session, lake: Jurisdiction, signed_in: Callable[[User], FlaskClient]
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    for i in range(AUDIT_PER_PAGE + 3):
        audit.record(session, admin, "test.event", f"target {i}", jurisdiction_id=lake.id)
    session.commit()
    client = signed_in(admin)
    first = client.get("/admin/audit?action=test.event").get_data(as_text=True)
    assert first.count("<td>test.event</td>") == AUDIT_PER_PAGE
    assert "Newest events" not in first
    older = re.search(r'href="(/admin/audit\?before=\d+&amp;action=test.event)"', first)
    assert older, first[-1500:]
    second = client.get(older[1].replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<td>test.event</td>") == 3
    assert "Newest events" in second and "Older events" not in second
