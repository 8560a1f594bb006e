"""A jurisdiction's email settings: edit, preview both languages, test send, used by delivery."""

from __future__ import annotations

import re
from datetime import date, timedelta
from email.utils import parseaddr, parsedate_to_datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import tasks
from app.models import Jurisdiction, JurisdictionMail, Role
from app.services import roster, waves
from tests.conftest import TEST_KEYS

from .conftest import csrf_token, login, make_user, roster_csv
from .smtp_server import SmtpServer, html_of, text_of

SETTINGS = {
    "sender_name": "Lake County Children's Services",
    "reply_to": "Survey.Help@Lake.org",
    "intro_en": "Our director reads every team's results.\nThank you for ten minutes.",
    "intro_es": "Nuestra directora lee los resultados de cada equipo.",
}


def _admin(app: Flask, session: Session, lake: Jurisdiction) -> FlaskClient:
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, "admin@lake.org")
    return client


def _save(client: FlaskClient, data: dict[str, str]) -> tuple[int, str]:
    token = csrf_token(client.get("/admin/emails").get_data(as_text=True))
    response = client.post("/admin/emails", data={**data, "csrf_token": token})
    if response.status_code == 302:
        return 302, client.get("/admin/emails").get_data(as_text=True)
    return response.status_code, response.get_data(as_text=True)


def test_settings_show_in_the_previews_of_both_languages(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    client = _admin(app, session, lake)
    default = client.get("/admin/emails").get_data(as_text=True)
    assert (
        "Lake County staff survey" in default and "Encuesta al personal de Lake County" in default
    )
    status, page = _save(client, SETTINGS)
    assert status == 302 and "Email settings saved" in page
    assert page.count("Lake County Children&#39;s Services") >= 4 + 1  # four previews + the form
    assert page.count("survey.help@lake.org") >= 4
    assert "Our director reads every team&#39;s results." in page
    assert "Nuestra directora lee los resultados" in page
    assert "this-is-a-preview-and-opens-nothing" in page


def test_bad_settings_say_why_and_save_nothing(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    client = _admin(app, session, lake)
    for data, words in (
        ({"sender_name": "Lake <boss@evil.example>"}, "a name only"),
        ({"sender_name": "Lake\r\nBcc: everyone@lake.org"}, "a name only"),
        ({"sender_name": "x" * 101}, "Field cannot be longer than 100 characters"),
        ({"reply_to": "not an address"}, "not an email address"),
        ({"intro_en": "x" * 1001}, "Field cannot be longer than 1000 characters"),
        ({"intro_es": "hola\x07"}, "control characters"),
    ):
        status, page = _save(client, {**{k: "" for k in SETTINGS}, **data})
        assert status == 400 and words in page, (data, re.findall(r'error"[^>]*>([^<]+)', page))
    assert session.scalars(select(JurisdictionMail)).first() is None


def test_a_test_send_reaches_the_administrator_with_every_header(
    mail_app: Flask, session: Session, lake: Jurisdiction, smtp: SmtpServer
) -> None:
    client = _admin(mail_app, session, lake)
    _save(client, SETTINGS)
    token = csrf_token(client.get("/admin/emails").get_data(as_text=True))
    sent = client.post(
        "/admin/emails/test", data={"csrf_token": token, "language": "es", "kind": "reminder"}
    )
    assert sent.status_code == 302
    assert "A test message is on its way" in client.get("/admin/emails").get_data(as_text=True)
    (message,) = smtp.handler.messages
    assert str(message["To"]) == "admin@lake.org"
    assert str(message["Subject"]).startswith("[Test] Recordatorio")
    assert parseaddr(str(message["From"])) == (
        SETTINGS["sender_name"],
        mail_app.config["MAIL_FROM"],
    )
    assert str(message["Reply-To"]) == "survey.help@lake.org"
    assert parsedate_to_datetime(str(message["Date"])) is not None and message["Message-ID"]
    assert SETTINGS["intro_es"] in text_of(message) and SETTINGS["intro_es"] in html_of(message)


def test_real_invitations_carry_the_settings_in_each_persons_language(
    mail_app: Flask, session: Session, lake: Jurisdiction, smtp: SmtpServer
) -> None:
    client = _admin(mail_app, session, lake)
    _save(client, SETTINGS)
    roster.import_roster(
        session,
        None,
        lake.id,
        roster_csv([("ana@lake.org", "Team A", "es"), ("bob@lake.org", "Team A", "en")]),
    )
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=date.today().year,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=14),
    )
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    with mail_app.app_context():
        tasks.init_app(mail_app)
        tasks.dispatch(wave.id)
    by_to = {str(m["To"]): m for m in smtp.handler.messages}
    assert set(by_to) == {"ana@lake.org", "bob@lake.org"}
    for message in by_to.values():
        assert parseaddr(str(message["From"]))[0] == SETTINGS["sender_name"]
        assert str(message["Reply-To"]) == "survey.help@lake.org"
    assert SETTINGS["intro_es"] in text_of(by_to["ana@lake.org"])
    assert "Our director reads every team's results." in text_of(by_to["bob@lake.org"])
    assert "Nuestra directora" not in text_of(by_to["bob@lake.org"])
