"""Fixtures for admin tests: jurisdictions, accounts, rosters and a signed-in client."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.models import Jurisdiction, Role, User
from app.services import jurisdictions, roster, waves

from .smtp_server import SmtpServer

PASSWORD = "correct horse battery staple"


@functools.cache
def _password_hash() -> str:
    from app.services.users import hash_password

    return hash_password(PASSWORD)  # scrypt is slow on purpose: hash once per run


def make_jurisdiction(
    session: Session, slug: str = "lake", name: str = "Lake County"
) -> Jurisdiction:
    return jurisdictions.create_jurisdiction(session, None, name=name, slug=slug)


def make_user(
    session: Session,
    email: str,
    role: Role,
    jurisdiction: Jurisdiction | None = None,
    unit_paths: tuple[str, ...] = (),
) -> User:
    from sqlalchemy import select

    from app.models import OrgUnit

    user = User(
        email=email,
        password_hash=_password_hash(),
        role=role,
        jurisdiction_id=jurisdiction.id if jurisdiction else None,
        active=True,
        failed_logins=0,
    )
    user.units = [
        session.scalars(
            select(OrgUnit).where(
                OrgUnit.jurisdiction_id == jurisdiction.id,  # type: ignore[union-attr]
                OrgUnit.path == path,
            )
        ).one()
        for path in unit_paths
    ]
    session.add(user)
    session.commit()
    return user


def roster_csv(rows: list[tuple[str, str]] | list[tuple[str, str, str]]) -> bytes:
    lines = ["email,unit,language" if rows and len(rows[0]) == 3 else "email,unit"]
    lines += [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def standard_roster(teams: int = 2, per_team: int = 6) -> bytes:
    rows = []
    for t in range(teams):
        for i in range(per_team):
            rows.append((f"staff{t}-{i}@lake.example", f"Region 1 / Office A / Team {t + 1}"))
    return roster_csv(rows)


@pytest.fixture
def lake(session: Session) -> Jurisdiction:
    return make_jurisdiction(session)


@pytest.fixture
def lake_with_roster(session: Session, lake: Jurisdiction) -> Jurisdiction:
    roster.import_roster(session, None, lake.id, standard_roster())
    return lake


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page) if 'name="csrf_token"' in page else ""
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def signed_in(app: Flask) -> Callable[[User], FlaskClient]:
    def sign_in(user: User) -> FlaskClient:
        client = app.test_client()
        login(client, user.email)
        return client

    return sign_in


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(engine, session_factory, tmp_path: Path, smtp: SmtpServer) -> Flask:  # type: ignore[no-untyped-def]
    """The app sending mail through ``smtp``, bound to the test's transaction."""
    from app.db import get_database
    from tests.conftest import make_test_app

    app = make_test_app(
        engine,
        tmp_path,
        MAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        SMTP_STARTTLS=False,
        MAIL_RATE_PER_MINUTE=1_000_000,
        PUBLIC_URL="https://survey.example.org",
    )
    get_database(app).sessions = session_factory
    return app


def launch_lake(session: Session, people: int, *, teams: int = 1) -> int:
    """Jurisdiction "Lake" with ``people`` on its roster in ``teams`` teams and a launched wave
    (open ten days from today, links sealed to the test mailer key); returns the wave's id."""
    from tests.conftest import TEST_KEYS

    lake = jurisdictions.create_jurisdiction(session, None, name="Lake", slug="lake")
    rows = [(f"p{i:05d}@lake.example", f"Region / Team {i % teams}") for i in range(people)]
    roster.import_roster(session, None, lake.id, roster_csv(rows))
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=lake.id,
        year=2026,
        instrument_key="team-safety-culture",
        opens=date.today(),
        closes=date.today() + timedelta(days=10),
    )
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    return wave.id
