"""Roster import: read a CSV or XLSX of staff, preview every problem, then apply all or nothing.

File format: a header row with ``email`` and ``unit`` (a path such as ``Region 3 / Office A /
Team 7``) and optionally ``language`` (``en`` or ``es``, default ``en``). Text files may be
UTF-8 (with or without BOM), UTF-16 with BOM or Windows-1252, separated by commas, semicolons or
tabs; the encoding and separator are detected. Blank lines are skipped; other columns ignored.

Unit kinds: the agency root is ``agency``; a unit with units below it is a ``region`` at depth 1,
an ``office`` at depth 2 and a ``team`` deeper; a unit with nothing below it is always a ``team``.
Staff may be listed on any unit, including one with units below it.

Re-importing replaces the roster: people not listed become inactive, units no longer used (no
staff at or below them) become inactive, and both come back if a later file lists them again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from app.i18n import Message, both, either, languages
from app.i18n import lazy_message as _l
from app.models import PATH_SEPARATOR, OrgUnit, RosterEntry, UnitKind, User
from app.services import audit
from app.services.access import can_manage_jurisdiction, require
from app.services.jurisdictions import get_jurisdiction, root_unit

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
REQUIRED_COLUMNS = ("email", "unit")
_COLUMN_ALIASES = {
    "email": "email",
    "e-mail": "email",
    "email address": "email",
    "unit": "unit",
    "language": "language",
    "lang": "language",
}
#: An email address as the staff list accepts it (also for reply-to addresses and one-off adds).
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_MAX_UNIT_NAME = 200
_MAX_DEPTH = 8
#: Hard caps on an uploaded file, each named in the message that refuses it.
MAX_ROWS = 100_000
MAX_COLUMNS = 50
MAX_CELL_CHARS = 4_096
MAX_XLSX_UNPACKED = 100 * 1024 * 1024
MAX_SHARED_STRINGS = 16 * 1024 * 1024
MAX_XLSX_PART = 4 * 1024 * 1024
MAX_XLSX_PARTS = 1_000
_PROLOG_BYTES = 64 * 1024
_FIRST_ELEMENT = re.compile(r"<[A-Za-z_:]")
#: Unicode categories never allowed in a unit name: controls, format characters (bidi
#: overrides and isolates, zero-width characters, soft hyphen), private use, surrogates,
#: unassigned code points and line/paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})


#: A problem as a person reads it: translated into the page's language when it is shown.
Problem: TypeAlias = str | Message


class RosterInvalid(Exception):
    """The file cannot be imported; ``problems`` lists (line, message) pairs."""

    def __init__(self, problems: Sequence[tuple[int, Problem]]) -> None:
        self.problems = list(problems)
        super().__init__(*self.problems[:1])

    def __str__(self) -> str:
        # Composed when shown, so it is in the language of the page that shows it.
        line, problem = self.problems[0] if self.problems else (0, _l("invalid roster"))
        text = str(_l("line %(line)s: %(problem)s", line=line, problem=problem))
        if len(self.problems) > 1:
            text += str(_l(" (and %(n)s more)", n=len(self.problems) - 1))
        return text


@dataclass(frozen=True)
class RosterRow:
    line: int
    email: str
    unit: str
    language: str


@dataclass
class RosterPreview:
    """What an import would do. ``problems`` non-empty means nothing can be imported."""

    rows_read: int = 0
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[tuple[int, Problem]] = field(default_factory=list)
    staff_per_unit: dict[str, int] = field(default_factory=dict)
    units_to_create: list[str] = field(default_factory=list)
    units_to_deactivate: list[str] = field(default_factory=list)
    small_units: list[str] = field(default_factory=list)
    people_new: int = 0
    people_kept: int = 0
    people_to_deactivate: int = 0
    encoding: str = ""
    delimiter: str = ""
    checksum: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def staff(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class ImportResult:
    staff: int
    units_created: int
    units_deactivated: int
    people_new: int
    people_deactivated: int


# --- reading --------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _column_name(raw: object) -> str:
    text = "" if raw is None else str(raw)
    text = " ".join(text.replace("\ufeff", "").split()).lower()
    return _COLUMN_ALIASES.get(text, text)


def _pick_delimiter(text: str) -> str:
    """The separator that turns the first non-blank line into a header naming our columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    best, best_score = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first], delimiter=delimiter), [])
        names = {_column_name(c) for c in cells}
        score = (sum(c in names for c in REQUIRED_COLUMNS), len(cells))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _text_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "field larger than field limit" in str(error):
                message = _l(
                    "a cell is longer than %(n)s characters", n=format(csv.field_size_limit(), ",")
                )
            else:
                message = _l("this line cannot be read as CSV (%(error)s)", error=error)
            raise RosterInvalid([(reader.line_num or line, message)]) from None
        yield line, cells
        line = reader.line_num + 1


