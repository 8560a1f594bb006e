"""Launch and close ask first and say what they will do; waves can be changed; offers that work."""

from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Invitation, Jurisdiction, ReportBatch, Role, Wave, WaveStatus
from app.services import roster, waves
from tests.conftest import TEST_KEYS

from .conftest import csrf_token, login, make_user, roster_csv


def _wave(session: Session, lake: Jurisdiction, *, year: int = 2030, days: int = 14) -> Wave:
    return waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=year,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=days),
        timezone="America/Chicago",
    )


def _admin_client(app: Flask, session: Session, lake: Jurisdiction) -> FlaskClient:
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, "admin@lake.org")
    return client


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_wave_page_offers_launch_only_through_a_page_that_counts_the_emails(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    rows = [(f"e{i}@x.org", "R / Team A", "en") for i in range(7)]
    rows += [(f"s{i}@x.org", "R / Team B", "es") for i in range(3)]
    roster.import_roster(session, None, lake.id, roster_csv(rows))
    wave = _wave(session, lake)
    client = _admin_client(app, session, lake)
    page = client.get(f"/admin/waves/{wave.id}").get_data(as_text=True)
    assert f'action="/admin/waves/{wave.id}/launch"' not in page  # no one-click launch
    confirm = client.get(f"/admin/waves/{wave.id}/launch")
    text = _text(confirm.get_data(as_text=True))
    assert confirm.status_code == 200
    assert "send 10 personal invitations" in text and "in 2 units" in text
    assert "7 in English" in text and "3 in Spanish" in text
    assert "cannot be undone" in text
    # Looking at the confirmation sends nothing.
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0
    session.refresh(wave)
    assert wave.status == WaveStatus.DRAFT
    done = client.post(
        f"/admin/waves/{wave.id}/launch",
        data={"csrf_token": csrf_token(confirm.get_data(as_text=True))},
    )
    assert done.status_code == 302
    assert session.scalar(select(func.count()).select_from(Invitation)) == 10


def test_closing_shows_what_is_erased_and_changes_nothing_until_confirmed(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    roster.import_roster(
        session, None, lake.id, roster_csv([(f"p{i}@x.org", "R / Team A") for i in range(6)])
    )
    wave = _wave(session, lake)
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    client = _admin_client(app, session, lake)
    page = client.get(f"/admin/waves/{wave.id}").get_data(as_text=True)
    assert f'action="/admin/waves/{wave.id}/close"' not in page
    confirm = client.get(f"/admin/waves/{wave.id}/close")
    text = _text(confirm.get_data(as_text=True))
    assert "the 6 people of 6 invited who have not answered" in text
    assert "erase every email address" in text and "cannot be undone" in text
    assert "6 invitations or reminders that have not been sent yet" in text
    session.refresh(wave)
    assert wave.status == WaveStatus.OPEN
    emails = select(func.count()).where(Invitation.email.is_not(None))
    assert session.scalar(emails) == 6
    client.post(
        f"/admin/waves/{wave.id}/close",
        data={"csrf_token": csrf_token(confirm.get_data(as_text=True))},
    )
    session.refresh(wave)
    assert wave.status == WaveStatus.CLOSED
    assert session.scalar(emails) == 0
    # A closed wave has nothing left to confirm.
    again = client.get(f"/admin/waves/{wave.id}/close")
    assert again.status_code == 302


def _edit(client: FlaskClient, wave_id: int, **fields: object) -> tuple[int, str]:
    form = client.get(f"/admin/waves/{wave_id}/edit").get_data(as_text=True)
    values = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    values.update({k: str(v) for k, v in fields.items()})
    values["csrf_token"] = csrf_token(form)
    response = client.post(f"/admin/waves/{wave_id}/edit", data=values)
    if response.status_code == 302:
        return 302, client.get(response.headers["Location"]).get_data(as_text=True)
    return response.status_code, response.get_data(as_text=True)


def test_a_draft_can_be_changed_and_bad_dates_save_nothing(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    wave = _wave(session, lake)
    client = _admin_client(app, session, lake)
    before = (wave.opens_at, wave.closes_at, wave.timezone)
    today = date.today()
    for fields, message in (
        ({"closes": (today - timedelta(days=5)).isoformat()}, "already passed"),
        (
            {"opens": (today + timedelta(days=9)).isoformat(), "closes": today.isoformat()},
            "close on or after the day it opens",
        ),
        ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone"),
        ({"timezone": "x" * 65}, "Field cannot be longer than 64 characters"),
        ({"closes": "not a date"}, "Not a valid date value"),
        ({"min_report_n": 2}, "Number must be between 3 and 100"),
    ):
        status, page = _edit(client, wave.id, **fields)
        assert status in (200, 400), fields
        assert message in page, (fields, _text(page)[:600])
        session.expire_all()
        assert (wave.opens_at, wave.closes_at, wave.timezone) == before, fields
    status, page = _edit(
        client,
        wave.id,
        closes=(today + timedelta(days=30)).isoformat(),
        min_report_n=7,
        timezone="America/New_York",
    )
    assert status == 302 and "Wave settings saved." in page
    session.expire_all()
    assert wave.min_report_n == 7 and wave.timezone == "America/New_York"
    assert "EST" in _text(page) or "EDT" in _text(page)  # times in the wave's zone, not UTC


def test_an_open_wave_can_be_extended_but_its_anonymity_settings_stay(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    roster.import_roster(
        session, None, lake.id, roster_csv([(f"p{i}@x.org", "R / Team A") for i in range(6)])
    )
    wave = _wave(session, lake)
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    client = _admin_client(app, session, lake)
    old_closes = wave.closes_at
    later = date.today() + timedelta(days=40)
    status, page = _edit(client, wave.id, closes=later.isoformat(), min_report_n=3, pool_k=2)
    assert status == 302, _text(page)[:400]
    session.expire_all()
    assert wave.closes_at > old_closes
    assert (wave.min_report_n, wave.pool_k) == (5, 10)
    assert later.isoformat() in page


def test_new_wave_form_suggests_the_year_after_the_latest_wave(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    _wave(session, lake, year=date.today().year)
    client = _admin_client(app, session, lake)
    page = client.get("/admin/waves/new").get_data(as_text=True)
    suggested = re.search(r'name="year"[^>]*value="(\d+)"', page)
    assert suggested and int(suggested.group(1)) == date.today().year + 1


def test_reports_are_not_offered_for_a_draft_and_asking_anyway_builds_nothing(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    wave = _wave(session, lake)
    client = _admin_client(app, session, lake)
    page = client.get(f"/admin/waves/{wave.id}").get_data(as_text=True)
    assert "Build all reports" not in page
    response = client.post(
        f"/admin/waves/{wave.id}/reports-zip", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(ReportBatch)) == 0
    assert "once the wave is launched" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_a_jurisdiction_admin_is_not_offered_the_national_role(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    client = _admin_client(app, session, lake)
    page = client.get("/admin/users").get_data(as_text=True)
    assert 'value="leader"' in page and 'value="jurisdiction_admin"' in page
    assert 'value="national"' not in page
    national = make_user(session, "nat@x.org", Role.NATIONAL)
    other = app.test_client()
    login(other, national.email)
    assert 'value="national"' in other.get("/admin/users").get_data(as_text=True)
