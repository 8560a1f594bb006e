"""Report file names never collide; hidden units say truly why; comments lose detectable names."""

from __future__ import annotations

import io
import secrets
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy.orm import Session

import surveys
from app.demo_data import generate_answers, new_team_effects
from app.models import (
    BatchStatus,
    Invitation,
    Jurisdiction,
    OrgUnit,
    ReportBatch,
    Response,
    UnitKind,
    Wave,
    WaveStatus,
)
from app.reporting import render_pdf
from app.services import report_batches, reports, waves
from app.services.instruments import ensure_instrument
from tests.reports.conftest import SmallJurisdiction, login, make_leader, write_wave_reports


def _jurisdiction(
    session: Session, slug: str, teams: dict[str, int], *, not_answering: int = 1
) -> tuple[int, int]:
    """One office holding ``teams`` (name → respondents), a closed 2026 wave; returns ids."""
    instrument = surveys.load_default()
    row = ensure_instrument(session, instrument)
    jurisdiction = Jurisdiction(name="Elm County", slug=slug)
    session.add(jurisdiction)
    session.flush()
    agency = OrgUnit(
        jurisdiction_id=jurisdiction.id, name="Elm County", path="", kind=UnitKind.AGENCY
    )
    office = OrgUnit(
        jurisdiction_id=jurisdiction.id,
        parent=agency,
        name="Office X",
        path="Office X",
        kind=UnitKind.OFFICE,
    )
    units = [
        OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent=office,
            name=name,
            path=f"Office X / {name}",
            kind=UnitKind.TEAM,
        )
        for name in teams
    ]
    session.add_all([agency, office, *units])
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
    rng = np.random.default_rng(3)
    team_of = np.array([i for i, n in enumerate(teams.values()) for _ in range(n)])
    answers = generate_answers(
        instrument, team_of, new_team_effects(instrument, len(units), rng), rng
    )
    for r, t in enumerate(team_of):
        values = {
            k: int(v) for k, v in zip(instrument.item_keys, answers[r], strict=True) if v == v
        }
        session.add(Response(wave_id=wave.id, unit_id=units[int(t)].id, answers=values))
    for t, unit in enumerate(units):
        for _ in range(int((team_of == t).sum()) + not_answering):
            session.add(
                Invitation(wave_id=wave.id, unit_id=unit.id, token_hash=secrets.token_hex(32))
            )
    session.commit()
    return jurisdiction.id, wave.id


def test_team_a_and_team_dash_a_get_their_own_files_in_the_folder_and_the_zip(
    session: Session, tmp_path: Path
) -> None:
    _, wave_id = _jurisdiction(session, "elm-names", {"Team A": 6, "Team-A": 7})
    written = write_wave_reports(session, wave_id, tmp_path / "cli")
    names = sorted(p.name for p in written)
    assert len(names) == len(set(names)) == 4, names
    assert all(n.startswith("elm-names-2026-") for n in names)
    teams = [n for n in names if "office-x__team-a" in n]
    assert len(teams) == 2
    # Each file holds its own team's report (nothing was overwritten).
    titles = set()
    for name in teams:
        reader = PdfReader(io.BytesIO((tmp_path / "cli" / name).read_bytes()))
        titles.add(reader.metadata.title if reader.metadata else None)
    assert titles == {
        "Team A: team safety culture report 2026",
        "Team-A: team safety culture report 2026",
    }

    batch = ReportBatch(wave_id=wave_id, status=BatchStatus.QUEUED, errors=[])
    session.add(batch)
    session.commit()
    done = report_batches.run_batch(session, batch.id, tmp_path / "instance")
    assert done.status == BatchStatus.DONE and done.done == 4
    assert done.file_path is not None
    with zipfile.ZipFile(tmp_path / "instance" / done.file_path) as archive:
        assert sorted(archive.namelist()) == names


