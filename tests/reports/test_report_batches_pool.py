"""A wave's ZIP rendered by a pool of worker processes: the same files, failures still listed."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import BatchStatus, ReportBatch, User
from app.reporting import ReportContext, render_pdf
from app.services import report_batches, reports
from app.services.reports import commands as report_commands
from tests.reports.conftest import SmallJurisdiction
from tests.reports.test_report_batches import CLI_FILES, _make_admin


def _build(session: Session, small: SmallJurisdiction, tmp_path: Path, workers: int) -> ReportBatch:
    user = _admin(session, small)
    batch = report_batches.request_batch(session, user, small.waves[2026])
    return report_batches.run_batch(session, batch.id, tmp_path, workers=workers)


def _admin(session: Session, small: SmallJurisdiction) -> User:
    found = session.scalars(select(User).where(User.email == "admin@lake.example")).first()
    return found or _make_admin(session, "admin@lake.example", small.jurisdiction_id)


def _zip(tmp_path: Path, batch: ReportBatch) -> zipfile.ZipFile:
    assert batch.file_path
    return zipfile.ZipFile(tmp_path / batch.file_path)


def _text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_two_worker_processes_build_the_files_one_process_builds_in_the_same_order(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pooled = _build(session, small, tmp_path, workers=2)
    assert (pooled.status, pooled.done, pooled.total, pooled.failed_count) == (
        BatchStatus.DONE,
        7,
        7,
        0,
    )
    # The in-process build, with a stand-in renderer: only its file order is compared.
    monkeypatch.setattr(
        report_commands, "render_pdf", lambda ctx: b"%PDF " + ctx.unit_name.encode()
    )
    single = _build(session, small, tmp_path, workers=1)
    assert single.status == BatchStatus.DONE and single.id != pooled.id
    entries = {e.filename: e for e in reports.reports_to_build(session, small.waves[2026])}
    with _zip(tmp_path, pooled) as a, _zip(tmp_path, single) as b:
        assert set(a.namelist()) == CLI_FILES
        assert a.namelist() == b.namelist()
        # A worker's PDF reads as this process's rendering of the same unit (agency, team).
        for name in (a.namelist()[0], a.namelist()[-1]):
            ctx = reports.build_context(session, small.waves[2026], entries[name].unit_id)
            assert _text(a.read(name)) == _text(render_pdf(ctx)), name


def test_a_report_that_fails_in_a_worker_is_listed_with_its_reason_and_the_others_zipped(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_build = reports.build_context
    broken: list[str] = []

    def build(*args: Any, **kwargs: Any) -> ReportContext:
        ctx = real_build(*args, **kwargs)
        if ctx.kind == "team" and not broken:
            broken.append(ctx.unit_name)
            return replace(ctx, language="xx")  # the worker has no wording for it
        return ctx

    monkeypatch.setattr(reports, "build_context", build)
    batch = _build(session, small, tmp_path, workers=2)
    assert (batch.status, batch.done, batch.failed_count) == (BatchStatus.FAILED, 6, 1)
    assert len(batch.errors) == 1
    assert "no report wording in language 'xx'" in batch.errors[0]["reason"]
    with _zip(tmp_path, batch) as archive:
        assert len(archive.namelist()) == 6
        assert all(archive.read(name).startswith(b"%PDF") for name in archive.namelist())


def test_a_spanish_batch_built_by_worker_processes_renders_spanish_reports(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_build = reports.build_context
    languages: list[str] = []

    def build(*args: Any, **kwargs: Any) -> ReportContext:
        ctx = real_build(*args, **kwargs)
        languages.append(ctx.language)
        return ctx

    monkeypatch.setattr(reports, "build_context", build)
    user = _admin(session, small)
    requested = report_batches.request_batch(session, user, small.waves[2026], language="es")
    batch = report_batches.run_batch(session, requested.id, tmp_path, workers=2)
    assert (batch.status, batch.done) == (BatchStatus.DONE, 7)
    assert languages == ["es"] * 7
