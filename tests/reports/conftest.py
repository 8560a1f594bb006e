"""A small seeded jurisdiction for report tests: two offices × three teams, two survey years.

2026: Office A has teams of 8, 7 and 2 respondents (the team of 2 is hidden, and one sibling
with it, so it cannot be subtracted out); Office B has 9, 6 and 6. 2025 has other sizes, so
that a different team is hidden in each year.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import surveys
from app.demo_data import generate_answers, new_team_effects
from app.models import (
    Invitation,
    Jurisdiction,
    OrgUnit,
    Response,
    Role,
    UnitKind,
    User,
    Wave,
    WaveStatus,
)
from app.services import reports
from app.services.instruments import ensure_instrument

PASSWORD = "correct horse battery staple"
TEAM_SIZES = {
    2026: {"Office A": (8, 7, 2), "Office B": (9, 6, 6)},
    2025: {"Office A": (7, 6, 6), "Office B": (8, 2, 7)},
}
COMMENTS = (
    "Please call me at 555-123-4567 about this.",
    "Write to jane.doe@county.example if you want details.",
    "The delay on case #2024-001234 put a worker at risk.",
    "More time for supervision, please.",
)


@dataclass(frozen=True)
class SmallJurisdiction:
    jurisdiction_id: int
    waves: dict[int, int]
    units: dict[str, int]


@pytest.fixture(autouse=True)
def _fresh_report_cache(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fresh report cache per test, owned by an application as in production.

    A test with the ``app`` fixture has one from create_app (its requests and commands push
    that app; pushing it here too would share ``g`` between requests). Other tests get a bare
    app of their own, so that repeated report builds in one test are not all scored again.
    Rolled-back tests reuse database ids: a fresh cache per test never lets one test see
    another's scores.
    """
    if "app" in request.fixturenames:
        yield
        return
    holder = Flask("report-tests")
    reports.init_app(holder)
    with holder.app_context():
        yield


@pytest.fixture
def small(session: Session) -> SmallJurisdiction:
    return seed_small(session)


def seed_small(session: Session) -> SmallJurisdiction:
    """The jurisdiction of the module's docstring, committed (also on a test's own database)."""
    instrument = surveys.load_default()
    row = ensure_instrument(session, instrument)
    jurisdiction = Jurisdiction(name="Lake County", slug="lake-reports")
    session.add(jurisdiction)
    session.flush()
    agency = OrgUnit(
        jurisdiction_id=jurisdiction.id, name="Lake County", path="", kind=UnitKind.AGENCY
    )
    session.add(agency)
    units = {"": agency}
    teams: list[OrgUnit] = []
    for office_name in ("Office A", "Office B"):
        office = OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent=agency,
            name=office_name,
            path=office_name,
            kind=UnitKind.OFFICE,
        )
        session.add(office)
        units[office.path] = office
        for t in range(3):
            team = OrgUnit(
                jurisdiction_id=jurisdiction.id,
                parent=office,
                name=f"Team {t + 1}",
                path=f"{office_name} / Team {t + 1}",
                kind=UnitKind.TEAM,
            )
            session.add(team)
            units[team.path] = team
            teams.append(team)
    session.flush()
    rng = np.random.default_rng(7)
    effects = new_team_effects(instrument, len(teams), rng)
    waves = {}
    for year, sizes in TEAM_SIZES.items():
        wave = Wave(
            jurisdiction_id=jurisdiction.id,
            instrument_id=row.id,
            year=year,
            opens_at=datetime(year, 11, 1, tzinfo=UTC),
            closes_at=datetime(year, 12, 1, tzinfo=UTC),
            status=WaveStatus.CLOSED,
            min_report_n=5,
        )
        session.add(wave)
        session.flush()
        waves[year] = wave.id
        team_of = np.array(
            [
                i
                for i, n in enumerate(size for office in sizes.values() for size in office)
                for _ in range(n)
            ]
        )
        answers = generate_answers(instrument, team_of, effects, rng)
        for r, team_row in enumerate(team_of):
            values = {
                k: int(v)
                for k, v in zip(instrument.item_keys, answers[r], strict=True)
                if not np.isnan(v)
            }
            session.add(
                Response(
                    wave_id=wave.id,
                    unit_id=teams[int(team_row)].id,
                    answers=values,
                    comment=COMMENTS[r % len(COMMENTS)] if r % 3 == 0 else None,
                )
            )
        for team_row, team in enumerate(teams):
            answered = int((team_of == team_row).sum())
            for i in range(answered + 2):
                session.add(
                    Invitation(
                        wave_id=wave.id,
                        unit_id=team.id,
                        token_hash=secrets.token_hex(32),
                        completed=i < answered,
                    )
                )
    session.commit()
    return SmallJurisdiction(jurisdiction.id, waves, {p: u.id for p, u in units.items()})


def make_leader(session: Session, small: SmallJurisdiction, email: str, *paths: str) -> User:
    from app.services.users import hash_password

    user = User(
        email=email,
        password_hash=hash_password(PASSWORD),
        role=Role.LEADER,
        jurisdiction_id=small.jurisdiction_id,
        active=True,
        failed_logins=0,
    )
    user.units = [session.get(OrgUnit, small.units[p]) for p in paths]  # type: ignore[misc]
    session.add(user)
    session.commit()
    return user


def login(client: FlaskClient, email: str) -> None:
    """Sign in through the auth blueprint's form, wherever it is mounted."""
    app = client.application
    with app.test_request_context():
        url = url_for("auth.login")
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on the sign-in page"
    response = client.post(
        url, data={"email": email, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def write_wave_reports(session: Session, wave_id: int, out_dir: Path) -> list[Path]:
    """Every shown unit's PDF of the wave written to ``out_dir``, as ``flask reports build`` does
    (through the same ``report_batches.render_reports``, in one process); the files written."""
    from app.services import report_batches

    entries = reports.reports_to_build(session, wave_id)
    session.commit()  # render_reports wants nothing pending
    rendering = report_batches.Rendering(
        what=f"the reports of wave {wave_id}",
        wave_id=wave_id,
        language="en",
        page_size="A4",
        min_jurisdictions=5,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for report in report_batches.render_reports(session, rendering, entries):
        assert report.pdf is not None, (report.entry.path, report.reason)
        path = out_dir / report.entry.filename
        path.write_bytes(report.pdf)
        written.append(path)
    return written
