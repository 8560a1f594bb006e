"""Sign-in as an attacker tries it: floods, lockouts, guessed accounts, copied cookies."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app.db import get_database
from app.models import AuditEvent, Jurisdiction, Role, User, utcnow
from app.services import users
from tests.conftest import TEST_SECRET, make_test_app

from .conftest import PASSWORD, csrf_token, login, make_user

ADDRESS_A = {"REMOTE_ADDR": "192.0.2.10"}
ADDRESS_B = {"REMOTE_ADDR": "192.0.2.20"}


def _try(
    client: FlaskClient, email: str, password: str, where: dict[str, str] = ADDRESS_A
) -> TestResponse:
    page = client.get("/login", environ_base=where).get_data(as_text=True)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(page)},
        environ_base=where,
    )


@pytest.fixture
def admin(session: Session, lake: Jurisdiction) -> User:
    return make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)


# --- floods and lockouts --------------------------------------------------------------------


def test_login_flood_from_one_address_is_refused_before_any_password_is_hashed(
    app: Flask, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    real_scrypt = hashlib.scrypt

    def counting_scrypt(*args: Any, **kwargs: Any) -> bytes:
        calls.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
    client = app.test_client()
    page = client.get("/login", environ_base=ADDRESS_A).get_data(as_text=True)
    token = csrf_token(page)
    codes = []
    for n in range(40):  # a different account each time: the per-account throttle never fires
        response = client.post(
            "/login",
            data={"email": f"guess{n}@lake.org", "password": "wrong", "csrf_token": token},
            environ_base=ADDRESS_A,
        )
        codes.append(response.status_code)
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429] * 30
    assert len(calls) == 10  # one scrypt per request that got through, none for the refused
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    # Another address is not affected, and signs in.
    assert _try(app.test_client(), admin.email, PASSWORD, ADDRESS_B).status_code == 302


def test_wrong_passwords_from_one_address_do_not_lock_the_account_elsewhere(
    app: Flask, session: Session, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    attacker = app.test_client()
    for _ in range(users.FREE_FAILURES):
        assert _try(attacker, admin.email, "wrong", ADDRESS_A).status_code == 401
    # The attacker's address now waits, even with the right password...
    assert _try(attacker, admin.email, PASSWORD, ADDRESS_A).status_code == 429
    # ...but the owner, from another address, signs in at once.
    owner = app.test_client()
    assert _try(owner, admin.email, PASSWORD, ADDRESS_B).status_code == 302
    assert owner.get("/admin/", environ_base=ADDRESS_B).status_code == 200
    # From the failing address too, once the (first, one-minute) wait is over.
    later = utcnow() + timedelta(minutes=1, seconds=5)
    monkeypatch.setattr(users, "utcnow", lambda: later)
    assert _try(app.test_client(), admin.email, PASSWORD, ADDRESS_A).status_code == 302
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "login.locked" in actions


def test_waits_grow_with_each_failure_and_a_quiet_day_starts_from_zero(
    app: Flask, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [users.wait_after(n, 5) for n in (4, 5, 6, 7, 20)] == [
        timedelta(0),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=1),
    ]
    client = app.test_client()
    clock = [utcnow()]
    monkeypatch.setattr(users, "utcnow", lambda: clock[0])
    for _ in range(users.FREE_FAILURES):
        _try(client, admin.email, "wrong")
    clock[0] += timedelta(minutes=1, seconds=1)
    assert _try(client, admin.email, "wrong").status_code == 401  # sixth failure: 2 minutes
    clock[0] += timedelta(minutes=1, seconds=1)
    assert _try(client, admin.email, PASSWORD).status_code == 429  # still waiting
    clock[0] += timedelta(hours=25)
    # After a quiet period one wrong password is just one wrong password again.
    assert _try(client, admin.email, "wrong").status_code == 401
    assert _try(client, admin.email, PASSWORD).status_code == 302


def test_existing_and_unknown_accounts_get_the_same_answers(app: Flask, admin: User) -> None:
    def answers(email: str, where: dict[str, str]) -> list[tuple[int, str]]:
        client = app.test_client()
        seen = []
        for _ in range(20):
            response = _try(client, email, "wrong", where)
            body = response.get_data(as_text=True)
            body = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "csrf", body)
            seen.append((response.status_code, body.replace(email, "EMAIL")))
        return seen

    existing = answers(admin.email, ADDRESS_A)
    unknown = answers("nobody@lake.org", ADDRESS_B)
    assert existing == unknown
    assert {code for code, _ in existing} == {401, 429}


def test_unlock_command_lets_the_account_in_from_a_failing_address(
    app: Flask, session: Session, admin: User
) -> None:
    client = app.test_client()
    for _ in range(users.FREE_FAILURES):
        _try(client, admin.email, "wrong")
    assert _try(client, admin.email, PASSWORD).status_code == 429
    result = app.test_cli_runner().invoke(args=["users", "unlock", "Admin@Lake.org"])
    assert result.exit_code == 0, result.output
    assert "unlocked admin@lake.org (1 address(es) were waiting)" in result.output
    assert _try(client, admin.email, PASSWORD).status_code == 302
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.unlock")).one()
    assert event.actor == "cli" and event.target == "user admin@lake.org"


# --- sessions that end ----------------------------------------------------------------------


def _copy_cookie(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def test_a_cookie_copied_before_sign_out_is_dead_after_it(app: Flask, admin: User) -> None:
    browser, thief = app.test_client(), app.test_client()
    login(browser, admin.email)
    _copy_cookie(browser, thief)
    assert thief.get("/admin/").status_code == 200  # the copy works while signed in
    page = browser.get("/admin/").get_data(as_text=True)
    assert browser.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 302
    response = thief.get("/admin/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert thief.get("/admin/users").status_code == 302


def test_deactivation_and_a_new_password_end_copied_cookies(
    app: Flask, session: Session, admin: User
) -> None:
    browser, thief = app.test_client(), app.test_client()
    login(browser, admin.email)
    _copy_cookie(browser, thief)
    users.set_password(session, None, admin.id, "a different long passphrase")
    assert thief.get("/admin/").status_code == 302
    assert browser.get("/admin/").status_code == 302
    login(browser, admin.email, "a different long passphrase")
    _copy_cookie(browser, thief)
    users.set_active(session, None, admin.id, False)
    assert thief.get("/admin/").status_code == 302


def test_the_session_cookie_expires_within_the_configured_lifetime(app: Flask, admin: User) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    expires = parsedate_to_datetime(re.search(r"Expires=([^;]+)", header).group(1))  # type: ignore[union-attr]
    lifetime = timedelta(hours=app.config["SESSION_MAX_HOURS"])
    assert lifetime == timedelta(hours=8)
    assert utcnow() + lifetime - timedelta(minutes=1) <= expires <= utcnow() + lifetime


def test_the_absolute_timeout_ends_a_busy_session(app: Flask, admin: User) -> None:
    client = app.test_client()
    login(client, admin.email)
    with client.session_transaction() as s:
        s["signed_in_at"] = time.time() - 8 * 3600 - 1  # busy all day: never idle
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def _second_app(
    engine: Engine, tmp_path: Path, factory: sessionmaker[Session], **overrides: object
) -> Flask:
    other = make_test_app(engine, tmp_path, **overrides)
    get_database(other).sessions = factory
    return other


def test_secret_key_fallbacks_keep_sessions_through_a_key_rotation(
    app: Flask,
    admin: User,
    engine: Engine,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> None:
    browser = app.test_client()
    login(browser, admin.email)
    new_key = "rotated-secret-key-" + "y" * 40
    rotated = _second_app(
        engine, tmp_path, session_factory, SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[TEST_SECRET]
    )
    carried = rotated.test_client()
    _copy_cookie(browser, carried)
    assert carried.get("/admin/").status_code == 200
    without = _second_app(engine, tmp_path, session_factory, SECRET_KEY=new_key)
    dropped = without.test_client()
    _copy_cookie(browser, dropped)
    assert dropped.get("/admin/").status_code == 302


# --- redirects, caching, transport ----------------------------------------------------------

OPEN_REDIRECTS = [
    "//evil.example/",
    "/%09/evil.example/",
    "/%0a/evil.example/",
    "/%5Cevil.example/",
    "%5C%5Cevil.example/",
    "/%5C%5Cevil.example/",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/%0d%0aSet-Cookie:%20x=1",
    "/admin/%0d%0aLocation:%20https://evil.example/",
    "%2F%2Fevil.example/",
    "/%E2%80%8B/evil.example/",
    "/%2F/evil.example/",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_sign_in_never_redirects_off_site(app: Flask, admin: User, target: str) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        f"/login?next={target}",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc
    assert location.startswith("/") and not location.startswith("//")
    assert not re.search(r"[\x00-\x20\x7f\\]", location)
    assert client.get(location).status_code == 200  # a page of this site


def test_sign_in_follows_a_local_next(app: Flask, admin: User) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login?next=/admin/audit%3Faction%3Dlogin",
        data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.headers["Location"] == "/admin/audit?action=login"


def test_signed_in_pages_and_downloads_are_not_cached(app: Flask, admin: User) -> None:
    client = app.test_client()
    login(client, admin.email)
    for url in ("/admin/", "/admin/users", "/admin/roster", "/password", "/reports", "/login"):
        response = client.get(url)
        assert response.headers.get("Cache-Control") == "no-store", url
    # A report download that does not exist is still a signed-in answer.
    assert client.get("/reports/1/1.pdf").headers["Cache-Control"] == "no-store"
    static = client.get("/admin/static/admin.css")  # may be cached: no personal data
    assert static.status_code == 200 and static.headers.get("Cache-Control") != "no-store"
    static.close()


@pytest.fixture
def production_app(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> Callable[..., Flask]:
    def build(**overrides: object) -> Flask:
        return _second_app(engine, tmp_path, session_factory, APP_ENV="production", **overrides)

    return build


def test_hsts_is_sent_in_production_only(app: Flask, production_app: Callable[..., Flask]) -> None:
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    header = production_app().test_client().get("/login").headers["Strict-Transport-Security"]
    assert header == "max-age=31536000"
    off = production_app(HSTS_SECONDS=0).test_client().get("/login").headers
    assert "Strict-Transport-Security" not in off


# --- passwords ------------------------------------------------------------------------------

WEAK = [
    "aaaaaaaaaaaa",
    "abcabcabcabc",
    "Password1234",
    "P@ssw0rd2026!",
    "qwertyuiop12",
    "123456789012",
    "passwordpassword",
    "iloveyou1234",
    "admin@lake.org-2026",
    "short",
]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused(session: Session, admin: User, password: str) -> None:
    with pytest.raises(users.UserError, match=r"^password: "):
        users.set_password(session, None, admin.id, password)


def test_a_long_passphrase_is_accepted(session: Session, admin: User) -> None:
    users.set_password(session, None, admin.id, "violet tractor sings at noon")


def test_the_password_form_names_the_problem(app: Flask, admin: User) -> None:
    client = app.test_client()
    login(client, admin.email)
    page = client.get("/password").get_data(as_text=True)
    response = client.post(
        "/password",
        data={
            "csrf_token": csrf_token(page),
            "current": PASSWORD,
            "password": "aaaaaaaaaaaa",
            "repeat": "aaaaaaaaaaaa",
        },
    )
    assert response.status_code == 400
    assert "not one character or a few characters repeated" in response.get_data(as_text=True)
