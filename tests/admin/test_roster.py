"""Roster import: encodings and separators detected, every problem with its line, all or nothing."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Jurisdiction, OrgUnit, RosterEntry, UnitKind
from app.services import roster
from app.services.roster import RosterInvalid, import_roster, preview_import, read_roster

from .conftest import roster_csv, standard_roster


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _entries(session: Session, jurisdiction: Jurisdiction) -> dict[str, tuple[str, bool, str]]:
    rows = session.execute(
        select(RosterEntry.email, OrgUnit.path, RosterEntry.active, RosterEntry.language)
        .join(OrgUnit, RosterEntry.unit_id == OrgUnit.id)
        .where(RosterEntry.jurisdiction_id == jurisdiction.id)
    ).all()
    return {email: (path, active, language) for email, path, active, language in rows}


# Files that import, and what they must read as: (name, bytes, filename, expected rows)
GOOD_FILES = [
    (
        "utf8_bom",
        "\ufeffemail,unit\na@x.org,Region 1 / Team A\n".encode(),
        "r.csv",
        [("a@x.org", "Region 1 / Team A", "en")],
    ),
    (
        "semicolons",
        b"email;unit;language\na@x.org;Region 1 / Team A;es\nb@x.org;Region 1 / Team A;EN\n",
        "r.csv",
        [("a@x.org", "Region 1 / Team A", "es"), ("b@x.org", "Region 1 / Team A", "en")],
    ),
    (
        "windows_1252",
        "email;unit\nana@x.org;Región Norte / Oficina Señal\n".encode("cp1252"),
        "r.csv",
        [("ana@x.org", "Región Norte / Oficina Señal", "en")],
    ),
    (
        "utf16_with_bom",
        "email\tunit\nzoë@x.org\tNord / Équipe\n".replace("ë", "e").encode("utf-16"),
        "r.txt",
        [("zoe@x.org", "Nord / Équipe", "en")],
    ),
    (
        "tabs",
        b"email\tunit\na@x.org\tR / O / T\n",
        "r.tsv",
        [("a@x.org", "R / O / T", "en")],
    ),
    (
        "crlf_blank_lines_and_spaces",
        b"email,unit\r\n\r\n  A@X.org ,  Region 1/Team  A \r\n,\r\n\r\n",
        "r.csv",
        [("a@x.org", "Region 1 / Team A", "en")],
    ),
    (
        "quoted_comma_in_unit_and_other_column_order",
        b'Language,Unit,Name,Email\nes,"North, East / Team 1",Ana,a@x.org\n',
        "r.csv",
        [("a@x.org", "North, East / Team 1", "es")],
    ),
    (
        "xlsx",
        _xlsx([["Email", "Unit", "Language"], ["A@x.org", "R / T", "es"], [None, None, None]]),
        "roster.xlsx",
        [("a@x.org", "R / T", "es")],
    ),
]


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [pytest.param(d, f, e, id=n) for n, d, f, e in GOOD_FILES],
)
def test_readable_files_are_read_exactly(data: bytes, filename: str, expected: list[tuple]) -> None:
    preview = read_roster(data, filename)
    assert preview.problems == []
    assert [(r.email, r.unit, r.language) for r in preview.rows] == expected


# Files that must be refused, with the line numbers and words of their problems.
BAD_FILES = [
    (
        "duplicates_by_case_and_spaces",
        b"email,unit\na@x.org,T\nb@x.org,T\n A@X.ORG ,T\n",
        [(4, "duplicate email a@x.org (first on line 2)")],
    ),
    (
        "blank_lines_keep_physical_line_numbers",
        b"email,unit\n\n\na@x.org,T\n\nnot-an-email,T\n",
        [(6, "invalid email 'not-an-email'")],
    ),
    (
        "missing_unit_column",
        b"email,team\na@x.org,T\n",
        [(1, "missing column unit in the header (found 'email', 'team')")],
    ),
    ("empty_unit", b"email,unit\na@x.org,  \n", [(2, "empty unit")]),
    ("empty_email", b"email,unit\n,T\n", [(2, "empty email")]),
    (
        "unknown_language",
        b"email,unit,language\na@x.org,T,fr\n",
        [(2, "unknown language 'fr' (use en or es)")],
    ),
    (
        "empty_part_in_path",
        b"email,unit\na@x.org,Region 1 // Team\n",
        [(2, "unit 'Region 1 // Team' has an empty part between '/'")],
    ),
    ("empty_file", b"", [(1, "the file is empty")]),
    ("header_only", b"email,unit\n", [(1, "the file has a header but no staff")]),
    (
        "binary_garbage",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00",
        [(1, "this is not a text (CSV) or .xlsx file")],
    ),
    (
        "every_problem_reported",
        b"email,unit,language\nok@x.org,T,en\nbad,T,en\nok@x.org,T,en\nc@x.org,,de\n",
        [
            (3, "invalid email 'bad'"),
            (4, "duplicate email ok@x.org (first on line 2)"),
            (5, "empty unit"),
            (5, "unknown language 'de' (use en or es)"),
        ],
    ),
    (
        "quoted_newline_counts_physical_lines",
        b'email,unit\n"a@x.org","R /\nT"\nb@,T\n',
        [(4, "invalid email 'b@'")],
    ),
]


@pytest.mark.parametrize(("data", "expected"), [pytest.param(d, e, id=n) for n, d, e in BAD_FILES])
def test_bad_files_report_each_problem_with_its_line(
    session: Session, lake: Jurisdiction, data: bytes, expected: list[tuple[int, str]]
) -> None:
    assert read_roster(data, "r.csv").problems == expected
    with pytest.raises(RosterInvalid) as raised:
        import_roster(session, None, lake.id, data, "r.csv")
    assert raised.value.problems == expected
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0


def test_broken_xlsx_is_refused(lake: Jurisdiction, session: Session) -> None:
    with pytest.raises(RosterInvalid, match=r"not a readable \.xlsx"):
        import_roster(session, None, lake.id, b"PK\x03\x04garbage", "roster.xlsx")


def test_xlsx_problems_carry_row_numbers() -> None:
    data = _xlsx([["email", "unit"], ["a@x.org", "T"], ["A@x.org", "T"], ["x", None]])
    assert read_roster(data, "r.xlsx").problems == [
        (3, "duplicate email a@x.org (first on line 2)"),
        (4, "invalid email 'x'"),
        (4, "empty unit"),
    ]


def test_over_large_file_is_refused(lake: Jurisdiction, session: Session) -> None:
    data = b"email,unit\n" + b"a" * (roster.MAX_UPLOAD_BYTES + 1)
    with pytest.raises(RosterInvalid, match="larger than 20 MB"):
        import_roster(session, None, lake.id, data)


def test_a_problem_anywhere_imports_nothing(session: Session, lake: Jurisdiction) -> None:
    import_roster(session, None, lake.id, standard_roster())
    before = _entries(session, lake)
    bad = roster_csv([("new@x.org", "Region 9 / Team Z"), ("oops", "Region 9 / Team Z")])
    with pytest.raises(RosterInvalid):
        import_roster(session, None, lake.id, bad)
    assert _entries(session, lake) == before
    assert not session.scalars(select(OrgUnit).where(OrgUnit.path == "Region 9")).first()


def test_preview_counts_staff_units_and_small_units(session: Session, lake: Jurisdiction) -> None:
    data = roster_csv(
        [(f"a{i}@x.org", "Region 1 / Office A / Team 1") for i in range(6)]
        + [(f"b{i}@x.org", "Region 1 / Office A / Team 2") for i in range(2)]
    )
    preview = preview_import(session, None, lake.id, data, min_report_n=5)
    assert preview.ok
    assert preview.rows_read == 8
    assert preview.staff_per_unit == {
        "Region 1 / Office A / Team 1": 6,
        "Region 1 / Office A / Team 2": 2,
    }
    assert preview.units_to_create == [
        "Region 1",
        "Region 1 / Office A",
        "Region 1 / Office A / Team 1",
        "Region 1 / Office A / Team 2",
    ]
    assert preview.small_units == ["Region 1 / Office A / Team 2"]
    assert preview.people_new == 8
    assert _entries(session, lake) == {}  # a preview changes nothing


def test_import_builds_the_tree_with_kinds(session: Session, lake: Jurisdiction) -> None:
    data = roster_csv(
        [
            ("a@x.org", "Region 1 / Office A / Team 1"),
            ("b@x.org", "Region 1 / Office A / Team 1 / Night shift"),
            ("c@x.org", "Region 2"),
            ("d@x.org", "Region 1 / Office B"),
        ]
    )
    result = import_roster(session, None, lake.id, data)
    assert result.staff == 4
    kinds = dict(
        session.execute(
            select(OrgUnit.path, OrgUnit.kind).where(OrgUnit.jurisdiction_id == lake.id)
        ).all()
    )
    assert kinds == {
        "": UnitKind.AGENCY,
        "Region 1": UnitKind.REGION,
        "Region 1 / Office A": UnitKind.OFFICE,
        "Region 1 / Office A / Team 1": UnitKind.TEAM,
        "Region 1 / Office A / Team 1 / Night shift": UnitKind.TEAM,
        "Region 1 / Office B": UnitKind.TEAM,
        "Region 2": UnitKind.TEAM,
    }
    parents = {
        u.path: (u.parent.path if u.parent else None)
        for u in session.scalars(select(OrgUnit).where(OrgUnit.jurisdiction_id == lake.id))
    }
    assert parents["Region 1 / Office A / Team 1 / Night shift"] == "Region 1 / Office A / Team 1"
    assert parents["Region 1"] == ""
    assert parents[""] is None


def test_reimport_next_year_updates_tree_and_roster(session: Session, lake: Jurisdiction) -> None:
    import_roster(
        session,
        None,
        lake.id,
        roster_csv([("a@x.org", "R1 / T1"), ("b@x.org", "R1 / T1"), ("c@x.org", "R2 / T2")]),
    )
    import_roster(
        session,
        None,
        lake.id,
        roster_csv([("A@x.org", "R1 / T3", "es"), ("d@x.org", "R1 / T1", "en")]),
    )
    assert _entries(session, lake) == {
        "a@x.org": ("R1 / T3", True, "es"),
        "b@x.org": ("R1 / T1", False, "en"),
        "c@x.org": ("R2 / T2", False, "en"),
        "d@x.org": ("R1 / T1", True, "en"),
    }
    active = dict(
        session.execute(
            select(OrgUnit.path, OrgUnit.active).where(OrgUnit.jurisdiction_id == lake.id)
        ).all()
    )
    assert active == {
        "": True,
        "R1": True,
        "R1 / T1": True,
        "R1 / T3": True,
        "R2": False,
        "R2 / T2": False,
    }
    # A third year brings R2 back.
    import_roster(session, None, lake.id, roster_csv([("c@x.org", "R2 / T2")]))
    assert _entries(session, lake)["c@x.org"] == ("R2 / T2", True, "en")
    assert _entries(session, lake)["a@x.org"][1] is False


def test_fifty_thousand_rows_import_in_one_go(session: Session, lake: Jurisdiction) -> None:
    rows = [
        (f"person{i}@big.example", f"Region {i % 7} / Office {i % 31} / Team {i % 400}")
        for i in range(50_000)
    ]
    data = roster_csv(rows)
    started = time.perf_counter()
    result = import_roster(session, None, lake.id, data)
    elapsed = time.perf_counter() - started
    assert result.staff == 50_000
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 50_000
    assert elapsed < 60


def test_fifty_thousand_rows_with_one_duplicate_import_nothing(
    session: Session, lake: Jurisdiction
) -> None:
    rows = [(f"p{i}@big.example", f"R / T{i % 100}") for i in range(50_000)]
    rows.append(("P17@BIG.example", "R / T1"))
    with pytest.raises(RosterInvalid) as raised:
        import_roster(session, None, lake.id, roster_csv(rows))
    assert raised.value.problems == [(50_002, "duplicate email p17@big.example (first on line 19)")]
    assert session.scalar(select(func.count()).select_from(RosterEntry)) == 0


def test_changed_file_between_preview_and_confirm_is_refused(
    session: Session, lake: Jurisdiction
) -> None:
    checksum = preview_import(session, None, lake.id, standard_roster()).checksum
    with pytest.raises(RosterInvalid, match="changed since the preview"):
        import_roster(
            session, None, lake.id, standard_roster(per_team=7), expected_checksum=checksum
        )
