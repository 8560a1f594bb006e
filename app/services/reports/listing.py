"""The report list of a wave: every unit, shown with a unique file name or hidden with why."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import User, Wave
from app.services import access
from app.services.reports.errors import HiddenReason, NoResponses
from app.services.reports.publication import WaveResults, wave_results

ReportKind = Literal["team", "unit"]


@dataclass(frozen=True)
class ReportEntry:
    """One unit of a wave: a downloadable report, or hidden (with why) and no numbers."""

    unit_id: int
    name: str
    path: str
    unit_kind: str
    kind: ReportKind
    depth: int
    shown: bool
    included_in: str | None
    filename: str
    hidden_reason: HiddenReason | None = None


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by ``-``: ``Équipe Nord`` → ``equipe-nord``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def slugify_path(path: str) -> str:
    """File name stem of a unit path: ``Region 1 / North Office`` → ``region-1__north-office``."""
    if not path:
        return "agency"
    return "__".join(slugify(part) or "unit" for part in path.split("/"))


def report_filenames(results: WaveResults) -> dict[int, str]:
    """A file name per unit, unique within the wave: jurisdiction, year and unit path.

    ``Team A`` and ``Team-A`` make the same slug; where slugs collide, each of them gets a
    short hash of its exact path, so no report overwrites another in a ZIP or a folder.
    """
    prefix = f"{slugify(results.jurisdiction_slug) or 'jurisdiction'}-{results.year}"
    stems = {u.id: slugify_path(u.path) for u in results.units.values()}
    taken = Counter(stems.values())
    names = {}
    for unit_id, stem in stems.items():
        if taken[stem] > 1:
            path = results.units[unit_id].path
            stem = f"{stem}~{hashlib.sha256(path.encode()).hexdigest()[:8]}"
        names[unit_id] = f"{prefix}-{stem}.pdf"
    return names


def list_reports(session: Session, wave_id: int) -> list[ReportEntry]:
    """Every unit of the wave's tree, by path: shown ones with a report file name."""
    return entries_of(wave_results(session, wave_id))


def entries_of(results: WaveResults) -> list[ReportEntry]:
    names = report_filenames(results)
    entries = []
    for unit in sorted(results.units.values(), key=lambda u: u.path):
        shown = results.shown(unit.id)
        above = None if shown else results.included_in(unit.id)
        entries.append(
            ReportEntry(
                unit_id=unit.id,
                name=unit.name,
                path=unit.path,
                unit_kind=unit.kind,
                kind="team" if results.is_leaf(unit.id) else "unit",
                depth=unit.depth,
                shown=shown,
                included_in=None if shown or above is None else above.name,
                filename=names[unit.id],
                hidden_reason=results.hidden_reason(unit.id),
            )
        )
    return entries


@dataclass(frozen=True)
class WaveReports:
    """One wave and the reports a user may download from it."""

    wave_id: int
    year: int
    jurisdiction_name: str
    status: str
    min_n: int
    entries: tuple[ReportEntry, ...]
    message: str | None = None


def list_reports_for(session: Session, user: User) -> list[WaveReports]:
    """Waves of the user's jurisdiction with the units in the user's scope (national: none)."""
    scope = {u.id for u in access.units_in_scope(session, user)}
    if not scope or user.jurisdiction_id is None:
        return []
    waves = session.scalars(
        select(Wave).where(Wave.jurisdiction_id == user.jurisdiction_id).order_by(Wave.year.desc())
    ).all()
    out = []
    for wave in waves:
        name = wave.jurisdiction.name
        status = str(wave.status)
        try:
            entries = tuple(e for e in list_reports(session, wave.id) if e.unit_id in scope)
        except NoResponses as error:
            out.append(
                WaveReports(wave.id, wave.year, name, status, wave.min_report_n, (), str(error))
            )
            continue
        out.append(WaveReports(wave.id, wave.year, name, status, wave.min_report_n, entries))
    return out
