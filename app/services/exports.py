"""Report figures as CSV and XLSX: the same report context as the PDF, nothing more.

A leader's or administrator's export of one unit's report is built from
:func:`app.services.reports.build_context` — the context the PDF is rendered from, itself read
from the wave's publication — so it cannot hold a number the PDF does not. Column names are
stable machine keys (English); text from data (unit names, item wording, comments) is in the
report's language.

**Spreadsheet formulas.** A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is run as a formula by Excel, LibreOffice and Google Sheets when the file is opened. Text
cells (never numbers) that start so are written as text: in CSV with a leading apostrophe, in
XLSX as a string cell marked "quote prefix", so neither a unit name nor a comment runs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from openpyxl import Workbook
from sqlalchemy.orm import Session

from app.i18n import lazy_message as _l
from app.models import OrgUnit, User, Wave
from app.reporting import ReportContext
from app.reporting.context import Benchmark, ScaleSummary
from app.services import access, audit
from app.services.reports.context import build_context
from app.services.reports.listing import report_filenames
from app.services.reports.publication import wave_results

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
Value = str | int | float | bool | None

MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: First characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class ExportError(Exception):
    """An export that cannot be made (bad format); the message says why."""


@dataclass(frozen=True)
class Table:
    """One sheet of an export: a name, column keys and rows of plain values."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Value, ...], ...]


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    mimetype: str


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """Text a spreadsheet shows as written: a leading apostrophe where it would be a formula."""
    return "'" + text if is_formula_like(text) else text


# --- the tables of one report -------------------------------------------------------------


def _low(iv: tuple[float, float] | None) -> float | None:
    return None if iv is None else iv[0]


def _high(iv: tuple[float, float] | None) -> float | None:
    return None if iv is None else iv[1]


def _report_table(ctx: ReportContext) -> Table:
    facts: list[tuple[str, Value]] = [
        ("jurisdiction", ctx.jurisdiction_name),
        ("unit", ctx.unit_name),
        ("unit_kind", ctx.unit_kind),
        ("report_kind", ctx.kind),
        ("units_above", " / ".join(reversed(ctx.parent_path))),
        ("wave_year", ctx.wave_year),
        ("previous_year", ctx.previous_year),
        ("responses", ctx.responses),
        ("invited", ctx.invited),
        ("response_rate", ctx.response_rate),
        ("min_report_n", ctx.min_report_n),
        ("comment_min_n", ctx.comment_min_n),
        ("benchmark_min_jurisdictions", ctx.benchmark_min_jurisdictions),
        ("excluded_straightlining", ctx.excluded_straightlining),
        ("excluded_blank", ctx.excluded_blank),
        ("excluded_comment_only", ctx.excluded_comment_only),
        ("jurisdiction_benchmark_note", ctx.jurisdiction_benchmark_note),
        ("national_benchmark_note", ctx.national_benchmark_note),
        ("generated_on", ctx.generated_on.isoformat()),
        ("language", ctx.language),
        ("scoring_version", ctx.scoring_version),
    ]
    return Table("report", tuple(k for k, _ in facts), (tuple(v for _, v in facts),))


_SCALE_COLUMNS = (
    "scale",
    "title",
    "higher_is_better",
    "hidden_reason",
    "n",
    "pct_positive",
    "pct_neutral",
    "pct_negative",
    "pct_positive_ci_low",
    "pct_positive_ci_high",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "percentile_jurisdiction",
    "percentile_national",
    "rwg_j",
    "agreement_shown",
    "low_agreement",
    "differences_unreliable",
    "trend_previous_year",
    "trend_delta_points",
    "trend_ci_low",
    "trend_ci_high",
    "trend_meaningful",
    "trend_note",
)


