"""Service errors speak the page's language: English without a request, Spanish on Spanish pages.

The services raise ``lazy_message`` (``_l``) strings; a view that shows ``str(error)`` gets
them in the language of its page. A Spanish administrator uploading a bad roster, or typing a
time zone that does not exist, reads why in Spanish, and nothing is saved.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta

import pytest
from flask import Flask, g, render_template_string
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.i18n import lazy_message
from app.models import Jurisdiction, Role, RosterEntry, Wave
from app.services import roster, waves
from tests.admin.conftest import csrf_token, lake, login, make_user  # noqa: F401 — lake fixture

SPANISH = {"Accept-Language": "es"}


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_without_an_app_a_service_message_is_english() -> None:
    with pytest.raises(waves.WaveError) as raised:
        waves.day_bounds(date(2026, 5, 1), date(2026, 5, 14), "Mars/Olympus_Mons")
    assert str(raised.value) == (
        "timezone: unknown time zone 'Mars/Olympus_Mons' (e.g. America/Chicago)"
    )
    preview = roster.read_roster(b"email,unit\nbad,T\n")
    assert [(line, str(problem)) for line, problem in preview.problems] == [
        (2, "invalid email 'bad'")
    ]


def test_the_same_error_reads_in_the_language_of_the_page_showing_it(app: Flask) -> None:
    with pytest.raises(waves.WaveError) as raised:
        waves.day_bounds(date(2026, 5, 14), date(2026, 5, 1), "America/Chicago")
    with app.test_request_context(headers=SPANISH):
        spanish = str(raised.value)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        english = str(raised.value)
    assert spanish == "fechas: la ronda cierra (2026-05-01) antes de abrir (2026-05-14)"
    assert english == "dates: the wave closes (2026-05-01) before it opens (2026-05-14)"
    with app.app_context():  # the command line: an app, no request
        assert str(raised.value) == english


def test_a_roster_error_counts_its_other_problems_in_the_page_language(app: Flask) -> None:
    error = roster.RosterInvalid(roster.read_roster(b"email,unit\nbad,T\nb@x.org,\n").problems)
    assert str(error) == "line 2: invalid email 'bad' (and 1 more)"
    with app.test_request_context(headers=SPANISH):
        g.language = "es"
        assert str(error) == "línea 2: correo no válido 'bad' (y 1 más)"


def test_a_message_holding_what_someone_typed_is_escaped_in_a_template(app: Flask) -> None:
    message = lazy_message("invalid email %(email)s", email="<b>x</b>")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        shown = render_template_string("{{ m }}", m=message)
    assert shown == "invalid email &lt;b&gt;x&lt;/b&gt;"
    # Flask-Babel's own lazy strings would pass through unescaped: Markup(x) trusts __html__.
    assert str(Markup(message)) == "invalid email &lt;b&gt;x&lt;/b&gt;"


def test_a_spanish_administrator_reads_roster_problems_in_spanish(
    app: Flask,
    session: Session,
    lake: Jurisdiction,  # noqa: F811
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    login(client, admin.email)
    page = client.get("/admin/roster").get_data(as_text=True)
    response = client.post(
        "/admin/roster",
        data={
            "csrf_token": csrf_token(page),
            "file": (
                io.BytesIO(b"email;unit;language\nbad;T;en\na@x.org;;en\nc@x.org;T;fr\n"),
                "staff.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    text = _text(response.get_data(as_text=True))
    assert response.status_code == 422
    assert "correo no válido 'bad'" in text
    assert "unidad vacía" in text
    assert "idioma desconocido 'fr' (use en o es)" in text
    assert "invalid email" not in text and "empty unit" not in text
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0


def test_a_spanish_administrator_reads_an_unknown_time_zone_in_spanish(
    app: Flask,
    session: Session,
    lake: Jurisdiction,  # noqa: F811
) -> None:
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=2030,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=14),
        timezone="America/Chicago",
    )
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    login(client, "admin@lake.org")
    form = client.get(f"/admin/waves/{wave.id}/edit").get_data(as_text=True)
    values = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    values.update(timezone="Mars/Olympus_Mons", csrf_token=csrf_token(form))
    response = client.post(f"/admin/waves/{wave.id}/edit", data=values)
    if response.status_code == 302:
        response = client.get(response.headers["Location"])
    text = _text(response.get_data(as_text=True))
    assert "zona horaria desconocida 'Mars/Olympus_Mons'" in text, text[:800]
    assert "unknown time zone" not in text
    session.expire_all()
    assert session.get(Wave, wave.id).timezone == "America/Chicago"  # type: ignore[union-attr]
