"""``flask --app wsgi reports build WAVE_ID --out DIR [--unit PATH]``: write a wave's PDFs."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import get_session
from app.i18n import languages
from app.reporting import ReportRenderError
from app.services import reports


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
    """Write one PDF per shown unit of WAVE_ID into DIR, named by the unit's path."""
    chosen = language or languages()[0]
    if chosen not in languages():
        click.echo(f"error: --language: use one of {', '.join(languages())}", err=True)
        raise SystemExit(2)
    try:
        written = reports.build_wave_reports(
            get_session(),
            wave_id,
            out_dir,
            unit_path=unit_path,
            page_size=current_app.config["REPORT_PAGE_SIZE"],
            min_jurisdictions=current_app.config["BENCHMARK_MIN_JURISDICTIONS"],
            language=chosen,
        )
    except (reports.ReportError, ReportRenderError, OSError) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
    for path in written:
        click.echo(str(path))