def test_hidden_units_are_labelled_with_the_true_reason(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    """Office A, 2026: Team 3 has 2 answers (primary); Team 2 (7) hides to protect it."""
    wave_id = small.waves[2026]
    entries = {e.path: e for e in reports.list_reports(session, wave_id)}
    assert entries["Office A / Team 3"].hidden_reason == "too_few"
    assert entries["Office A / Team 2"].hidden_reason == "protects_smaller"

    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    page = client.get("/reports").get_data(as_text=True)
    this_year = " ".join(page.split("survey 2025")[0].split())
    # The home is a tree: a hidden team is named once, under its office, with why.
    line_3 = next(li for li in this_year.split("<li>") if 'tree-hidden-name">Team 3<' in li)
    line_2 = next(li for li in this_year.split("<li>") if 'tree-hidden-name">Team 2<' in li)
    assert "fewer than 5 answers" in line_3
    assert "fewer than 5" not in line_2 and "hidden so that a smaller group" in line_2

    ctx = reports.build_context(session, wave_id, small.units["Office A"])
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(render_pdf(ctx))).pages
    )
    assert "Team 3 fewer than 5 answers — included in Office A" in text
    assert (
        "Team 2 hidden so that a smaller group cannot be worked out — included in Office A" in text
    )
    assert "Team 2 fewer than" not in text


def test_nothing_says_counted_above_when_nothing_is_above(session: Session) -> None:
    _, wave_id = _jurisdiction(session, "elm-root", {"Team A": 3}, not_answering=4)
    board = waves.dashboard(session, None, wave_id)
    rows = {row.path: row for row in board.units}
    root, team = rows[""], rows["Office X / Team A"]
    assert root.answered is None and root.hidden_reason == "too_few"
    assert not root.counted_above
    assert team.answered is None and team.counted_above


@pytest.mark.parametrize(
    ("comment", "gone", "kept"),
    [
        ("Supervisor Maria Lopez ignored my safety report", ("Maria", "Lopez"), "Supervisor"),
        ("I told my supervisor Dan about it", ("Dan",), "supervisor"),
        ("Maria Lopez ignored the threats.", ("Maria", "Lopez"), "ignored the threats"),
        ("Ms. O'Neil said no.", ("O'Neil",), "said no"),
        ("The Family Court in Office A moved the hearing", (), "Family Court"),
    ],
)
def test_comment_masking_removes_names_it_can_detect(
    comment: str, gone: tuple[str, ...], kept: str
) -> None:
    masked = reports.mask_identifiers(comment)
    assert all(word not in masked for word in gone), masked
    assert kept in masked
    if gone:
        assert "[name removed]" in masked


def test_the_pdf_promises_only_what_masking_does(
    session: Session, small: SmallJurisdiction
) -> None:
    ctx = reports.build_context(session, small.waves[2026], small.units[""])
    assert ctx.comments
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(render_pdf(ctx))).pages
    )
    assert "names and identifying details removed" not in text
    assert "A first name on its own or other details may remain" in text


def _text(ctx: object) -> str:
    pdf = render_pdf(ctx)  # type: ignore[arg-type]
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages)


def test_reverse_keyed_items_are_shown_by_their_safe_answer(
    session: Session, small: SmallJurisdiction
) -> None:
    ctx = reports.build_context(session, small.waves[2026], small.units["Office A / Team 1"])
    reverse = [i for s in ctx.scales for i in s.items if i.reverse]
    assert reverse
    text = _text(ctx)
    assert text.count("(% who disagree — the safe answer)") >= len(reverse)
    assert "(R)" not in text


def test_psychometrics_only_in_the_technical_appendix_of_unit_reports(
    session: Session, small: SmallJurisdiction
) -> None:
    team = _text(
        reports.build_context(session, small.waves[2026], small.units["Office B / Team 1"])
    )
    assert "Alpha" not in team and "ICC(2)" not in team.replace("(ICC(2) below .60)", "")
    unit = _text(reports.build_context(session, small.waves[2026], small.units["Office B"]))
    appendix = unit.index("Technical appendix")
    assert unit.index("How well the scales measure") > appendix
    assert "Alpha" in unit[appendix:] and "Alpha" not in unit[:appendix]
