"""Waves keep their history: a roster imported after a wave never changes that wave's outputs.

The jurisdiction is built the way an administrator builds it (roster import, wave launch and
close through the services); answers are stored as the mixer stores them. After the close, a
new roster adds an office, empties a team and turns a team into an office. Every report of
the closed wave is rebuilt with ``reports build``'s own code and compared as PDF text.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

import surveys
from app.demo_data import generate_answers, new_team_effects
from app.models import Invitation, OrgUnit, Response
from app.services import history, jurisdictions, reports, roster, waves
from tests.conftest import TEST_KEYS
from tests.reports.conftest import write_wave_reports

BEFORE = {
    "Office A / Team 1": 7,
    "Office A / Team 2": 6,
    "Office A / Team 3": 3,
    "Office B / Team 1": 8,
    "Office B / Team 2": 6,
}
#: The next year's roster: a new office, Office B / Team 2 gone, Office A / Team 3 has teams.
AFTER = {
    "Office A / Team 1": 7,
    "Office A / Team 2": 5,
    "Office A / Team 3 / North": 4,
    "Office A / Team 3 / South": 4,
    "Office B / Team 1": 9,
    "Office C / Intake": 11,
}


def _csv(sizes: dict[str, int], tag: str) -> bytes:
    lines = ["email,unit"]
    for path, n in sizes.items():
        slug = path.lower().replace(" / ", "-").replace(" ", "")
        lines += [f"{tag}{i}.{slug}@pine.example,{path}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def _closed_wave(session: Session) -> tuple[int, int]:
    """Pine County: roster, a 2026 wave launched, answered by all but one per team, closed."""
    instrument = surveys.load_default()
    jurisdiction = jurisdictions.create_jurisdiction(
        session, None, name="Pine County", slug="pine-history"
    )
    roster.import_roster(session, None, jurisdiction.id, _csv(BEFORE, "a"))
    today = date.today()
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=jurisdiction.id,
        year=2026,
        instrument_key=instrument.key,
        opens=today,
        closes=today + timedelta(days=20),
    )
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    invited = session.scalars(
        select(Invitation.unit_id).where(Invitation.wave_id == wave.id).order_by(Invitation.id)
    ).all()
    units = sorted(set(invited))
    rng = np.random.default_rng(11)
    effects = new_team_effects(instrument, len(units), rng)
    answering = [u for i, u in enumerate(invited) if i % 9 != 0]
    team_of = np.array([units.index(u) for u in answering])
    answers = generate_answers(instrument, team_of, effects, rng)
    for row, unit_id in enumerate(answering):
        values = {
            k: int(v)
            for k, v in zip(instrument.item_keys, answers[row], strict=True)
            if not np.isnan(v)
        }
        comment = "More time for supervision, please." if row % 2 else None
        session.add(Response(wave_id=wave.id, unit_id=unit_id, answers=values, comment=comment))
    session.commit()
    waves.close_wave(session, None, wave.id)
    waves.finish_close(session, wave.id, mix_keys=TEST_KEYS.mix)
    return jurisdiction.id, wave.id


def _published(session: Session, wave_id: int, out: Path) -> dict[str, object]:
    """Every output of the wave: each PDF's text by file name, the list, the dashboard."""
    reports.clear_cache()
    files = write_wave_reports(session, wave_id, out)
    texts: dict[str, object] = {
        path.name: [page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages]
        for path in files
    }
    texts["list"] = [
        (e.path, e.kind, e.unit_kind, e.shown, e.hidden_reason, e.included_in, e.filename)
        for e in reports.list_reports(session, wave_id)
    ]
    texts["dashboard"] = waves.dashboard(session, None, wave_id).units
    return texts


def _import_next_roster(session: Session, jurisdiction_id: int) -> None:
    roster.import_roster(session, None, jurisdiction_id, _csv(AFTER, "b"))
    kinds = {path: kind for path, kind in session.execute(select(OrgUnit.path, OrgUnit.kind))}
    assert kinds["Office A / Team 3"] == "office" and "Office C / Intake" in kinds


def test_a_roster_import_after_the_close_changes_none_of_the_waves_outputs(
    session: Session, tmp_path: Path
) -> None:
    jurisdiction_id, wave_id = _closed_wave(session)
    before = _published(session, wave_id, tmp_path / "before")
    assert len(before) > 4 and any(not row[3] for row in before["list"])  # type: ignore[index, attr-defined]
    _import_next_roster(session, jurisdiction_id)
    after = _published(session, wave_id, tmp_path / "after")
    assert after.keys() == before.keys()
    for name, text in before.items():
        assert after[name] == text, name


def test_without_the_frozen_tree_the_same_import_would_change_the_reports(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history test can fail: reading the live tree, the new units show up."""
    monkeypatch.setattr(history, "find_frozen_tree", lambda session, wave_id: None)
    from app.services.reports import results

    monkeypatch.setattr(results, "find_frozen_tree", lambda session, wave_id: None)
    jurisdiction_id, wave_id = _closed_wave(session)
    before = _published(session, wave_id, tmp_path / "before")
    _import_next_roster(session, jurisdiction_id)
    after = _published(session, wave_id, tmp_path / "after")
    assert after != before