def _scale_row(s: ScaleSummary) -> tuple[Value, ...]:
    t = s.trend
    return (
        s.key,
        s.title,
        s.higher_is_better,
        s.hidden_reason,
        s.n,
        s.pct_positive,
        s.pct_neutral,
        s.pct_negative,
        _low(s.pct_ci),
        _high(s.pct_ci),
        s.mean,
        _low(s.ci),
        _high(s.ci),
        s.percentile_jurisdiction,
        s.percentile_national,
        s.rwg_j,
        s.agreement_shown,
        s.low_agreement,
        s.differences_unreliable,
        None if t is None else t.previous_year,
        None if t is None else t.delta_points,
        None if t is None else _low(t.interval),
        None if t is None else _high(t.interval),
        None if t is None else t.meaningful,
        s.trend_note,
    )


def _benchmark_row(
    scale: str, group: str, b: Benchmark | None, note: str | None
) -> tuple[Value, ...]:
    if b is None:
        return (scale, group, None, None, None, None, None, None, None, note)
    return (scale, group, b.p10, b.p25, b.p50, b.p75, b.p90, b.n_teams, b.n_jurisdictions, note)


def report_tables(ctx: ReportContext) -> tuple[Table, ...]:
    """Every figure of one report's context, as tables (hidden figures are blank)."""
    scales = Table("scales", _SCALE_COLUMNS, tuple(_scale_row(s) for s in ctx.scales))
    benchmarks = Table(
        "benchmarks",
        ("scale", "group", "p10", "p25", "p50", "p75", "p90", "n_units", "n_jurisdictions", "note"),
        tuple(
            row
            for s in ctx.scales
            for row in (
                _benchmark_row(
                    s.key, "jurisdiction", s.jurisdiction_benchmark, s.jurisdiction_benchmark_note
                ),
                _benchmark_row(s.key, "national", s.national_benchmark, s.national_benchmark_note),
            )
        ),
    )
    items = Table(
        "items",
        (
            "scale",
            "item",
            "text",
            "reverse",
            "n",
            "pct_negative",
            "pct_neutral",
            "pct_positive",
            "jurisdiction_pct_positive",
            "national_pct_positive",
        ),
        tuple(
            (
                i.scale_key,
                i.key,
                i.text,
                i.reverse,
                i.n,
                i.pct_negative,
                i.pct_neutral,
                i.pct_positive,
                i.jurisdiction_pct_positive,
                i.national_pct_positive,
            )
            for s in ctx.scales
            for i in s.items
        ),
    )
    highlights = Table(
        "highlights",
        ("kind", "scale", "item", "pct_positive"),
        tuple(
            (kind, i.scale_key, i.key, i.pct_positive)
            for kind, chosen in (("strength", ctx.strengths), ("opportunity", ctx.opportunities))
            for i in chosen
        ),
    )
    tables = [_report_table(ctx), scales, benchmarks, items, highlights]
    if ctx.kind == "unit":
        rates = {r.unit_name: r for r in ctx.response_rates}
        scale_keys = tuple(s.key for s in ctx.scales)
        unit_rows = []
        for child in ctx.children:
            rate = rates.get(child.unit_name)
            pct = {c.scale_key: c.pct_positive for c in child.cells}
            unit_rows.append(
                (
                    child.unit_name,
                    child.included_in,
                    child.reason if child.suppressed else None,
                    None if rate is None else rate.responses,
                    None if rate is None else rate.invited,
                    None if rate is None else rate.response_rate,
                    *(pct.get(k) for k in scale_keys),
                )
            )
        tables.append(
            Table(
                "units",
                (
                    "unit",
                    "included_in",
                    "hidden_reason",
                    "responses",
                    "invited",
                    "response_rate",
                    *(f"pct_positive_{k}" for k in scale_keys),
                ),
                tuple(unit_rows),
            )
        )
        tables.append(
            Table(
                "psychometrics",
                (
                    "scale",
                    "title",
                    "status",
                    "n_complete",
                    "alpha",
                    "omega",
                    "alpha_flag",
                    "icc1",
                    "icc2",
                    "icc2_low",
                ),
                tuple(
                    (
                        p.scale_key,
                        p.title,
                        p.status,
                        p.n_complete,
                        p.alpha,
                        p.omega,
                        p.alpha_flag,
                        p.icc1,
                        p.icc2,
                        p.icc2_low,
                    )
                    for p in ctx.psychometrics
                ),
            )
        )
    if ctx.comments:
        tables.append(
            Table(
                "comments",
                ("question", "comment"),
                tuple((ctx.comment_question, c) for c in ctx.comments),
            )
        )
    return tuple(tables)


