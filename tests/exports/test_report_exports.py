"""A report's figures as CSV and XLSX: exactly the PDF context's numbers, formulas as text."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import re
import zipfile
from datetime import date

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Jurisdiction, OrgUnit, Role
from app.reporting import ReportContext
from app.services import exports
from app.services.access import PermissionDenied
from app.services.reports import UnitSuppressed, build_context, clear_cache
from tests.admin.conftest import make_jurisdiction, make_user
from tests.reports.conftest import SmallJurisdiction, login, make_leader

TODAY = date(2026, 12, 15)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?(e[-+]?\d+)?$")
#: Facts that are not figures (an identifier of the scoring code, hex).
_NOT_FIGURES = {"scoring_version"}


def _numbers_of(value: object) -> set[float]:
    """Every number anywhere in a context, found by walking it (independent of the export)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | date):
        return set()
    if isinstance(value, int | float):
        return {float(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: set[float] = set()
        for f in dataclasses.fields(value):
            out |= _numbers_of(getattr(value, f.name))
        return out
    if isinstance(value, tuple | list):
        out = set()
        for v in value:
            out |= _numbers_of(v)
        return out
    raise AssertionError(f"unexpected value in a report context: {value!r}")


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def _csv_numbers(data: bytes) -> set[float]:
    return {
        float(r["value"])
        for r in _csv_rows(data)
        if r["column"] not in _NOT_FIGURES and _NUMBER.match(r["value"])
    }


def _same(found: set[float], expected: set[float]) -> bool:
    """The same numbers to 1e-14 relative: XLSX keeps 16 significant digits (openpyxl).

    Each side must match the other, so a number only one side holds still fails.
    """

    def covered(xs: set[float], ys: list[float]) -> bool:
        return all(any(math.isclose(x, y, rel_tol=1e-14, abs_tol=1e-14) for y in ys) for x in xs)

    return covered(found, sorted(expected)) and covered(expected, sorted(found))


def _xlsx_numbers(data: bytes) -> set[float]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    out = set()
    for sheet in book.worksheets:
        header = [c.value for c in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            for name, cell in zip(header, row, strict=True):
                if isinstance(cell.value, bool) or name in _NOT_FIGURES:
                    continue
                if isinstance(cell.value, int | float):
                    out.add(float(cell.value))
    return out


def _context(session: Session, small: SmallJurisdiction, path: str) -> ReportContext:
    return build_context(session, small.waves[2026], small.units[path], today=TODAY)


@pytest.mark.parametrize("path", ["", "Office A", "Office B / Team 1"])
def test_csv_and_xlsx_hold_exactly_the_numbers_of_the_report_context(
    session: Session, small: SmallJurisdiction, path: str
) -> None:
    ctx = _context(session, small, path)
    expected = _numbers_of(ctx)
    assert len(expected) > 100  # a real report, not an empty one
    tables = exports.report_tables(ctx)
    assert _csv_numbers(exports.to_csv(tables)) == expected
    assert _same(_xlsx_numbers(exports.to_xlsx(tables)), expected)


def test_hidden_team_appears_without_a_single_number(
    session: Session, small: SmallJurisdiction
) -> None:
    ctx = _context(session, small, "Office A")
    hidden = [c.unit_name for c in ctx.children if c.suppressed]
    assert hidden, "the fixture hides a team of Office A"
    rows = _csv_rows(exports.to_csv(exports.report_tables(ctx)))
    units = [r for r in rows if r["table"] == "units"]
    for name in hidden:
        (number,) = {r["row"] for r in units if r["column"] == "unit" and r["value"] == name}
        cells = {r["column"]: r["value"] for r in units if r["row"] == number}
        assert set(cells) == {"unit", "included_in", "hidden_reason"}
        assert cells["included_in"] == "Office A"


def test_suppressed_unit_has_no_export(session: Session, small: SmallJurisdiction) -> None:
    admin = make_user(
        session,
        "admin@lake-reports.example",
        Role.JURISDICTION_ADMIN,
        _jurisdiction(session, small),
    )
    with pytest.raises(UnitSuppressed):
        exports.export_report(
            session, admin, small.waves[2026], small.units["Office A / Team 3"], "csv"
        )


def _jurisdiction(session: Session, small: SmallJurisdiction) -> Jurisdiction:
    jurisdiction = session.get(Jurisdiction, small.jurisdiction_id)
    assert jurisdiction is not None
    return jurisdiction


DANGEROUS = ('=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "＝1+1")


def test_formula_like_text_is_written_as_text(session: Session, small: SmallJurisdiction) -> None:
    ctx = _context(session, small, "Office A")
    ctx = dataclasses.replace(
        ctx,
        unit_name=DANGEROUS[0],
        comments=DANGEROUS,
        comment_question="@question",
        children=tuple(dataclasses.replace(c, unit_name=DANGEROUS[2]) for c in ctx.children),
    )
    tables = exports.report_tables(ctx)
    values = [r["value"] for r in _csv_rows(exports.to_csv(tables))]
    for text in DANGEROUS:
        assert text not in values
        assert "'" + text in values
    assert "'@question" in values
    assert all(not v.startswith(exports.FORMULA_STARTS) for v in values if not _NUMBER.match(v))

    data = exports.to_xlsx(tables)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(
            b"<f>" in archive.read(n) or b"<f " in archive.read(n) for n in sheets
        )
    book = openpyxl.load_workbook(io.BytesIO(data))
    found = {}
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str) and cell.value in DANGEROUS:
                    found[cell.value] = cell.quotePrefix
    # The wording itself is kept, shown as text; "\r" is normalised by the XML reader.
    assert {k for k in found} >= set(DANGEROUS) - {"\rcmd"}
    assert all(found.values())


def test_a_negative_number_stays_a_number(session: Session, small: SmallJurisdiction) -> None:
    ctx = _context(session, small, "Office A")
    deltas = [s.trend.delta_points for s in ctx.scales if s.trend and s.trend.delta_points < 0]
    assert deltas, "the fixture has a scale that went down"
    values = {r["value"] for r in _csv_rows(exports.to_csv(exports.report_tables(ctx)))}
    assert repr(deltas[0]) in values


def test_out_of_scope_export_is_refused_and_audited(
    session: Session, small: SmallJurisdiction
) -> None:
    leader = make_leader(session, small, "lead-a@lake.example", "Office A")
    other = make_jurisdiction(session, "hill-exports", "Hill County")
    outsider = make_user(session, "admin@hill.example", Role.JURISDICTION_ADMIN, other)
    wave = small.waves[2026]
    for user, unit in ((leader, small.units["Office B"]), (leader, small.units[""])):
        with pytest.raises(PermissionDenied):
            exports.export_report(session, user, wave, unit, "csv")
    with pytest.raises(PermissionDenied):
        exports.export_report(session, outsider, wave, small.units["Office A"], "xlsx")
    denied = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.denied").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor, e.detail["unit_id"], e.detail["format"]) for e in denied] == [
        ("lead-a@lake.example", small.units["Office B"], "csv"),
        ("lead-a@lake.example", small.units[""], "csv"),
        ("admin@hill.example", small.units["Office A"], "xlsx"),
    ]
    assert all(e.jurisdiction_id == small.jurisdiction_id for e in denied)
    assert (
        session.scalars(select(AuditEvent).where(AuditEvent.action == "report.export")).all() == []
    )


def test_leader_downloads_csv_and_xlsx_of_a_unit_in_scope(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    wave, unit = small.waves[2026], small.units["Office A / Team 1"]
    response = client.get(f"/exports/reports/{wave}/{unit}.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        'filename="lake-reports-2026-office-a__team-1.csv"'
        in response.headers["Content-Disposition"]
    )
    clear_cache()
    expected = _numbers_of(build_context(session, wave, unit))
    assert _csv_numbers(response.data) == expected
    response = client.get(f"/exports/reports/{wave}/{unit}.xlsx")
    assert response.status_code == 200
    assert _same(_xlsx_numbers(response.data), expected)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "report.export").order_by(AuditEvent.id)
    ).all()
    assert [e.detail["format"] for e in events] == ["csv", "xlsx"]
    assert all(e.detail["unit_id"] == unit for e in events)


def test_out_of_scope_and_hidden_units_answer_404_on_the_web(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    wave = small.waves[2026]
    outside = client.get(f"/exports/reports/{wave}/{small.units['Office B']}.xlsx")
    assert outside.status_code == 404 and b"not yours" in outside.data
    hidden = client.get(f"/exports/reports/{wave}/{small.units['Office A / Team 3']}.csv")
    assert hidden.status_code == 404
    assert "fewer than 5 answers" in hidden.get_data(as_text=True)
    unknown = client.get(f"/exports/reports/{wave + 999}/{small.units['Office A']}.csv")
    assert unknown.status_code == 404
    actions = session.scalars(select(AuditEvent.action)).all()
    assert actions.count("export.denied") == 2  # out of scope and unknown wave, not hidden


def test_a_unit_named_like_a_formula_downloads_as_text(
    app: Flask, session: Session, small: SmallJurisdiction
) -> None:
    unit = session.get(OrgUnit, small.units["Office A / Team 1"])
    assert unit is not None
    unit.name = '=HYPERLINK("http://evil.example","open")'
    session.commit()
    make_leader(session, small, "lead-a@lake.example", "Office A")
    client = app.test_client()
    login(client, "lead-a@lake.example")
    office = small.units["Office A"]
    response = client.get(f"/exports/reports/{small.waves[2026]}/{office}.csv")
    assert response.status_code == 200
    values = [r["value"] for r in _csv_rows(response.data) if r["column"] == "unit"]
    assert "'" + unit.name in values and unit.name not in values
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/exports/reports/{small.waves[2026]}/{office}.xlsx").data)
    )
    cells = [c for row in book["units"].iter_rows() for c in row if c.value == unit.name]
    assert len(cells) == 1 and cells[0].data_type == "s" and cells[0].quotePrefix
