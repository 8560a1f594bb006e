"""Roster uploads built to hurt: zip and XML bombs, oversized cells, look-alike and reversed names.

Each hostile file must end in a message naming the limit (never a 500), and reading it must not
grow this process's memory by 50 MB or more (measured with tracemalloc around the read).
"""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable

import openpyxl
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.models import Jurisdiction, Role
from app.services import roster
from app.services.roster import read_roster

from .conftest import csrf_token, login, make_user

MEMORY_LIMIT = 50 * 1024 * 1024


def _plain_workbook(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


STAFF = [["email", "unit"]] + [[f"p{i}@lake.org", "Region 1 / Team A"] for i in range(6)]


def _rebuilt(
    base: bytes,
    replace: dict[str, bytes | Callable[[zipfile.ZipFile, str], None]],
) -> bytes:
    """``base`` with some parts replaced; a callable writes its part itself (streamed)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        names = source.namelist()
        for name in names:
            if name not in replace:
                target.writestr(name, source.read(name))
        for name, content in replace.items():
            if callable(content):
                content(target, name)
            else:
                target.writestr(name, content)
    return out.getvalue()


def _sheet_xml(dimension: str, prolog: str = "") -> bytes:
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{e}</t></is></c>'
        f'<c r="B{r}" t="inlineStr"><is><t>{u}</t></is></c></row>'
        for r, (e, u) in enumerate(STAFF, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        + prolog
        + '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    ).encode()


def dimension_lie() -> bytes:
    return _rebuilt(
        _plain_workbook([["x"]]), {"xl/worksheets/sheet1.xml": _sheet_xml("A1:XFD1048576")}
    )


def huge_shared_string() -> bytes:
    """One 200 MB shared string, written in chunks so the test itself stays small."""

    def write(target: zipfile.ZipFile, name: str) -> None:
        with target.open(name, "w", force_zip64=True) as part:
            part.write(
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxml'
                b'formats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
            )
            chunk = b"a" * (1024 * 1024)
            for _ in range(200):
                part.write(chunk)
            part.write(b"</t></si></sst>")

    data = _rebuilt(_plain_workbook(STAFF), {"xl/sharedStrings.xml": write})
    assert len(data) < 1024 * 1024  # a small upload
    return data


def dtd_entity() -> bytes:
    prolog = '<!DOCTYPE worksheet [<!ENTITY team "Region 1 / Team A">]>'
    return _rebuilt(
        _plain_workbook([["x"]]), {"xl/worksheets/sheet1.xml": _sheet_xml("A1:B7", prolog)}
    )


def billion_laughs() -> bytes:
    entities = '<!ENTITY l0 "ha">' + "".join(
        f'<!ENTITY l{n} "{("&l" + str(n - 1) + ";") * 10}">' for n in range(1, 10)
    )
    shared = (
        '<?xml version="1.0"?><!DOCTYPE sst [' + entities + "]>"
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>&l9;</t></si></sst>"
    ).encode()
    return _rebuilt(_plain_workbook(STAFF), {"xl/sharedStrings.xml": shared})


def utf16_dtd() -> bytes:
    """The same entity trick in a part encoded as UTF-16 (a byte search for <!DOCTYPE misses it)."""
    text = (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE sst [<!ENTITY a "x">]>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        "<si><t>&a;</t></si></sst>"
    )
    return _rebuilt(_plain_workbook(STAFF), {"xl/sharedStrings.xml": text.encode("utf-16")})


def truncated_workbook() -> bytes:
    return _plain_workbook(STAFF)[:-200]


def long_csv_cell() -> bytes:
    return b"email,unit\np0@lake.org," + b"T" * (130 * 1024) + b"\n"


BOMBS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "dimension lie A1:XFD1048576": (
        dimension_lie,
        "roster.xlsx",
        "1,048,576 rows by 16,384 columns; a roster may have at most 100,000 rows and 50 columns",
    ),
    "200 MB shared string": (
        huge_shared_string,
        "roster.xlsx",
        "shared strings) unpacks to more than 16 MB",
    ),
    "DTD with an entity": (dtd_entity, "roster.xlsx", "XML document type (DTD)"),
    "billion laughs": (billion_laughs, "roster.xlsx", "XML document type (DTD)"),
    "DTD in a UTF-16 part": (utf16_dtd, "roster.xlsx", "XML document type (DTD)"),
    "truncated workbook": (truncated_workbook, "roster.xlsx", "not a readable .xlsx workbook"),
    "CSV cell over 128 KB": (long_csv_cell, "roster.csv", "a cell is longer than 131,072"),
}


def _problems_text(data: bytes, filename: str) -> tuple[str, int]:
    tracemalloc.start()
    try:
        preview = read_roster(data, filename)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return " | ".join(f"line {line}: {message}" for line, message in preview.problems), peak


@pytest.mark.parametrize("name", list(BOMBS))
def test_hostile_file_is_refused_with_a_message_in_little_memory(name: str) -> None:
    build, filename, expected = BOMBS[name]
    data = build()
    problems, peak = _problems_text(data, filename)
    assert expected in problems
    assert peak < MEMORY_LIMIT, f"{name}: {peak / 2**20:.1f} MB"


@pytest.mark.parametrize("name", list(BOMBS))
def test_hostile_file_uploaded_through_the_page_gets_the_message(
    app: Flask, session: Session, lake: Jurisdiction, name: str
) -> None:
    build, filename, expected = BOMBS[name]
    admin = make_user(session, "admin@lake.org", Role.JURISDICTION_ADMIN, lake)
    client = app.test_client()
    login(client, admin.email)
    html = client.get("/admin/roster").get_data(as_text=True)
    response = client.post(
        "/admin/roster",
        data={"csrf_token": csrf_token(html), "file": (io.BytesIO(build()), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = re.sub(r"\s+", " ", response.get_data(as_text=True)).replace("&#39;", "'")
    assert expected in page
    assert "line 0" not in page  # a problem with the whole file is not given a line


def test_a_workbook_that_understates_its_size_is_read_only_as_far_as_its_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = _rebuilt(_plain_workbook([["x"]]), {"xl/worksheets/sheet1.xml": _sheet_xml("A1")})
    preview = read_roster(data, "roster.xlsx")
    assert preview.ok and preview.staff == 6
    monkeypatch.setattr(roster, "MAX_ROWS", 4)
    problems = read_roster(data, "roster.xlsx").problems
    assert problems == [(5, "the sheet has more than 4 rows (limit for a roster)")]


def test_too_many_columns_and_too_long_cells_are_named() -> None:
    wide = _plain_workbook([["email", "unit", *[f"c{i}" for i in range(60)]]])
    assert read_roster(wide, "roster.xlsx").problems == [
        (
            0,
            "the sheet says it is 1 rows by 62 columns; a roster may have at most 100,000 rows "
            "and 50 columns",
        )
    ]
    # The same width in a sheet that declares less: found in the cells themselves.
    cells = "".join(
        f'<c r="{openpyxl.utils.get_column_letter(n)}1"><v>{n}</v></c>' for n in range(1, 61)
    )
    understated = _rebuilt(
        _plain_workbook([["x"]]),
        {
            "xl/worksheets/sheet1.xml": (
                '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<dimension ref="A1"/><sheetData><row r="1">{cells}</row></sheetData></worksheet>'
            ).encode()
        },
    )
    assert read_roster(understated, "roster.xlsx").problems == [
        (1, "more than 50 columns (limit for a roster)")
    ]
    long_cell = _plain_workbook([["email", "unit"], ["p@lake.org", "T" * 5000]])
    assert read_roster(long_cell, "roster.xlsx").problems == [
        (2, "a cell is longer than 4,096 characters (limit for a roster)")
    ]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Team \u202efdp.exe", "U+202E"),  # right-to-left override: shows as "Team exe.pdf"
        ("Team\u2066 A", "U+2066"),  # left-to-right isolate
        ("Team\u200b A", "U+200B"),  # zero-width space
        ("Team A\u00ad", "U+00AD"),  # soft hyphen
        ("Team\x07A", "U+0007"),  # a control character
    ],
)
def test_invisible_and_direction_characters_in_unit_names_are_refused_with_the_line(
    name: str, code: str
) -> None:
    data = f"email,unit\nok@lake.org,Region 1 / Team B\np@lake.org,Region 1 / {name}\n".encode()
    problems = read_roster(data, "roster.csv").problems
    assert len(problems) == 1
    line, message = problems[0]
    assert line == 3 and code in message and "invisible or text-direction character" in message


def test_composed_and_decomposed_accents_are_one_unit() -> None:
    composed, decomposed = "Caf\u00e9", "Cafe\u0301"
    data = (
        "email,unit\n"
        + "".join(f"a{i}@lake.org,Region 1 / {composed}\n" for i in range(3))
        + "".join(f"b{i}@lake.org,Region 1 / {decomposed}\n" for i in range(3))
    ).encode()
    preview = read_roster(data, "roster.csv")
    assert preview.ok
    assert {row.unit for row in preview.rows} == {"Region 1 / Caf\u00e9"}
