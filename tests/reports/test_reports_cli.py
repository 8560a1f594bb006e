"""``flask reports build`` renders in the ZIP batches' worker pool: same files, failures named."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app.reporting import ReportContext, ReportRenderError
from app.services import report_batches, reports
from app.services.reports import commands as report_commands
from tests.reports.conftest import SmallJurisdiction
from tests.reports.test_report_batches import CLI_FILES

BROKEN = "Office B / Team 2"
BROKEN_FILE = "lake-reports-2026-office-b__team-2.pdf"


def _build(app: Flask, small: SmallJurisdiction, out: Path, workers: int) -> Result:
    app.config["REPORT_WORKERS"] = workers
    return app.test_cli_runner().invoke(
        args=["reports", "build", str(small.waves[2026]), "--out", str(out)]
    )


def _text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages]


def _pools_started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker counts of the process pools the build starts."""
    started: list[int] = []
    real_pool = report_batches.ProcessPoolExecutor

    def pool(*args: Any, **kwargs: Any) -> Any:
        started.append(kwargs["max_workers"])
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(report_batches, "ProcessPoolExecutor", pool)
    return started


def test_two_workers_write_the_files_one_process_writes_with_the_same_text_in_unit_order(
    app: Flask,
    session: Session,
    small: SmallJurisdiction,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pools = _pools_started(monkeypatch)
    single = _build(app, small, tmp_path / "one", workers=1)
    assert single.exit_code == 0, single.output
    assert pools == []
    pooled = _build(app, small, tmp_path / "two", workers=2)
    assert pooled.exit_code == 0, pooled.output
    assert pools == [2]
    assert pooled.stderr == ""
    in_unit_order = [e.filename for e in reports.reports_to_build(session, small.waves[2026])]
    for result, folder in ((single, "one"), (pooled, "two")):
        lines = result.stdout.splitlines()
        assert lines == [str(tmp_path / folder / name) for name in in_unit_order]
    written = {p.name for p in (tmp_path / "two").iterdir()}
    assert written == {p.name for p in (tmp_path / "one").iterdir()} == CLI_FILES
    for name in sorted(written):
        assert _text(tmp_path / "two" / name) == _text(tmp_path / "one" / name), name


def _break_the_render(monkeypatch: pytest.MonkeyPatch, small: SmallJurisdiction) -> None:
    """In this process: the renderer raises for one team."""
    real_render = report_commands.render_pdf

    def render(ctx: ReportContext) -> bytes:
        if (ctx.parent_path[:1], ctx.unit_name) == (("Office B",), "Team 2"):
            raise ReportRenderError("the font for this report is missing")
        return real_render(ctx)

    monkeypatch.setattr(report_commands, "render_pdf", render)


def _break_in_the_worker(monkeypatch: pytest.MonkeyPatch, small: SmallJurisdiction) -> None:
    """A worker process cannot be patched from here: it gets a context it cannot render."""
    real_build = reports.build_context

    def build(session: Session, wave_id: int, unit_id: int, **kwargs: Any) -> ReportContext:
        ctx = real_build(session, wave_id, unit_id, **kwargs)
        return replace(ctx, language="xx") if unit_id == small.units[BROKEN] else ctx

    monkeypatch.setattr(reports, "build_context", build)


def _break_the_context(monkeypatch: pytest.MonkeyPatch, small: SmallJurisdiction) -> None:
    """The context, built in this process before the worker renders it, raises (a bug)."""
    real_build = reports.build_context

    def build(session: Session, wave_id: int, unit_id: int, **kwargs: Any) -> ReportContext:
        if unit_id == small.units[BROKEN]:
            raise ZeroDivisionError("division by zero")
        return real_build(session, wave_id, unit_id, **kwargs)

    monkeypatch.setattr(reports, "build_context", build)


@pytest.mark.parametrize(
    ("workers", "breaks", "reason"),
    [
        (1, _break_the_render, "the font for this report is missing"),
        (2, _break_in_the_worker, "no report wording in language 'xx'"),
        (2, _break_the_context, "ZeroDivisionError: division by zero"),
    ],
    ids=["in-process", "in-a-worker", "context-before-the-worker"],
)
def test_a_report_that_fails_is_named_and_the_others_are_still_written(
    app: Flask,
    small: SmallJurisdiction,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    breaks: Any,
    reason: str,
) -> None:
    breaks(monkeypatch, small)
    out = tmp_path / "pdfs"
    result = _build(app, small, out, workers=workers)
    assert result.exit_code == 1, result.output
    named, summary = result.stderr.splitlines()
    assert named.startswith(f"error: {BROKEN}: ") and reason in named
    assert summary == "error: 1 of 7 reports could not be built"
    expected = CLI_FILES - {BROKEN_FILE}
    assert {p.name for p in out.iterdir()} == expected
    assert {Path(line).name for line in result.stdout.splitlines()} == expected
    assert all(p.read_bytes().startswith(b"%PDF") for p in out.iterdir())


def test_a_file_that_cannot_be_written_stops_the_build_with_status_2(
    app: Flask, session: Session, small: SmallJurisdiction, tmp_path: Path
) -> None:
    out = tmp_path / "pdfs"
    (out / BROKEN_FILE).mkdir(parents=True)  # a folder where the PDF would go
    result = _build(app, small, out, workers=2)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and BROKEN_FILE in result.stderr
    in_unit_order = [e.filename for e in reports.reports_to_build(session, small.waves[2026])]
    before = in_unit_order[: in_unit_order.index(BROKEN_FILE)]
    assert [Path(line).name for line in result.stdout.splitlines()] == before
    assert {p.name for p in out.iterdir()} == {*before, BROKEN_FILE}
