"""A jurisdiction with one closed wave of generated answers, for the national learning tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import surveys
from app.demo_data import generate_answers, new_team_effects
from app.models import Jurisdiction, OrgUnit, Response, UnitKind, User, Wave, WaveStatus
from app.services.instruments import ensure_instrument
from app.services.jurisdictions import create_jurisdiction
from tests.admin.conftest import login


def seed_wave(
    session: Session, slug: str, *, teams: int = 12, per_team: int = 9, seed: int = 1
) -> tuple[Jurisdiction, Wave]:
    """A jurisdiction ``slug`` whose 2026 wave has ``teams × per_team`` responses."""
    instrument = surveys.load_default()
    row = ensure_instrument(session, instrument)
    jurisdiction = create_jurisdiction(session, None, name=f"{slug.title()} County", slug=slug)
    units = []
    for t in range(teams):
        unit = OrgUnit(
            jurisdiction_id=jurisdiction.id,
            name=f"Team {t + 1}",
            path=f"Team {t + 1}",
            kind=UnitKind.TEAM,
        )
        session.add(unit)
        units.append(unit)
    wave = Wave(
        jurisdiction_id=jurisdiction.id,
        instrument_id=row.id,
        year=2026,
        opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        closes_at=datetime(2026, 12, 1, tzinfo=UTC),
        status=WaveStatus.CLOSED,
        min_report_n=5,
    )
    session.add(wave)
    session.flush()
    rng = np.random.default_rng(seed)
    team_of = np.repeat(np.arange(teams), per_team)
    answers = generate_answers(instrument, team_of, new_team_effects(instrument, teams, rng), rng)
    for r, t in enumerate(team_of):
        values = {
            k: int(v)
            for k, v in zip(instrument.item_keys, answers[r], strict=True)
            if not np.isnan(v)
        }
        session.add(Response(wave_id=wave.id, unit_id=units[int(t)].id, answers=values))
    session.commit()
    return jurisdiction, wave


@pytest.fixture
def signed_in(app: Flask) -> Callable[[User], FlaskClient]:
    def sign_in(user: User) -> FlaskClient:
        client = app.test_client()
        login(client, user.email)
        return client

    return sign_in
