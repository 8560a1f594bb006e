"""The staff list between imports: search, add, move and deactivate one person, as a page."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Jurisdiction, OrgUnit, Role, RosterEntry
from app.services import roster, staff

from .conftest import csrf_token, login, make_user, roster_csv


def _client(app: Flask, session: Session, lake: Jurisdiction) -> FlaskClient:
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, "admin@lake.org")
    return client


def _seed(session: Session, lake: Jurisdiction, n: int = 120) -> None:
    rows = [(f"worker{i:03d}@lake.org", f"Region 1 / Office A / Team {i % 4}") for i in range(n)]
    rows += [("nina.night@lake.org", "Region 2 / Night Team")]
    roster.import_roster(session, None, lake.id, roster_csv(rows))


def _entry(session: Session, email: str) -> RosterEntry:
    return session.scalars(select(RosterEntry).where(RosterEntry.email == email)).one()


def test_search_finds_by_address_or_unit_and_pages_long_lists(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    _seed(session, lake)
    client = _client(app, session, lake)
    first = client.get("/admin/staff").get_data(as_text=True)
    assert "121 people" in first and "page 1 of 3" in first
    assert first.count("@lake.org</td>") == 50
    third = client.get("/admin/staff?page=3").get_data(as_text=True)
    assert third.count("@lake.org</td>") == 21
    night = client.get("/admin/staff?q=night").get_data(as_text=True)
    assert "1 person matching" in night and "nina.night@lake.org" in night
    team = client.get("/admin/staff?q=team+3").get_data(as_text=True)
    assert "30 people matching" in team
    # Wildcards typed by the administrator are plain characters.
    assert "0 people" in client.get("/admin/staff?q=%25").get_data(as_text=True)
    assert client.get("/admin/staff?page=99").status_code == 200


def test_add_move_and_deactivate_one_person_then_the_next_launch_follows(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    _seed(session, lake, n=8)
    client = _client(app, session, lake)
    page = client.get("/admin/staff").get_data(as_text=True)
    token = csrf_token(page)
    added = client.post(
        "/admin/staff/add",
        data={
            "csrf_token": token,
            "email": " New.Person@Lake.org ",
            "unit": "Region 2/Night Team",
            "language": "es",
        },
    )
    assert added.status_code == 302
    person = _entry(session, "new.person@lake.org")
    assert person.language == "es" and person.active
    client.post(
        f"/admin/staff/{person.id}/move",
        data={"csrf_token": token, "unit": "Region 1 / Office A / Team 2"},
    )
    session.refresh(person)
    unit = session.get(OrgUnit, person.unit_id)
    assert unit is not None and unit.path == "Region 1 / Office A / Team 2"
    leaving = _entry(session, "worker001@lake.org")
    client.post(f"/admin/staff/{leaving.id}/active", data={"csrf_token": token, "active": "0"})
    session.refresh(leaving)
    assert not leaving.active
    assert roster.summary(session, None, lake.id).staff == 9 - 1 + 1 - 1 + 1  # 8 + nina + new - 1
    actions = session.scalars(select(AuditEvent.action)).all()
    assert {"staff.add", "staff.move", "staff.deactivate"} <= set(actions)


def test_bad_staff_input_says_why_and_changes_nothing(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    _seed(session, lake, n=4)
    client = _client(app, session, lake)
    token = csrf_token(client.get("/admin/staff").get_data(as_text=True))
    before = sorted((e.email, e.unit_id, e.active) for e in session.scalars(select(RosterEntry)))
    for data, words in (
        ({"email": "not an address", "unit": "Region 2 / Night Team"}, "not an email address"),
        ({"email": "worker000@lake.org", "unit": "Region 2 / Night Team"}, "already on the staff"),
        ({"email": "x@lake.org", "unit": "Region 9 / Nowhere"}, "no active unit"),
        ({"email": "x@lake.org", "unit": ""}, "This field is required."),
        ({"email": "x@lake.org", "unit": "Region 2 / Night Team", "language": "fr"}, "Not a valid"),
        ({"email": "y" * 400 + "@lake.org", "unit": "R"}, "Field cannot be longer"),
    ):
        response = client.post(
            "/admin/staff/add", data={"csrf_token": token, "language": "en", **data}
        )
        assert response.status_code == 302
        shown = client.get(response.headers["Location"]).get_data(as_text=True)
        assert words in shown and "Nobody was added" in shown, (
            data,
            re.findall("flash[^<]+<", shown),
        )
    entry = _entry(session, "worker002@lake.org")
    moved = client.post(
        f"/admin/staff/{entry.id}/move", data={"csrf_token": token, "unit": "Agency root"}
    )
    assert "Nobody was moved" in client.get(moved.headers["Location"]).get_data(as_text=True)
    after = sorted((e.email, e.unit_id, e.active) for e in session.scalars(select(RosterEntry)))
    assert after == before


def test_an_administrator_cannot_touch_another_jurisdictions_staff(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    from .conftest import make_jurisdiction

    hill = make_jurisdiction(session, "hill", "Hill County")
    roster.import_roster(session, None, hill.id, roster_csv([("h@hill.org", "Team H")]))
    foreign = _entry(session, "h@hill.org")
    client = _client(app, session, lake)
    token = csrf_token(client.get("/admin/staff").get_data(as_text=True))
    assert "h@hill.org" not in client.get("/admin/staff?q=hill").get_data(as_text=True)
    response = client.post(f"/admin/staff/{foreign.id}/active", data={"csrf_token": token})
    assert response.status_code == 403
    session.refresh(foreign)
    assert foreign.active
    assert staff.list_staff(session, None, hill.id).total == 1


def test_a_person_added_or_moved_mid_wave_changes_no_launched_invitation(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    """What the page promises: a launched wave keeps the invitations it was launched with."""
    from datetime import date, timedelta

    from app.models import Invitation
    from app.services import waves
    from tests.conftest import TEST_KEYS

    _seed(session, lake, n=6)
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=2031,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=14),
    )
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    before = sorted((i.email, i.unit_id) for i in session.scalars(select(Invitation)))
    client = _client(app, session, lake)
    token = csrf_token(client.get("/admin/staff").get_data(as_text=True))
    client.post(
        "/admin/staff/add",
        data={
            "csrf_token": token,
            "email": "late@lake.org",
            "unit": "Region 2 / Night Team",
            "language": "en",
        },
    )
    moved = _entry(session, "worker001@lake.org")
    client.post(
        f"/admin/staff/{moved.id}/move", data={"csrf_token": token, "unit": "Region 2 / Night Team"}
    )
    session.expire_all()
    assert _entry(session, "late@lake.org").active
    after = sorted((i.email, i.unit_id) for i in session.scalars(select(Invitation)))
    assert after == before
