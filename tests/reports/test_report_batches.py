"""All of a wave's reports as one ZIP: built through the job queue, progress, failures, scope."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    BatchStatus,
    Jurisdiction,
    ReportBatch,
    Role,
    User,
    Wave,
    WaveStatus,
)
from app.reporting import ReportContext, ReportRenderError
from app.services import report_batches, reports
from app.services.reports import commands as report_commands
from tests.reports.conftest import PASSWORD, SmallJurisdiction, login, make_leader

#: What ``flask reports build`` writes for the 2026 wave (tests/reports/test_report_views.py).
CLI_FILES = {
    "lake-reports-2026-agency.pdf",
    "lake-reports-2026-office-a.pdf",
    "lake-reports-2026-office-a__team-1.pdf",
    "lake-reports-2026-office-b.pdf",
    "lake-reports-2026-office-b__team-1.pdf",
    "lake-reports-2026-office-b__team-2.pdf",
    "lake-reports-2026-office-b__team-3.pdf",
}


def _make_admin(session: Session, email: str, jurisdiction_id: int) -> User:
    from app.services.users import hash_password

    user = User(
        email=email,
        password_hash=hash_password(PASSWORD),
        role=Role.JURISDICTION_ADMIN,
        jurisdiction_id=jurisdiction_id,
        active=True,
        failed_logins=0,
    )
    session.add(user)
    session.commit()
    return user


def _admin_client(app: Flask, session: Session, small: SmallJurisdiction) -> FlaskClient:
    _make_admin(session, "admin@lake.example", small.jurisdiction_id)
    client = app.test_client()
    login(client, "admin@lake.example")
    return client


def _request_zip(client: FlaskClient, wave_id: int) -> str:
    """Press "Build all reports (ZIP)" on the wave page; return the batch page's URL."""
    page = client.get(f"/admin/waves/{wave_id}").get_data(as_text=True)
    assert "Build all reports (ZIP)" in page
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match
    response = client.post(
        f"/admin/waves/{wave_id}/reports-zip", data={"csrf_token": match.group(1)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert re.search(r"/admin/report-batches/\d+$", location)
    return location


def _batch_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def _download(client: FlaskClient, batch_url: str) -> zipfile.ZipFile:
    response = client.get(batch_url + "/download")
    try:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        assert response.mimetype == "application/zip"
        assert "lake-reports-2026-reports.zip" in response.headers["Content-Disposition"]
        return zipfile.ZipFile(io.BytesIO(response.get_data()))
    finally:
        response.close()


def _fake_render(fail: Callable[[ReportContext], None] | None = None) -> Callable[..., bytes]:
    """A fast stand-in for WeasyPrint that can fail for chosen units."""

    def render(ctx: ReportContext) -> bytes:
        if fail is not None:
            fail(ctx)
        return b"%PDF-1.7 stand-in for " + ctx.unit_name.encode()

    return render


def test_batch_zip_holds_the_cli_files_with_progress_committed_per_report(
    app: Flask, session: Session, small: SmallJurisdiction, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _admin_client(app, session, small)
    real_render = report_commands.render_pdf
    seen_progress: list[int] = []

    def render_and_look(ctx: ReportContext) -> bytes:
        # What the status page would read right now, from another session.
        running = session.scalars(
            select(ReportBatch).execution_options(populate_existing=True)
        ).one()
        seen_progress.append(running.done)
        assert running.status == BatchStatus.RUNNING
        return real_render(ctx)

    monkeypatch.setattr(report_commands, "render_pdf", render_and_look)
    batch_url = _request_zip(client, small.waves[2026])

    assert seen_progress == list(range(len(CLI_FILES)))
    page = client.get(batch_url).get_data(as_text=True)
    assert '<progress id="batch-progress" value="7" max="7">' in page
    assert "7 of 7" in page and "done" in page
    assert 'http-equiv="refresh"' not in page  # finished: stop refreshing
    archive = _download(client, batch_url)
    assert set(archive.namelist()) == CLI_FILES
    assert {e.filename for e in reports.reports_to_build(session, small.waves[2026])} == CLI_FILES
    assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())
    batch = session.get(ReportBatch, _batch_id(batch_url), populate_existing=True)
    assert batch is not None
    assert (batch.status, batch.done, batch.total, batch.failed_count) == (
        BatchStatus.DONE,
        7,
        7,
        0,
    )
    assert batch.finished_at is not None and batch.finished_at.tzinfo is not None
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "reports.zip.download")
    ).all()
    assert [(e.actor, e.detail["batch_id"]) for e in events] == [("admin@lake.example", batch.id)]
    assert events[0].jurisdiction_id == small.jurisdiction_id