# --- writers --------------------------------------------------------------------------------


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(value)


def to_csv(tables: Sequence[Table]) -> bytes:
    """One long CSV: ``table, row, column, value`` — one line per cell, blanks left out.

    ``row`` numbers the rows of each table from 1; a table's rows keep the report's order.
    UTF-8 with a byte-order mark, so spreadsheet programs read accents right.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("table", "row", "column", "value"))
    for table in tables:
        for number, row in enumerate(table.rows, start=1):
            for column, value in zip(table.columns, row, strict=True):
                if value is None:
                    continue
                writer.writerow((table.name, number, column, _csv_value(value)))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: Sequence[Table]) -> bytes:
    """One sheet per table, a header row of column keys; text never runs as a formula."""
    book = Workbook()
    first = True
    for table in tables:
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None  # a new workbook has one sheet
        first = False
        sheet.title = table.name
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append([None] * len(row))
            r = sheet.max_row
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = sheet.cell(row=r, column=c)
                if isinstance(value, str):
                    # Assigning a string that starts with "=" makes openpyxl write a formula.
                    cell.value = value
                    cell.data_type = "s"
                    if is_formula_like(value):
                        cell.quotePrefix = True
                else:
                    cell.value = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- the audited download -------------------------------------------------------------------


def export_report(
    session: Session,
    user: User,
    wave_id: int,
    unit_id: int,
    fmt: str,
    *,
    min_jurisdictions: int = 5,
    today: date | None = None,
) -> ExportFile:
    """One unit's report figures for a signed-in user: the PDF's scope rule, audited, commits.

    Raises ``ExportError`` (format), ``access.PermissionDenied`` (out of scope or unknown look
    the same; the refusal is audited and committed) and what ``build_context`` raises
    (``UnitSuppressed``, ``NoResponses``, ``UnknownWave``).
    """
    if fmt not in FORMATS:
        raise ExportError(
            _l(
                "format: %(format)s is not one of %(choices)s",
                format=repr(fmt),
                choices=", ".join(FORMATS),
            )
        )
    wave = session.get(Wave, wave_id)
    unit = session.get(OrgUnit, unit_id)
    if (
        wave is None
        or unit is None
        or unit.jurisdiction_id != wave.jurisdiction_id
        or not access.can_read_unit(user, unit)
    ):
        audit.record(
            session,
            user,
            "export.denied",
            f"report export wave {wave_id} / unit {unit_id}",
            jurisdiction_id=None if wave is None else wave.jurisdiction_id,
            wave_id=wave_id,
            unit_id=unit_id,
            format=fmt,
        )
        session.commit()
        raise access.PermissionDenied(_l("no such report"))
    ctx = build_context(session, wave_id, unit_id, min_jurisdictions=min_jurisdictions, today=today)
    tables = report_tables(ctx)
    data = to_csv(tables) if fmt == "csv" else to_xlsx(tables)
    audit.record(
        session,
        user,
        "report.export",
        f"wave {wave_id} / {unit.path or unit.name}",
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave_id,
        unit_id=unit_id,
        format=fmt,
    )
    session.commit()
    stem = report_filenames(wave_results(session, wave_id))[unit_id].removesuffix(".pdf")
    return ExportFile(f"{stem}.{fmt}", data, MIMETYPES[fmt])
