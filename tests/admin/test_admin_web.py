"""The administration pages as an administrator uses them: sign in, import, launch, watch, close."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import IDLE_TIMEOUT
from app.models import AuditEvent, Invitation, Jurisdiction, Role, RosterEntry, Wave, WaveStatus
from app.services import users

from .conftest import PASSWORD, csrf_token, login, make_user, roster_csv


def _post(client: FlaskClient, page: str, url: str, data: dict[str, object]) -> object:
    html = client.get(page).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token(html)})


def test_login_is_throttled_per_account_and_address(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    for _ in range(users.FREE_FAILURES):
        response = _post(client, "/login", "/login", {"email": admin.email, "password": "wrong"})
        assert response.status_code == 401  # type: ignore[attr-defined]
    response = _post(client, "/login", "/login", {"email": admin.email, "password": PASSWORD})
    assert response.status_code == 429  # type: ignore[attr-defined]
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("login.failed") == 5 and actions[-1] == "login.locked"


def test_session_expires_after_idle_time(app: Flask, session: Session, lake: Jurisdiction) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, admin.email)
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as s:
        s["seen_at"] = time.time() - IDLE_TIMEOUT.total_seconds() - 1
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_password_change_ends_other_sessions(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    first, second = app.test_client(), app.test_client()
    login(first, admin.email)
    login(second, admin.email)
    new = "a brand new long passphrase"
    _post(first, "/password", "/password", {"current": PASSWORD, "password": new, "repeat": new})
    assert first.get("/admin/").status_code == 200
    assert second.get("/admin/").status_code == 302


def test_roster_upload_preview_then_confirm(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, admin.email)
    data = roster_csv(
        [(f"p{i}@x.org", "Region 1 / Team A") for i in range(6)]
        + [("solo@x.org", "Region 1 / Team B")]
    )
    html = client.get("/admin/roster").get_data(as_text=True)
    preview = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token(html), "file": (io.BytesIO(data), "staff.csv")},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "reported only as part of the unit above" in page
    assert session.scalars(select(RosterEntry)).first() is None  # nothing yet
    staged = page.split('name="staged" type="hidden" value="')[1].split('"')[0]
    checksum = page.split('name="checksum" type="hidden" value="')[1].split('"')[0]
    done = client.post(
        "/admin/roster/confirm",
        data={"csrf_token": csrf_token(page), "staged": staged, "checksum": checksum},
    )
    assert done.status_code == 302
    assert len(session.scalars(select(RosterEntry)).all()) == 7
    assert "roster.import" in session.scalars(select(AuditEvent.action)).all()


def test_roster_upload_with_problems_lists_each_line(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, admin.email)
    html = client.get("/admin/roster").get_data(as_text=True)
    response = client.post(
        "/admin/roster",
        data={
            "csrf_token": csrf_token(html),
            "file": (io.BytesIO(b"email;unit\nbad;T\na@x.org;\n"), "staff.csv"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "line 2: invalid email" in page and "line 3: empty unit" in page


def test_upload_over_20_mb_is_refused(app: Flask, session: Session, lake: Jurisdiction) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, admin.email)
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024
    # The same refusal with a smaller cap: a 20 MB body would be spooled to a temporary file
    # that Werkzeug leaves to the garbage collector (a ResourceWarning in a later test).
    app.config["MAX_CONTENT_LENGTH"] = 2000
    html = client.get("/admin/roster").get_data(as_text=True)
    response = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token(html), "file": (io.BytesIO(b"x" * 3000), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than 20 MB" in response.get_data(as_text=True)


def test_create_launch_dashboard_close_through_the_pages(
    app: Flask, session: Session, lake_with_roster: Jurisdiction
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake_with_roster)
    client = app.test_client()
    login(client, admin.email)
    today = date.today()
    bad = _post(
        client,
        "/admin/waves/new",
        "/admin/waves/new",
        {
            "year": today.year,
            "instrument": "team-safety-culture@2026.1",
            "opens": today.isoformat(),
            "closes": (today - timedelta(days=1)).isoformat(),
            "timezone": "America/Chicago",
            "reminder_max": 2,
            "reminder_min_days": 7,
            "min_report_n": 5,
            "pool_k": 10,
        },
    )
    assert "closes" in bad.get_data(as_text=True) and bad.status_code == 400  # type: ignore[attr-defined]
    created = _post(
        client,
        "/admin/waves/new",
        "/admin/waves/new",
        {
            "year": today.year,
            "instrument": "team-safety-culture@2026.1",
            "opens": today.isoformat(),
            "closes": (today + timedelta(days=14)).isoformat(),
            "timezone": "America/Chicago",
            "reminder_max": 2,
            "reminder_min_days": 7,
            "min_report_n": 5,
            "pool_k": 10,
        },
    )
    wave_url = created.headers["Location"]  # type: ignore[attr-defined]
    wave = session.scalars(select(Wave)).one()
    launched = _post(client, wave_url, f"/admin/waves/{wave.id}/launch", {})
    assert launched.status_code == 302  # type: ignore[attr-defined]
    again = _post(client, wave_url, f"/admin/waves/{wave.id}/launch", {})
    assert again.status_code == 302  # type: ignore[attr-defined]
    page = client.get(wave_url).get_data(as_text=True)
    assert "was already launched" in page
    assert len(session.scalars(select(Invitation)).all()) == 12
    assert "Region 1 / Office A / Team 1" in page and "Sent" in page and "Bounced" in page
    _post(client, wave_url, f"/admin/waves/{wave.id}/close", {})
    session.refresh(wave)
    assert wave.status == WaveStatus.CLOSED
    assert (
        session.scalars(select(Invitation.email).where(Invitation.email.is_not(None))).all() == []
    )
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"login", "wave.create", "wave.launch", "wave.close"} <= actions


def test_dashboard_hides_small_units_and_never_lists_people(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    from app.services import roster, waves
    from tests.conftest import TEST_KEYS

    rows = [(f"a{i}@x.org", "R / Big team") for i in range(8)]
    rows += [(f"b{i}@x.org", "R / Small team") for i in range(2)]
    roster.import_roster(session, None, lake.id, roster_csv(rows))
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=2030,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=9),
    )
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, admin.email)
    page = client.get(f"/admin/waves/{wave.id}").get_data(as_text=True)
    assert "Small team" not in page
    assert "@x.org" not in page
    board = waves.dashboard(session, None, wave.id)
    shown = {row.path for row in board.units}
    # Big team alone would let "R minus Big team" reveal the small one: it is hidden too.
    assert "R / Small team" not in shown and "R / Big team" not in shown
    assert "R" in shown