def test_a_report_that_fails_is_listed_with_its_reason_and_the_others_are_zipped(
    app: Flask, session: Session, small: SmallJurisdiction, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(ctx: ReportContext) -> None:
        if ctx.unit_name == "Office B":
            raise ReportRenderError("font 'Source Sans 3' is not installed")
        if ctx.unit_name == "Team 2":
            raise RuntimeError("template bug")

    monkeypatch.setattr(report_commands, "render_pdf", _fake_render(fail))
    client = _admin_client(app, session, small)
    batch_url = _request_zip(client, small.waves[2026])

    page = client.get(batch_url).get_data(as_text=True)
    assert "failed" in page and "7 of 7" in page and "(2 failed)" in page
    assert "Office B" in page and "font &#39;Source Sans 3&#39; is not installed" in page
    assert "Office B / Team 2" in page and "RuntimeError: template bug" in page
    assert "Download the ZIP (5 reports; 2 missing" in page
    archive = _download(client, batch_url)
    assert set(archive.namelist()) == CLI_FILES - {
        "lake-reports-2026-office-b.pdf",
        "lake-reports-2026-office-b__team-2.pdf",
    }
    batch = session.get(ReportBatch, _batch_id(batch_url), populate_existing=True)
    assert batch is not None and batch.status == BatchStatus.FAILED
    assert [e["unit"] for e in batch.errors] == ["Office B", "Office B / Team 2"]


def test_running_page_refreshes_itself_and_shows_progress(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    client = _admin_client(app, session, small)
    batch = ReportBatch(
        wave_id=small.waves[2026],
        status=BatchStatus.RUNNING,
        total=140,
        done=11,
        failed_count=1,
        errors=[{"unit": "Office A", "reason": "template error"}],
        started_at=datetime.now(UTC),
    )
    session.add(batch)
    session.commit()
    page = client.get(f"/admin/report-batches/{batch.id}").get_data(as_text=True)
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress id="batch-progress" value="12" max="140">' in page
    assert "12 of 140" in page and "template error" in page
    assert "/download" not in page
    assert "<script" not in page and "style=" not in page  # the CSP forbids both
    response = client.get(f"/admin/report-batches/{batch.id}/download")
    assert response.status_code == 302  # not ready: back to the status page
    assert not session.scalars(
        select(AuditEvent).where(AuditEvent.action == "reports.zip.download")
    ).all()


def test_a_wave_without_responses_fails_with_the_reason(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    template = session.get(Wave, small.waves[2026])
    assert template is not None
    empty = Wave(
        jurisdiction_id=small.jurisdiction_id,
        instrument_id=template.instrument_id,
        year=2027,
        opens_at=datetime(2027, 11, 1, tzinfo=UTC),
        closes_at=datetime(2027, 12, 1, tzinfo=UTC),
        status=WaveStatus.OPEN,
    )
    session.add(empty)
    session.commit()
    client = _admin_client(app, session, small)
    batch_url = _request_zip(client, empty.id)
    page = client.get(batch_url).get_data(as_text=True)
    assert "The batch stopped:" in page and "has no responses yet" in page
    assert "/download" not in page


def test_a_job_that_runs_twice_builds_nothing_twice(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(report_commands, "render_pdf", _fake_render())
    admin = _make_admin(session, "admin@lake.example", small.jurisdiction_id)
    batch = report_batches.request_batch(session, admin, small.waves[2026])
    assert report_batches.request_batch(session, admin, small.waves[2026]).id == batch.id
    first = report_batches.run_batch(session, batch.id, tmp_path)
    assert (first.status, first.done) == (BatchStatus.DONE, 7)
    finished_at = first.finished_at

    def must_not_render(ctx: ReportContext) -> bytes:
        raise AssertionError("rendered again")

    monkeypatch.setattr(report_commands, "render_pdf", must_not_render)
    again = report_batches.run_batch(session, batch.id, tmp_path)
    assert (again.status, again.done, again.finished_at) == (BatchStatus.DONE, 7, finished_at)
    assert report_batches.request_batch(session, admin, small.waves[2026]).id != batch.id


def test_other_jurisdictions_admin_leader_and_national_can_neither_request_nor_download(
    app: Flask, session: Session, small: SmallJurisdiction, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services.users import hash_password

    monkeypatch.setattr(report_commands, "render_pdf", _fake_render())
    admin_client = _admin_client(app, session, small)
    batch_url = _request_zip(admin_client, small.waves[2026])
    hill = Jurisdiction(name="Hill County", slug="hill-reports")
    session.add(hill)
    session.commit()
    _make_admin(session, "admin@hill.example", hill.id)
    make_leader(session, small, "lead@lake.example", "")  # the whole agency, still no ZIP
    session.add(
        User(
            email="nat@example.org",
            password_hash=hash_password(PASSWORD),
            role=Role.NATIONAL,
            active=True,
            failed_logins=0,
        )
    )
    session.commit()
    wave_id = small.waves[2026]
    before = session.scalars(select(ReportBatch)).all()
    for email in ("admin@hill.example", "lead@lake.example", "nat@example.org"):
        client = app.test_client()
        login(client, email)
        page = client.get("/admin/").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        assert token
        posted = client.post(
            f"/admin/waves/{wave_id}/reports-zip", data={"csrf_token": token.group(1)}
        )
        assert posted.status_code == 403, email
        assert client.get(batch_url).status_code == 403, email
        download = client.get(batch_url + "/download")
        assert download.status_code == 403, email
        assert b"PK" not in download.data[:2]
    assert client.get("/admin/report-batches/999999").status_code in (403, 404)
    assert len(session.scalars(select(ReportBatch)).all()) == len(before)
    actors = {
        e.actor
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("reports.zip.%"))
        ).all()
    }
    assert actors == {"admin@lake.example"}  # the request only; nobody downloaded
