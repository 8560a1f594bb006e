"""``flask --app wsgi reports build WAVE_ID --out DIR [--unit PATH]``: write a wave's PDFs."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import get_session
from app.i18n import languages
from app.services import report_batches, reports


@click.group("reports", cls=AppGroup, help="PDF reports of a survey wave.")
def reports_group() -> None:
    """Group for the report commands."""


@reports_group.command("build")
@click.argument("wave_id", type=int)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--unit", "unit_path", default=None, help="Only this unit, e.g. 'Region 1 / North'.")
@click.option(
    "--language", default=None, help="Language of the reports (one of LANGUAGES; default: first)."
)
def build(wave_id: int, out_dir: Path, unit_path: str | None, language: str | None) -> None:
    """Write one PDF per shown unit of WAVE_ID into DIR, named by the unit's path.

    Renders in REPORT_WORKERS processes, as the ZIP batches do, and prints each file written in
    the order of the units. A report that fails is named on stderr and the others still build;
    the exit status is then 1 (2 when the build cannot go on: an unknown wave, unit or language,
    or a file that cannot be written).
    """
    chosen = language or languages()[0]
    if chosen not in languages():
        click.echo(f"error: --language: use one of {', '.join(languages())}", err=True)
        raise SystemExit(2)
    session = get_session()
    rendering = report_batches.Rendering(
        what=f"the reports of wave {wave_id}",
        wave_id=wave_id,
        language=chosen,
        page_size=current_app.config["REPORT_PAGE_SIZE"],
        min_jurisdictions=current_app.config["BENCHMARK_MIN_JURISDICTIONS"],
    )
    failed = 0
    try:
        entries = reports.reports_to_build(session, wave_id, unit_path=unit_path)
        session.commit()  # nothing pending before the rendering (it ends read transactions)
        out_dir.mkdir(parents=True, exist_ok=True)
        workers = current_app.config["REPORT_WORKERS"]
        # Closed at once if writing fails (or Ctrl+C), so no worker renders on for nothing.
        with contextlib.closing(
            report_batches.render_reports(session, rendering, entries, workers=workers)
        ) as built:
            for report in built:
                if report.pdf is None:
                    failed += 1
                    unit = report.entry.path or report.entry.name
                    reason = " ".join(report.reason.split())  # one line per report
                    click.echo(f"error: {unit}: {reason}", err=True)
                    continue
                # File names are unique within the wave, so no report overwrites another.
                path = out_dir / report.entry.filename
                path.write_bytes(report.pdf)
                click.echo(str(path))
    except (reports.ReportError, OSError) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
    if failed:
        click.echo(f"error: {failed} of {len(entries)} reports could not be built", err=True)
        raise SystemExit(1)
