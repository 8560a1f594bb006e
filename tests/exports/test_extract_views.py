"""The research-extract pages: who sees them, who downloads, who grants stewardship."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Jurisdiction, Role, User
from app.services import sharing, users
from tests.admin.conftest import make_user
from tests.reports.conftest import SmallJurisdiction, login


def _jurisdiction(session: Session, small: SmallJurisdiction) -> Jurisdiction:
    jurisdiction = session.get(Jurisdiction, small.jurisdiction_id)
    assert jurisdiction is not None
    return jurisdiction


@pytest.fixture
def research(session: Session, small: SmallJurisdiction) -> SmallJurisdiction:
    sharing.set_level(session, None, small.waves[2026], "research_extract", reference="DSA-9")
    return small


def _admins(session: Session, small: SmallJurisdiction) -> tuple[User, User]:
    lake = _jurisdiction(session, small)
    steward = make_user(session, "steward@lake.example", Role.JURISDICTION_ADMIN, lake)
    plain = make_user(session, "admin@lake.example", Role.JURISDICTION_ADMIN, lake)
    users.set_data_steward(session, plain, steward.id, True)
    return steward, plain


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_steward_downloads_each_format_as_a_zip(
    app: Flask, session: Session, research: SmallJurisdiction
) -> None:
    _admins(session, research)
    client = app.test_client()
    login(client, "steward@lake.example")
    page = client.get("/exports/extracts").get_data(as_text=True)
    wave = research.waves[2026]
    for fmt, data_file in (("csv", "extract.csv"), ("sav", "extract.sav"), ("dta", "extract.dta")):
        assert f"/exports/extracts/{wave}/{fmt}.zip" in page
        response = client.get(f"/exports/extracts/{wave}/{fmt}.zip")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.mimetype == "application/zip"
        assert response.headers["Cache-Control"] == "no-store"
        names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
        assert f"lake-reports-2026-research-extract-{fmt}/{data_file}" in names
    # 2025 has no research agreement: no link, and asking anyway is refused and audited.
    assert f"/exports/extracts/{research.waves[2025]}/csv.zip" not in page
    refused = client.get(f"/exports/extracts/{research.waves[2025]}/csv.zip")
    assert refused.status_code == 403
    assert "research extract" in refused.get_data(as_text=True)
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("extract.%")).order_by(AuditEvent.id)
    ).all()
    assert actions == ["extract.export"] * 3 + ["extract.denied"]


def test_non_steward_administrator_and_leader_cannot_download(
    app: Flask, session: Session, research: SmallJurisdiction
) -> None:
    _admins(session, research)
    client = app.test_client()
    login(client, "admin@lake.example")
    page = client.get("/exports/extracts").get_data(as_text=True)
    assert "You are not a data steward" in page
    assert ".zip" not in page
    wave = research.waves[2026]
    assert client.get(f"/exports/extracts/{wave}/csv.zip").status_code == 404
    assert client.get(f"/exports/extracts/{wave}/xls.zip").status_code == 404
    denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "extract.denied")).all()
    assert [e.actor for e in denied] == ["admin@lake.example"]


def test_administrator_grants_another_and_cannot_grant_itself(
    app: Flask, session: Session, research: SmallJurisdiction
) -> None:
    steward, plain = _admins(session, research)
    client = app.test_client()
    login(client, "steward@lake.example")
    page = client.get("/exports/extracts").get_data(as_text=True)
    assert f"/exports/stewards/{steward.id}" not in page  # no button for oneself
    token = _csrf(page)
    response = client.post(
        f"/exports/stewards/{plain.id}", data={"csrf_token": token, "steward": "1"}
    )
    assert response.status_code == 302
    session.refresh(plain)
    assert plain.data_steward
    own = client.post(f"/exports/stewards/{steward.id}", data={"csrf_token": token, "steward": "0"})
    assert own.status_code == 403
    session.refresh(steward)
    assert steward.data_steward
    bad = client.post(f"/exports/stewards/{plain.id}", data={"csrf_token": token, "steward": "x"})
    assert bad.status_code == 302
    follow = client.get("/exports/extracts").get_data(as_text=True)
    assert "choose whether the account is a data steward" in follow


def test_cli_writes_the_extract_into_a_private_folder(
    app: Flask, session: Session, research: SmallJurisdiction, tmp_path: Path
) -> None:
    out = tmp_path / "extract"
    runner = app.test_cli_runner()
    result: Result = runner.invoke(
        args=["export", "extract", str(research.waves[2026]), "--format", "sav", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(
        ["README.txt", "background.csv", "codebook.csv", "extract.sav", "units.csv"]
    )
    assert all((p.stat().st_mode & 0o077) == 0 for p in out.iterdir())
    refused = runner.invoke(
        args=["export", "extract", str(research.waves[2025]), "--out", str(tmp_path / "x")]
    )
    assert refused.exit_code == 2
    assert "research extract" in refused.output
    assert not (tmp_path / "x").exists()
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("extract.%")).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.actor) for e in events] == [
        ("extract.export", "cli"),
        ("extract.denied", "cli"),
    ]


def test_cli_grants_stewardship(app: Flask, session: Session, small: SmallJurisdiction) -> None:
    admin = make_user(
        session, "only@lake.example", Role.JURISDICTION_ADMIN, _jurisdiction(session, small)
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export", "steward", "ONLY@lake.example"])
    assert result.exit_code == 0, result.output
    session.refresh(admin)
    assert admin.data_steward
    result = runner.invoke(args=["export", "steward", "nobody@lake.example"])
    assert result.exit_code == 2 and "no account" in result.output
