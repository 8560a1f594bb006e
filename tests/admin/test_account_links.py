"""Password resets and account invitations by email: a real SMTP server, links that work once."""

from __future__ import annotations

import logging
import re
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Jurisdiction, Role, User
from app.services import accounts
from tests.conftest import TEST_SECRET

from .conftest import PASSWORD, csrf_token, login, make_user
from .smtp_server import SmtpServer, html_of, text_of

NEW = "seven unrelated words make a passphrase"
LINK = re.compile(r"https://survey\.example\.org(/(?:reset|welcome)/[A-Za-z0-9_.\-]+)")


def _post(client: FlaskClient, url: str, data: dict[str, str]) -> object:
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_token(page)})


def _link(message: Message) -> str:
    found = LINK.search(text_of(message))
    assert found, text_of(message)
    assert found.group(0) in html_of(message)
    return found.group(1)


def _signs_in(app: Flask, email: str, password: str) -> bool:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(page)}
    )
    return response.status_code == 302


def test_a_reset_link_arrives_by_smtp_and_works_exactly_once(
    mail_app: Flask, session: Session, lake: Jurisdiction, smtp: SmtpServer
) -> None:
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = mail_app.test_client()
    response = _post(client, "/reset", {"email": "Admin@Lake.org"})
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert [str(m["To"]) for m in smtp.handler.messages] == ["admin@lake.org"]
    message = smtp.handler.messages[0]
    assert parsedate_to_datetime(str(message["Date"])) is not None
    assert str(message["Message-ID"]).startswith("<")
    assert parseaddr(str(message["From"]))[0] == "Safety Culture Survey"
    path = _link(message)
    assert client.get(path).status_code == 200
    done = _post(client, path, {"password": NEW, "repeat": NEW})
    assert done.status_code == 302  # type: ignore[attr-defined]
    assert _signs_in(mail_app, "admin@lake.org", NEW)
    assert not _signs_in(mail_app, "admin@lake.org", PASSWORD)
    again = client.get(path)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    second = client.post(path, data={"password": "another long passphrase", "repeat": "x"})
    assert second.status_code == 400
    assert _signs_in(mail_app, "admin@lake.org", NEW)
    actions = session.scalars(select(AuditEvent.action)).all()
    assert "user.password_link" in actions


def test_asking_for_an_unknown_address_looks_the_same_and_sends_nothing(
    mail_app: Flask, session: Session, lake: Jurisdiction, smtp: SmtpServer
) -> None:
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    answers = []
    for email in ("admin@lake.org", "nobody@lake.org"):
        client = mail_app.test_client()
        response = _post(client, "/reset", {"email": email})
        follow = client.get(response.headers["Location"])  # type: ignore[attr-defined]
        answers.append((response.status_code, follow.get_data(as_text=True)))  # type: ignore[attr-defined]
    (status_a, page_a), (status_b, page_b) = answers
    strip = re.compile(r'name="csrf_token"[^>]*>')
    assert status_a == status_b == 302
    assert strip.sub("", page_a) == strip.sub("", page_b)
    assert [str(m["To"]) for m in smtp.handler.messages] == ["admin@lake.org"]


