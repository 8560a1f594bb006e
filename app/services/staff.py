"""The staff list between imports: search it, and add, move or deactivate one person.

The roster import stays the way to load a whole year; these commands fix one person without
re-uploading the file. They change the staff list only: a wave already launched keeps the
invitations (and units) it was launched with, so its reports do not move.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.i18n import either, languages
from app.i18n import lazy_message as _l
from app.models import OrgUnit, RosterEntry, User
from app.services import audit
from app.services.access import can_manage_jurisdiction, require
from app.services.jurisdictions import NotFound
from app.services.roster import EMAIL_PATTERN

PER_PAGE = 50


class StaffError(Exception):
    """Invalid staff data (one line)."""


@dataclass(frozen=True)
class StaffRow:
    id: int
    email: str
    unit: str
    language: str
    active: bool


@dataclass(frozen=True)
class StaffPage:
    rows: tuple[StaffRow, ...]
    total: int
    page: int
    pages: int
    query: str


def list_staff(
    session: Session,
    actor: User | None,
    jurisdiction_id: int,
    *,
    query: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> StaffPage:
    """One page of the staff list, matching ``query`` in the address or the unit path."""
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's staff"))
    query = query.strip()[:200]
    where = [RosterEntry.jurisdiction_id == jurisdiction_id]
    if query:
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")
        pattern += "%"
        where.append(
            func.lower(RosterEntry.email).like(pattern, escape="\\")
            | func.lower(OrgUnit.path).like(pattern, escape="\\")
        )
    base = select(RosterEntry, OrgUnit.path).join(OrgUnit, RosterEntry.unit_id == OrgUnit.id)
    total = int(
        session.scalar(
            select(func.count())
            .select_from(RosterEntry)
            .join(OrgUnit, RosterEntry.unit_id == OrgUnit.id)
            .where(*where)
        )
        or 0
    )
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    found = session.execute(
        base.where(*where)
        .order_by(OrgUnit.path, RosterEntry.email)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    rows = tuple(
        StaffRow(entry.id, entry.email, path, entry.language, entry.active) for entry, path in found
    )
    return StaffPage(rows, total, page, pages, query)


def list_unit_paths(session: Session, actor: User | None, jurisdiction_id: int) -> Sequence[str]:
    """Active units a person can be placed in (not the agency root)."""
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's staff"))
    return session.scalars(
        select(OrgUnit.path)
        .where(
            OrgUnit.jurisdiction_id == jurisdiction_id,
            OrgUnit.active.is_(True),
            OrgUnit.path != "",
        )
        .order_by(OrgUnit.path)
    ).all()


def _unit(session: Session, jurisdiction_id: int, path: str) -> OrgUnit:
    unit = session.scalars(
        select(OrgUnit).where(
            OrgUnit.jurisdiction_id == jurisdiction_id,
            OrgUnit.path == " / ".join(p.strip() for p in path.split("/")),
            OrgUnit.active.is_(True),
        )
    ).first()
    if unit is None or unit.path == "":
        raise StaffError(
            _l(
                "unit: no active unit %(unit)s (new units come with an import)",
                unit=repr(path.strip()),
            )
        )
    return unit


def get_entry(session: Session, actor: User | None, entry_id: int) -> RosterEntry:
    """One staff entry the actor manages (NotFound, PermissionDenied)."""
    entry = session.get(RosterEntry, entry_id)
    if entry is None:
        raise NotFound(_l("no staff entry %(id)s", id=entry_id))
    if actor is not None:
        require(
            can_manage_jurisdiction(actor, entry.jurisdiction_id), _l("this jurisdiction's staff")
        )
    return entry


def add_person(
    session: Session,
    actor: User | None,
    jurisdiction_id: int,
    *,
    email: str,
    unit_path: str,
    language: str = "en",
) -> RosterEntry:
    """Put one person on the staff list (or reactivate them there, in the given unit)."""
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's staff"))
    address = "".join(email.split()).lower()
    if len(address) > 320 or not EMAIL_PATTERN.match(address):
        raise StaffError(
            _l("email: %(email)s is not an email address", email=repr(email.strip()[:80]))
        )
    if language not in languages():
        raise StaffError(_l("language: use %(choices)s", choices=either(languages())))
    unit = _unit(session, jurisdiction_id, unit_path)
    entry = session.scalars(
        select(RosterEntry).where(
            RosterEntry.jurisdiction_id == jurisdiction_id, RosterEntry.email == address
        )
    ).first()
    if entry is not None and entry.active:
        raise StaffError(_l("email: %(email)s is already on the staff list", email=address))
    if entry is None:
        entry = RosterEntry(
            jurisdiction_id=jurisdiction_id,
            unit_id=unit.id,
            email=address,
            language=language,
            active=True,
            imported_count=0,
        )
        session.add(entry)
    else:
        entry.unit_id, entry.language, entry.active = unit.id, language, True
    session.flush()
    audit.record(
        session, actor, "staff.add", f"{address} → {unit.path}", jurisdiction_id=jurisdiction_id
    )
    session.commit()
    return entry


def move_person(session: Session, actor: User | None, entry_id: int, unit_path: str) -> RosterEntry:
    """Move one person to another unit of the same jurisdiction."""
    entry = get_entry(session, actor, entry_id)
    unit = _unit(session, entry.jurisdiction_id, unit_path)
    entry.unit_id = unit.id
    audit.record(
        session,
        actor,
        "staff.move",
        f"{entry.email} → {unit.path}",
        jurisdiction_id=entry.jurisdiction_id,
    )
    session.commit()
    return entry


def set_person_active(
    session: Session, actor: User | None, entry_id: int, active: bool
) -> RosterEntry:
    """Take one person off the staff list (kept, inactive: not invited next time) or back on."""
    entry = get_entry(session, actor, entry_id)
    entry.active = active
    audit.record(
        session,
        actor,
        "staff.activate" if active else "staff.deactivate",
        entry.email,
        jurisdiction_id=entry.jurisdiction_id,
    )
    session.commit()
    return entry