def _check_xlsx_container(data: bytes) -> None:
    """Refuse a workbook by its zip directory and XML prologs, before any XML is parsed.

    The sizes come from the zip directory; Python's zipfile never returns more than a member's
    declared size (and fails its CRC check if the data was longer), so a member cannot grow past
    what is checked here. A DTD is refused outright: a workbook never needs one, and entity
    expansion ("billion laughs") needs one.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise RosterInvalid(
            [(0, _l("not a readable .xlsx workbook (%(error)s)", error=error))]
        ) from None
    mb = 1024 * 1024
    if len(members) > MAX_XLSX_PARTS:
        raise RosterInvalid(
            [
                (
                    0,
                    _l(
                        "the workbook has more than %(n)s parts (limit for a roster)",
                        n=MAX_XLSX_PARTS,
                    ),
                )
            ]
        )
    for member in members:
        name = member.filename.lower()
        if name == "xl/sharedstrings.xml" and member.file_size > MAX_SHARED_STRINGS:
            raise RosterInvalid(
                [
                    (
                        0,
                        _l(
                            "the workbook's text (its shared strings) unpacks to more than "
                            "%(mb)s MB (limit for a roster); save it as CSV",
                            mb=MAX_SHARED_STRINGS // mb,
                        ),
                    )
                ]
            )
        if (
            name.endswith((".xml", ".rels"))
            and not name.startswith("xl/worksheets/")
            and name != "xl/sharedstrings.xml"
            and member.file_size > MAX_XLSX_PART
        ):
            raise RosterInvalid(
                [
                    (
                        0,
                        _l(
                            "the workbook part %(part)s unpacks to more than "
                            "%(mb)s MB (limit for a roster); save it as CSV",
                            part=repr(member.filename[:80]),
                            mb=MAX_XLSX_PART // mb,
                        ),
                    )
                ]
            )
    if sum(m.file_size for m in members) > MAX_XLSX_UNPACKED:
        raise RosterInvalid(
            [
                (
                    0,
                    _l(
                        "the workbook unpacks to more than %(mb)s MB (limit "
                        "for a roster); remove other sheets or save it as CSV",
                        mb=MAX_XLSX_UNPACKED // mb,
                    ),
                )
            ]
        )
    for member in members:
        if member.filename.lower().endswith((".xml", ".rels", ".vml")):
            _refuse_dtd(archive, member)


def _refuse_dtd(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    try:
        with archive.open(member) as stream:
            head = stream.read(_PROLOG_BYTES)
    except Exception as error:  # a damaged member: zlib, CRC, unsupported compression
        raise RosterInvalid(
            [(0, _l("not a readable .xlsx workbook (%(error)s)", error=error))]
        ) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:200]:
        text = head.decode("utf-16", errors="replace")
    else:
        text = head.decode("latin-1")
    root = _FIRST_ELEMENT.search(text)
    prolog = text[: root.start()] if root else text
    if "<!doctype" in prolog.lower() or "<!entity" in prolog.lower():
        raise RosterInvalid(
            [
                (
                    0,
                    _l(
                        "the workbook declares an XML document type (DTD), which no spreadsheet "
                        "needs and this import refuses; save it again from Excel or as CSV"
                    ),
                )
            ]
        )
    if root is None and len(head) >= _PROLOG_BYTES:
        raise RosterInvalid(
            [(0, _l("not a readable .xlsx workbook (%(error)s)", error=member.filename[:80]))]
        )


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows, streamed, at most MAX_COLUMNS wide and MAX_ROWS long."""
    import openpyxl

    _check_xlsx_container(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on damaged files
        raise RosterInvalid(
            [(0, _l("not a readable .xlsx workbook (%(error)s)", error=error))]
        ) from None
    try:
        try:
            sheet = workbook.worksheets[0]
            declared_rows, declared_columns = sheet.max_row or 0, sheet.max_column or 0
        except Exception as error:
            raise RosterInvalid(
                [(0, _l("not a readable .xlsx workbook (%(error)s)", error=error))]
            ) from None
        if declared_rows > MAX_ROWS or declared_columns > MAX_COLUMNS:
            raise RosterInvalid(
                [
                    (
                        0,
                        _l(
                            "the sheet says it is %(rows)s rows by %(columns)s columns; a roster "
                            "may have at most %(max_rows)s rows and %(max_columns)s columns",
                            rows=format(declared_rows, ","),
                            columns=format(declared_columns, ","),
                            max_rows=format(MAX_ROWS, ","),
                            max_columns=MAX_COLUMNS,
                        ),
                    )
                ]
            )
        # A smaller declared dimension is not trusted either: only cells that exist are read,
        # and never more than one column past the limit (to notice that it is exceeded).
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                break
            except Exception as error:
                raise RosterInvalid(
                    [(number + 1, _l("not a readable .xlsx workbook (%(error)s)", error=error))]
                ) from None
            number += 1
            if number > MAX_ROWS:
                raise RosterInvalid(
                    [
                        (
                            number,
                            _l(
                                "the sheet has more than %(n)s rows (limit for a roster)",
                                n=format(MAX_ROWS, ","),
                            ),
                        )
                    ]
                )
            if len(values) > MAX_COLUMNS and values[MAX_COLUMNS] not in (None, ""):
                raise RosterInvalid(
                    [(number, _l("more than %(n)s columns (limit for a roster)", n=MAX_COLUMNS))]
                )
            yield number, ["" if v is None else str(v) for v in values[:MAX_COLUMNS]]
    finally:
        workbook.close()


def _is_xlsx(data: bytes, filename: str) -> bool:
    return filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04")


def normalise_email(raw: str) -> str:
    return "".join(raw.split()).lower()


def normalise_path(raw: str) -> str:
    """``' Region 3/Office  A '`` → ``'Region 3 / Office A'``; empty parts kept as ''.

    Text is NFC-normalised first, so "Café" typed with a combining accent and "Café" typed with
    a precomposed one are the same unit.
    """
    raw = unicodedata.normalize("NFC", raw)
    return PATH_SEPARATOR.join(" ".join(part.split()) for part in raw.split("/"))


def _invisible_character(text: str) -> str | None:
    """The first character of ``text`` that is invisible or changes text direction, as U+XXXX."""
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def read_roster(data: bytes, filename: str = "roster.csv") -> RosterPreview:
    """Parse and validate a roster file (no database); every problem carries its line number."""
    preview = RosterPreview(checksum=hashlib.sha256(data).hexdigest())
    if len(data) > MAX_UPLOAD_BYTES:
        preview.problems.append(
            (0, _l("file larger than %(mb)s MB", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
        )
        return preview
    if not data.strip():
        preview.problems.append((1, _l("the file is empty")))
        return preview
    rows: Iterable[tuple[int, list[str]]]
    if _is_xlsx(data, filename):
        preview.encoding, preview.delimiter = "xlsx", ""
        rows = _xlsx_rows(data)
    else:
        text, preview.encoding = _decode(data)
        if "\x00" in text:
            preview.problems.append((1, _l("this is not a text (CSV) or .xlsx file")))
            return preview
        preview.delimiter = _pick_delimiter(text)
        rows = _text_rows(text, preview.delimiter)
    try:
        _validate(rows, preview)  # rows are streamed: a limit stops the read where it is hit
    except RosterInvalid as error:
        preview.problems.extend(error.problems)
        preview.rows.clear()
    return preview


def _validate(rows: Iterable[tuple[int, list[str]]], preview: RosterPreview) -> None:
    header: dict[str, int] | None = None
    seen: dict[str, int] = {}
    problems = preview.problems
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank lines and rows of empty cells
        if any(len(c) > MAX_CELL_CHARS for c in cells):
            raise RosterInvalid(
                [
                    (
                        line,
                        _l(
                            "a cell is longer than %(n)s characters (limit for a roster)",
                            n=format(MAX_CELL_CHARS, ","),
                        ),
                    )
                ]
            )
        if header is None:
            names = [_column_name(c) for c in cells]
            missing = [c for c in REQUIRED_COLUMNS if c not in names]
            if missing:
                found = ", ".join(repr(n) for n in names if n) or _l("nothing")
                problems.append(
                    (
                        line,
                        _l(
                            "missing column %(columns)s in the header (found %(found)s)",
                            columns=both(missing),
                            found=found,
                        ),
                    )
                )
                return
            header = {
                name: names.index(name) for name in ("email", "unit", "language") if name in names
            }
            continue
        preview.rows_read += 1

        raw_email = _cell(cells, header, "email")
        raw_unit = _cell(cells, header, "unit")
        raw_language = _cell(cells, header, "language")
        email = normalise_email(raw_email)
        row_ok = True
        if not email:
            problems.append((line, _l("empty email")))
            row_ok = False
        elif len(email) > 320 or not EMAIL_PATTERN.match(email):
            problems.append((line, _l("invalid email %(email)s", email=repr(raw_email.strip()))))
            row_ok = False
        elif email in seen:
            problems.append(
                (
                    line,
                    _l(
                        "duplicate email %(email)s (first on line %(first)s)",
                        email=email,
                        first=seen[email],
                    ),
                )
            )
            row_ok = False
        else:
            seen[email] = line
        unit = normalise_path(raw_unit)
        if not unit.strip():
            problems.append((line, _l("empty unit")))
            row_ok = False
        else:
            parts = unit.split(PATH_SEPARATOR)
            if any(not part for part in parts):
                problems.append(
                    (
                        line,
                        _l(
                            "unit %(unit)s has an empty part between '/'",
                            unit=repr(raw_unit.strip()),
                        ),
                    )
                )
                row_ok = False
            elif any(len(part) > _MAX_UNIT_NAME for part in parts):
                problems.append(
                    (line, _l("a unit name is longer than %(n)s characters", n=_MAX_UNIT_NAME))
                )
                row_ok = False
            elif len(parts) > _MAX_DEPTH:
                problems.append((line, _l("unit is more than %(n)s levels deep", n=_MAX_DEPTH)))
                row_ok = False
            elif (hidden := _invisible_character(unit)) is not None:
                problems.append(
                    (
                        line,
                        _l(
                            "unit %(unit)s contains an invisible or text-direction character "
                            "(%(character)s); type the name again without it",
                            unit=repr(unit),
                            character=hidden,
                        ),
                    )
                )
                row_ok = False
        language = raw_language.strip().lower() or languages()[0]
        if language not in languages():
            problems.append(
                (
                    line,
                    _l(
                        "unknown language %(language)s (use %(choices)s)",
                        language=repr(raw_language.strip()),
                        choices=either(languages()),
                    ),
                )
            )
            row_ok = False
        if row_ok:
            preview.rows.append(RosterRow(line, email, unit, language))
    if header is None:
        problems.append((1, _l("the file has no header row (expected columns email, unit)")))
    elif preview.rows_read == 0:
        problems.append((1, _l("the file has a header but no staff")))


def _cell(cells: list[str], header: dict[str, int], name: str) -> str:
    index = header.get(name)
    return cells[index] if index is not None and index < len(cells) else ""


# --- the tree -------------------------------------------------------------------------------


def _ancestors(path: str) -> list[str]:
    """``'A / B / C'`` → ``['A', 'A / B', 'A / B / C']``."""
    parts = path.split(PATH_SEPARATOR)
    return [PATH_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))]


def _parent_path(path: str) -> str:
    return path.rsplit(PATH_SEPARATOR, 1)[0] if PATH_SEPARATOR in path else ""


def unit_kind(path: str, has_children: bool) -> UnitKind:
    """Agency root, region (depth 1), office (depth 2), team (deeper, and every leaf)."""
    if path == "":
        return UnitKind.AGENCY
    if not has_children:
        return UnitKind.TEAM
    depth = path.count(PATH_SEPARATOR) + 1
    return {1: UnitKind.REGION, 2: UnitKind.OFFICE}.get(depth, UnitKind.TEAM)


def _subtree_totals(staff_per_unit: dict[str, int]) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for path, count in staff_per_unit.items():
        for ancestor in _ancestors(path):
            totals[ancestor] += count
    return dict(totals)


def preview_import(
    session: Session,
    actor: User | None,
    jurisdiction_id: int,
    data: bytes,
    filename: str = "roster.csv",
    *,
    min_report_n: int = 5,
) -> RosterPreview:
    """Read the file and compare it with the jurisdiction's current tree and roster."""
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's roster"))
    get_jurisdiction(session, jurisdiction_id)
    preview = read_roster(data, filename)
    if not preview.ok:
        return preview
    preview.staff_per_unit = dict(sorted(Counter(r.unit for r in preview.rows).items()))
    totals = _subtree_totals(preview.staff_per_unit)
    preview.small_units = sorted(path for path, n in totals.items() if n < min_report_n)
    existing = dict(
        session.execute(
            select(OrgUnit.path, OrgUnit.active).where(OrgUnit.jurisdiction_id == jurisdiction_id)
        ).all()
    )
    preview.units_to_create = sorted(p for p in totals if p not in existing)
    preview.units_to_deactivate = sorted(
        p for p, active in existing.items() if active and p and p not in totals
    )
    current = dict(
        session.execute(
            select(RosterEntry.email, RosterEntry.active).where(
                RosterEntry.jurisdiction_id == jurisdiction_id
            )
        ).all()
    )
    listed = {r.email for r in preview.rows}
    preview.people_new = sum(1 for e in listed if e not in current)
    preview.people_kept = len(listed) - preview.people_new
    preview.people_to_deactivate = sum(
        1 for e, active in current.items() if active and e not in listed
    )
    return preview


def import_roster(
    session: Session,
    actor: User | None,
    jurisdiction_id: int,
    data: bytes,
    filename: str = "roster.csv",
    *,
    min_report_n: int = 5,
    expected_checksum: str | None = None,
) -> ImportResult:
    """Apply a roster file in one transaction; raise RosterInvalid (nothing changed) on problems."""
    preview = preview_import(
        session, actor, jurisdiction_id, data, filename, min_report_n=min_report_n
    )
    if not preview.ok:
        raise RosterInvalid(preview.problems)
    if expected_checksum is not None and expected_checksum != preview.checksum:
        raise RosterInvalid([(0, _l("the file changed since the preview; upload it again"))])
    try:
        result = _apply(session, jurisdiction_id, preview)
        audit.record(
            session,
            actor,
            "roster.import",
            f"jurisdiction {jurisdiction_id}",
            jurisdiction_id=jurisdiction_id,
            staff=result.staff,
            units_created=result.units_created,
            units_deactivated=result.units_deactivated,
            people_new=result.people_new,
            people_deactivated=result.people_deactivated,
            checksum=preview.checksum,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


def _apply(session: Session, jurisdiction_id: int, preview: RosterPreview) -> ImportResult:
    root = root_unit(session, jurisdiction_id)
    root.active = True
    units = {
        u.path: u
        for u in session.scalars(select(OrgUnit).where(OrgUnit.jurisdiction_id == jurisdiction_id))
    }
    used = set(_subtree_totals(preview.staff_per_unit))
    parents_in_use = {_parent_path(p) for p in used}
    created = 0
    for path in sorted(used, key=lambda p: (p.count(PATH_SEPARATOR), p)):
        unit = units.get(path)
        if unit is None:
            parent = units[_parent_path(path)]
            unit = OrgUnit(
                jurisdiction_id=jurisdiction_id,
                parent_id=parent.id,
                name=path.rsplit(PATH_SEPARATOR, 1)[-1],
                path=path,
                kind=unit_kind(path, path in parents_in_use),
                active=True,
            )
            session.add(unit)
            units[path] = unit
            created += 1
            if path in parents_in_use:
                session.flush()  # children need its id
        else:
            unit.active = True
            unit.kind = unit_kind(path, path in parents_in_use)
    session.flush()
    deactivated_units = 0
    for path, unit in units.items():
        if path and path not in used and unit.active:
            unit.active = False
            deactivated_units += 1

    existing = {
        email: (entry_id, active)
        for entry_id, email, active in session.execute(
            select(RosterEntry.id, RosterEntry.email, RosterEntry.active).where(
                RosterEntry.jurisdiction_id == jurisdiction_id
            )
        ).all()
    }
    new_rows = []
    changed_rows = []
    for row in preview.rows:
        unit_id = units[row.unit].id
        known = existing.get(row.email)
        if known is None:
            new_rows.append(
                {
                    "jurisdiction_id": jurisdiction_id,
                    "unit_id": unit_id,
                    "email": row.email,
                    "language": row.language,
                    "active": True,
                    "imported_count": 1,
                }
            )
        else:
            changed_rows.append(
                {"id": known[0], "unit_id": unit_id, "language": row.language, "active": True}
            )
    if new_rows:
        session.execute(insert(RosterEntry), new_rows)
    if changed_rows:
        session.execute(update(RosterEntry), changed_rows)
        session.execute(
            update(RosterEntry)
            .where(RosterEntry.id.in_([r["id"] for r in changed_rows]))
            .values(imported_count=RosterEntry.imported_count + 1)
            .execution_options(synchronize_session=False)
        )
    listed = {r.email for r in preview.rows}
    gone = [
        entry_id for email, (entry_id, active) in existing.items() if active and email not in listed
    ]
    for start in range(0, len(gone), 1000):
        session.execute(
            update(RosterEntry)
            .where(RosterEntry.id.in_(gone[start : start + 1000]))
            .values(active=False)
            .execution_options(synchronize_session=False)
        )
    return ImportResult(
        staff=len(preview.rows),
        units_created=created,
        units_deactivated=deactivated_units,
        people_new=len(new_rows),
        people_deactivated=len(gone),
    )


# --- staged uploads (web preview → confirm) ---------------------------------------------------


def stage_upload(folder: Path, data: bytes, filename: str) -> str:
    """Keep an uploaded file until the administrator confirms it; returns its random id."""
    folder.mkdir(parents=True, exist_ok=True)
    upload_id = secrets.token_urlsafe(18)
    suffix = ".xlsx" if _is_xlsx(data, filename) else ".csv"
    target = folder / f"{upload_id}{suffix}"
    target.write_bytes(data)
    target.chmod(0o600)
    return upload_id + suffix


def load_staged(folder: Path, staged_id: str) -> tuple[bytes, str]:
    if not re.fullmatch(r"[A-Za-z0-9_-]{24}\.(csv|xlsx)", staged_id):
        raise RosterInvalid([(0, _l("unknown upload; upload the file again"))])
    path = folder / staged_id
    if not path.exists():
        raise RosterInvalid([(0, _l("the upload expired; upload the file again"))])
    return path.read_bytes(), staged_id


def discard_staged(folder: Path, staged_id: str) -> None:
    if re.fullmatch(r"[A-Za-z0-9_-]{24}\.(csv|xlsx)", staged_id):
        (folder / staged_id).unlink(missing_ok=True)


@dataclass(frozen=True)
class RosterSummary:
    staff: int
    units: int
    inactive_staff: int


def summary(session: Session, actor: User | None, jurisdiction_id: int) -> RosterSummary:
    """Counts of the current roster (no names)."""
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's roster"))
    from sqlalchemy import func

    staff, inactive = session.execute(
        select(
            func.count().filter(RosterEntry.active.is_(True)),
            func.count().filter(RosterEntry.active.is_(False)),
        ).where(RosterEntry.jurisdiction_id == jurisdiction_id)
    ).one()
    units = session.scalar(
        select(func.count()).where(
            OrgUnit.jurisdiction_id == jurisdiction_id, OrgUnit.active.is_(True), OrgUnit.path != ""
        )
    )
    return RosterSummary(int(staff or 0), int(units or 0), int(inactive or 0))


def staging_folder(instance_path: str | Path, jurisdiction_id: int) -> Path:
    """Where uploads wait for confirmation (per jurisdiction; removed after import or cancel)."""
    return Path(instance_path) / "roster-uploads" / str(jurisdiction_id)