def test_a_tampered_expired_or_wrong_purpose_link_sets_nothing(
    mail_app: Flask, session: Session, lake: Jurisdiction, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    before = user.password_hash
    client = mail_app.test_client()
    good = accounts.make_link_token(TEST_SECRET, user, "reset")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    invitation = accounts.make_link_token(TEST_SECRET, user, "invitation")
    other_key = accounts.make_link_token("another secret key of at least 32 chars!", user, "reset")
    import itsdangerous

    real = itsdangerous.TimestampSigner.get_timestamp
    monkeypatch.setattr(
        itsdangerous.TimestampSigner, "get_timestamp", lambda self: real(self) - 3 * 3600
    )
    expired = accounts.make_link_token(TEST_SECRET, user, "reset")
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", real)
    for token, words in (
        (tampered, "not valid"),
        (invitation, "not valid"),
        (other_key, "not valid"),
        (expired, "expired"),
        ("not-a-token", "not valid"),
    ):
        shown = client.get(f"/reset/{token}")
        assert shown.status_code == 400 and words in shown.get_data(as_text=True), token
        posted = client.post(f"/reset/{token}", data={"password": NEW, "repeat": NEW})
        assert posted.status_code == 400
    session.refresh(user)
    assert user.password_hash == before


def test_a_short_password_through_the_link_saves_nothing_and_the_link_still_works(
    mail_app: Flask, session: Session, lake: Jurisdiction
) -> None:
    user = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    path = f"/reset/{accounts.make_link_token(TEST_SECRET, user, 'reset')}"
    client = mail_app.test_client()
    for password, repeat, words in (
        ("short", "short", "at least 12 characters"),
        (NEW, NEW + "x", "The passwords differ."),
        ("", "", "This field is required."),
    ):
        response = _post(client, path, {"password": password, "repeat": repeat})
        body = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert response.status_code == 400 and words in body, body[body.find("<main") :][:900]  # type: ignore[attr-defined]
    assert _signs_in(mail_app, "admin@lake.org", PASSWORD)
    assert _post(client, path, {"password": NEW, "repeat": NEW}).status_code == 302  # type: ignore[attr-defined]


def test_an_invited_account_chooses_its_own_password_through_the_email(
    mail_app: Flask, session: Session, lake_with_roster: Jurisdiction, smtp: SmtpServer
) -> None:
    lake = lake_with_roster
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    admin = mail_app.test_client()
    login(admin, "admin@lake.org")
    created = _post(
        admin,
        "/admin/users",
        {
            "email": "new.leader@lake.org",
            "role": "leader",
            "units": "Region 1 / Office A",
            "password": "",
        },
    )
    body = created.get_data(as_text=True)  # type: ignore[attr-defined]
    assert created.status_code == 302, re.findall(r'class="(?:flash )?error"[^>]*>([^<]+)', body)  # type: ignore[attr-defined]
    assert "invitation email is on its way" in admin.get("/admin/users").get_data(as_text=True)
    invited = session.scalars(select(User).where(User.email == "new.leader@lake.org")).one()
    assert invited.role == Role.LEADER and invited.jurisdiction_id == lake.id
    (message,) = [m for m in smtp.handler.messages if str(m["To"]) == "new.leader@lake.org"]
    path = _link(message)
    assert path.startswith("/welcome/")
    newcomer = mail_app.test_client()
    assert _post(newcomer, path, {"password": NEW, "repeat": NEW}).status_code == 302  # type: ignore[attr-defined]
    assert _signs_in(mail_app, "new.leader@lake.org", NEW)
    assert newcomer.get(path).status_code == 400


def test_an_administrator_sends_a_password_link_and_other_sessions_end_when_it_is_used(
    mail_app: Flask, session: Session, lake: Jurisdiction, smtp: SmtpServer
) -> None:
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    leader = make_user(session, "lead@lake.org", Role.LEADER, lake)
    admin_client, leader_elsewhere = mail_app.test_client(), mail_app.test_client()
    login(admin_client, admin.email)
    login(leader_elsewhere, leader.email)
    page = admin_client.get("/admin/users").get_data(as_text=True)
    admin_client.post(
        f"/admin/users/{leader.id}/password-link", data={"csrf_token": csrf_token(page)}
    )
    (message,) = smtp.handler.messages
    assert str(message["To"]) == "lead@lake.org"
    _post(mail_app.test_client(), _link(message), {"password": NEW, "repeat": NEW})
    assert leader_elsewhere.get("/admin/").status_code == 302  # the old session is over


def test_account_link_tokens_never_reach_the_request_log(
    mail_app: Flask, session: Session, lake: Jurisdiction, caplog: pytest.LogCaptureFixture
) -> None:
    from app.security import redact

    user = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    token = accounts.make_link_token(TEST_SECRET, user, "reset")
    line = f'127.0.0.1 - - [01/Dec/2026 10:00:00] "GET /reset/{token} HTTP/1.1" 200 -'
    assert token not in redact(line)
    for piece in token.split("."):
        assert piece not in redact(line)
    with caplog.at_level(logging.INFO):
        mail_app.test_client().get(f"/reset/{token}")
    assert all(token not in r.getMessage() for r in caplog.records)


def test_cli_lists_changes_roles_and_prints_a_link_when_asked(
    app: Flask, session: Session, lake: Jurisdiction
) -> None:
    make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["users", "list"])
    assert (
        listed.exit_code == 0
        and "admin@lake.org\tjurisdiction_admin\tlake\tactive" in listed.output
    )
    changed = runner.invoke(args=["users", "set-role", "admin@lake.org", "leader"])
    assert changed.exit_code == 0 and "is now leader" in changed.output
    off = runner.invoke(args=["users", "deactivate", "admin@lake.org"])
    assert off.exit_code == 0
    refused = runner.invoke(args=["users", "reset-password", "admin@lake.org"])
    assert refused.exit_code == 2 and "deactivated" in refused.output
    runner.invoke(args=["users", "activate", "admin@lake.org"])
    link = runner.invoke(args=["users", "reset-password", "admin@lake.org", "--print-link"])
    assert link.exit_code == 0 and "email sent" in link.output  # the outbox backend
    path = re.search(r"(/reset/\S+)", link.output)
    assert path and app.test_client().get(path.group(1)).status_code == 200
    unknown = runner.invoke(args=["users", "set-role", "nobody@x.org", "leader"])
    assert unknown.exit_code == 2 and "no account" in unknown.output
    national = runner.invoke(args=["users", "set-role", "admin@lake.org", "national"])
    assert national.exit_code == 0
    session.expire_all()
    user = session.scalars(select(User).where(User.email == "admin@lake.org")).one()
    assert user.role == Role.NATIONAL and user.jurisdiction_id is None
