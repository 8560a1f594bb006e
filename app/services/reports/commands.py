"""The commands that commit: an audited download, and building a wave's PDFs (CLI and ZIPs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from app.models import OrgUnit, User, Wave
from app.reporting import ReportCacheKey, ReportContext, cached_pdf, render_pdf
from app.reporting.context import PageSize
from app.services import access, audit
from app.services.reports.context import build_context
from app.services.reports.errors import UnitSuppressed, UnknownUnit
from app.services.reports.listing import ReportEntry, list_reports, report_filenames
from app.services.reports.publication import wave_results


def download_report(
    session: Session,
    user: User,
    wave_id: int,
    unit_id: int,
    *,
    cache_dir: Path | None = None,
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
    language: str = "en",
) -> tuple[str, bytes]:
    """The PDF of one unit for a signed-in user: scope check, render (cached), audit, commit.

    Raises ``access.PermissionDenied`` (out of scope or unknown: both look the same),
    ``UnitSuppressed``, ``NoResponses`` or ``UnknownWave``.
    """
    wave = session.get(Wave, wave_id)
    unit = session.get(OrgUnit, unit_id)
    if wave is None or unit is None or unit.jurisdiction_id != wave.jurisdiction_id:
        raise access.PermissionDenied("no such report")
    access.require_unit(user, unit)
    ctx = build_context(
        session,
        wave_id,
        unit_id,
        page_size=page_size,
        min_jurisdictions=min_jurisdictions,
        language=language,
    )
    if cache_dir is None:
        pdf = render_pdf(ctx)
    else:
        key = ReportCacheKey(
            wave_id, unit_id, _context_version(ctx), page_size=page_size, language=language
        )
        pdf = cached_pdf(cache_dir, key, lambda: render_pdf(ctx))
    audit.record(
        session,
        user,
        "report.download",
        f"wave {wave_id} / {unit.path or unit.name}",
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave_id,
        unit_id=unit_id,
        language=language,
    )
    session.commit()
    return report_filenames(wave_results(session, wave_id))[unit_id], pdf


def _context_version(ctx: ReportContext) -> str:
    """Scoring version plus what changes with the data (responses, date, comments' order aside).

    Last year's plan is part of it: editing that plan must not leave a stale PDF in the cache.
    """
    digest = hashlib.sha256(
        repr(
            (
                ctx.scoring_version,
                ctx.responses,
                ctx.invited,
                ctx.generated_on,
                ctx.previous_plan,
            )
        ).encode()
    )
    return digest.hexdigest()[:16]


def reports_to_build(
    session: Session, wave_id: int, *, unit_path: str | None = None
) -> list[ReportEntry]:
    """The shown units whose PDFs a build writes: all of the wave's, or only ``unit_path``.

    Raises ``UnknownUnit`` for an unknown path and ``UnitSuppressed`` when the asked-for unit is
    not shown (and ``NoResponses``/``UnknownWave`` from scoring the wave).
    """
    entries = list_reports(session, wave_id)
    if unit_path is not None:
        wanted = unit_path.strip()
        chosen = [e for e in entries if e.path == wanted]
        if not chosen:
            raise UnknownUnit(f"There is no unit {wanted!r} in this survey.")
        entry = chosen[0]
        if not entry.shown:
            raise UnitSuppressed(
                entry.name,
                entry.included_in,
                wave_results(session, wave_id).min_n,
                entry.hidden_reason or "too_few",
            )
        entries = chosen
    return [e for e in entries if e.shown]


def render_unit_report(
    session: Session,
    wave_id: int,
    unit_id: int,
    *,
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
    language: str = "en",
) -> bytes:
    """One unit's PDF for a build (CLI or ZIP batch); raises ``ReportRenderError`` and friends.

    Ends the session's read transaction before rendering: a PDF takes seconds, and on SQLite an
    open transaction holds the write lock that survey submissions need. Call it with nothing
    pending in the session.
    """
    ctx = build_context(
        session,
        wave_id,
        unit_id,
        page_size=page_size,
        min_jurisdictions=min_jurisdictions,
        language=language,
    )
    session.commit()
    return render_pdf(ctx)
