"""All of a wave's reports as one ZIP: request a batch, build it in the job queue, download it.

Only the wave's own jurisdiction administrators may request or download a batch: a ZIP holds
every unit's numbers, and the national office sees other jurisdictions only as benchmarks.
The build goes through the same path as ``flask reports build`` (:func:`reports.reports_to_build`,
:func:`reports.build_context` and :func:`app.reporting.render_pdf`), so the ZIP holds exactly
the files the CLI writes. With ``workers`` > 1 the contexts are still built one by one in the
job's process (the database session stays there) while a pool of worker processes renders
them; each worker keeps its fonts and stylesheets for all the reports it renders.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import zipfile
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from app.i18n import lazy_message as _l
from app.models import BatchStatus, ReportBatch, User, Wave, utcnow
from app.reporting import ReportContext, ReportRenderError, render_pdf
from app.reporting.context import PageSize
from app.reporting.render import warm_up
from app.services import access, audit, reports
from app.services.jurisdictions import NotFound

log = logging.getLogger(__name__)

#: Folder under the instance path that holds the finished ZIPs.
BATCH_FOLDER = "report-batches"
_ACTIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING)
#: A queued or running batch older than this is taken for abandoned (its worker was stopped).
STALE_AFTER = timedelta(hours=2)


class BatchNotReady(Exception):
    """The batch has no ZIP to download (still running, or nothing could be built)."""


def _managed_wave(session: Session, user: User, wave_id: int) -> Wave:
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("There is no survey wave %(id)s.", id=wave_id))
    access.require_jurisdiction_admin(user, wave.jurisdiction_id)
    return wave


def request_batch(
    session: Session, user: User, wave_id: int, *, language: str = "en"
) -> ReportBatch:
    """Queue a ZIP build of every shown unit's report; commit; the caller enqueues the job.

    A batch of the same wave that is still queued or running (and younger than
    ``STALE_AFTER``, which a killed worker's batch is not) is returned instead of a new one,
    so a double click builds the reports once. Raises ``NotFound`` or ``PermissionDenied``.
    """
    wave = _managed_wave(session, user, wave_id)
    active = session.scalars(
        select(ReportBatch)
        .where(
            ReportBatch.wave_id == wave.id,
            ReportBatch.status.in_(_ACTIVE),
            ReportBatch.language == language,
            ReportBatch.created_at > utcnow() - STALE_AFTER,
        )
        .order_by(ReportBatch.id.desc())
        .limit(1)
    ).first()
    if active is not None:
        return active
    batch = ReportBatch(
        wave_id=wave.id,
        requested_by=user.id,
        status=BatchStatus.QUEUED,
        errors=[],
        language=language,
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        user,
        "reports.zip.request",
        f"wave {wave.id}",
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave.id,
        batch_id=batch.id,
    )
    session.commit()
    return batch


def get_batch(session: Session, user: User, batch_id: int) -> ReportBatch:
    """A batch of a wave the user administers. Raises ``NotFound`` or ``PermissionDenied``."""
    batch = session.get(ReportBatch, batch_id)
    if batch is None:
        raise NotFound(_l("There is no report batch %(id)s.", id=batch_id))
    _managed_wave(session, user, batch.wave_id)
    return batch


def list_batches(
    session: Session, user: User, wave_id: int, *, limit: int = 10
) -> Sequence[ReportBatch]:
    """The wave's latest batches, newest first. Raises ``NotFound`` or ``PermissionDenied``."""
    wave = _managed_wave(session, user, wave_id)
    return session.scalars(
        select(ReportBatch)
        .where(ReportBatch.wave_id == wave.id)
        .order_by(ReportBatch.id.desc())
        .limit(limit)
    ).all()


def zip_name(wave: Wave) -> str:
    """Download name of a wave's ZIP: ``<jurisdiction slug>-<year>-reports.zip``."""
    return f"{wave.jurisdiction.slug}-{wave.year}-reports.zip"


def open_download(
    session: Session, user: User, batch_id: int, instance_path: Path | str
) -> tuple[str, Path]:
    """Scope check, audit and commit a ZIP download; returns (download name, file on disk).

    Raises ``NotFound``, ``access.PermissionDenied`` or ``BatchNotReady``.
    """
    batch = get_batch(session, user, batch_id)
    path = _zip_file(batch, Path(instance_path))
    if path is None:
        raise BatchNotReady(_l("This batch has no ZIP to download yet."))
    wave = session.get(Wave, batch.wave_id)
    assert wave is not None  # foreign key
    audit.record(
        session,
        user,
        "reports.zip.download",
        f"wave {wave.id} / batch {batch.id}",
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave.id,
        batch_id=batch.id,
        reports=batch.done,
    )
    session.commit()
    return zip_name(wave), path


def _zip_file(batch: ReportBatch, instance_path: Path) -> Path | None:
    """The batch's ZIP if it exists and lies inside the batch folder (the column is data)."""
    if not batch.file_path:
        return None
    folder = (instance_path / BATCH_FOLDER).resolve()
    path = (instance_path / batch.file_path).resolve()
    if path.parent != folder or not path.is_file():
        return None
    return path


def run_batch(
    session: Session,
    batch_id: int,
    instance_path: Path | str,
    *,
    page_size: PageSize = "A4",
    min_jurisdictions: int = 5,
    workers: int = 1,
) -> ReportBatch:
    """Build every shown unit's PDF into the batch's ZIP, committing progress after each report.

    ``workers`` > 1 renders in that many worker processes (the setting ``REPORT_WORKERS``);
    the ZIP holds the same files in the same order either way.

    A report that fails (a template or font error, or anything else raised while building that
    one report) is recorded with its reason and the others still build. The batch ends ``done``
    when every report is in the ZIP, else ``failed`` (the ZIP then holds the reports that built).
    Only a queued batch is claimed (atomically), so a job that runs twice builds nothing twice.
    """
    claim = session.execute(
        update(ReportBatch)
        .where(ReportBatch.id == batch_id, ReportBatch.status == BatchStatus.QUEUED)
        .values(status=BatchStatus.RUNNING, started_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    claimed = cast("CursorResult[Any]", claim).rowcount == 1
    session.commit()
    batch = session.get(ReportBatch, batch_id, populate_existing=True)
    if batch is None:
        raise NotFound(_l("There is no report batch %(id)s.", id=batch_id))
    if not claimed:
        return batch
    folder = Path(instance_path) / BATCH_FOLDER
    final = folder / f"wave-{batch.wave_id}-batch-{batch.id}.zip"
    partial = final.with_name(final.name + ".part")
    try:
        entries = reports.reports_to_build(session, batch.wave_id)
        batch.total = len(entries)
        session.commit()
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            if workers > 1 and len(entries) > 1:
                _add_in_pool(
                    session, batch, archive, entries, page_size, min_jurisdictions, workers
                )
            else:
                for entry in entries:
                    _add_report(session, batch, archive, entry, page_size, min_jurisdictions)
    except (reports.ReportError, OSError) as error:
        return _stop(session, batch_id, str(error) or type(error).__name__, partial)
    except Exception as error:
        log.exception("report batch %s stopped", batch_id)
        return _stop(session, batch_id, f"Unexpected error: {type(error).__name__}", partial)
    if batch.done:
        os.replace(partial, final)
        batch.file_path = f"{BATCH_FOLDER}/{final.name}"
    else:
        partial.unlink(missing_ok=True)
        batch.message = (
            "No report could be built."
            if batch.total
            else "No unit of this wave has enough responses for a report of its own yet."
        )
    batch.status = (
        BatchStatus.DONE if batch.failed_count == 0 and batch.done else BatchStatus.FAILED
    )
    batch.finished_at = utcnow()
    session.commit()
    return batch


def _add_report(
    session: Session,
    batch: ReportBatch,
    archive: zipfile.ZipFile,
    entry: reports.ReportEntry,
    page_size: PageSize,
    min_jurisdictions: int,
) -> None:
    """Render one unit into the archive, or record why not; commit the progress either way."""
    try:
        pdf = reports.render_unit_report(
            session,
            batch.wave_id,
            entry.unit_id,
            page_size=page_size,
            min_jurisdictions=min_jurisdictions,
            language=batch.language,
        )
    except ReportRenderError as error:
        _record_failure(session, batch, entry, str(error) or "The report could not be rendered.")
        return
    except Exception as error:  # one report's bug must not cost the others
        log.exception("report of unit %s in batch %s failed", entry.unit_id, batch.id)
        _record_failure(session, batch, entry, f"{type(error).__name__}: {error}")
        return
    archive.writestr(entry.filename, pdf)
    batch.done += 1
    session.commit()


def _add_in_pool(
    session: Session,
    batch: ReportBatch,
    archive: zipfile.ZipFile,
    entries: Sequence[reports.ReportEntry],
    page_size: PageSize,
    min_jurisdictions: int,
    workers: int,
) -> None:
    """Build contexts here, render them in ``workers`` processes, add the PDFs in entry order.

    At most two reports per worker wait at any time, so memory stays small and progress is
    committed as reports finish. Worker processes are started fresh ("spawn"), not forked
    from this one, which holds database connections and, in a worker, other threads.
    """
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=warm_up,
    )
    pending: deque[tuple[reports.ReportEntry, Future[bytes]]] = deque()
    with pool:
        for entry in entries:
            ctx = _context(session, batch, entry, page_size, min_jurisdictions)
            if ctx is not None:
                pending.append((entry, pool.submit(render_pdf, ctx)))
            while len(pending) > 2 * workers:
                _add_rendered(session, batch, archive, *pending.popleft())
        while pending:
            _add_rendered(session, batch, archive, *pending.popleft())


def _context(
    session: Session,
    batch: ReportBatch,
    entry: reports.ReportEntry,
    page_size: PageSize,
    min_jurisdictions: int,
) -> ReportContext | None:
    """One unit's report context, or None with the failure recorded."""
    try:
        ctx = reports.build_context(
            session,
            batch.wave_id,
            entry.unit_id,
            page_size=page_size,
            min_jurisdictions=min_jurisdictions,
        )
    except Exception as error:  # one report's bug must not cost the others
        log.exception("report of unit %s in batch %s failed", entry.unit_id, batch.id)
        _record_failure(session, batch, entry, f"{type(error).__name__}: {error}")
        return None
    session.commit()  # end the read transaction: on SQLite it would hold up submissions
    return ctx


def _add_rendered(
    session: Session,
    batch: ReportBatch,
    archive: zipfile.ZipFile,
    entry: reports.ReportEntry,
    rendering: Future[bytes],
) -> None:
    """Wait for one rendering and add its PDF, or record why not; commit either way."""
    try:
        pdf = rendering.result()
    except ReportRenderError as error:
        _record_failure(session, batch, entry, str(error) or "The report could not be rendered.")
        return
    except Exception as error:  # a worker's crash or bug must not cost the others
        log.error("report of unit %s in batch %s failed: %r", entry.unit_id, batch.id, error)
        _record_failure(session, batch, entry, f"{type(error).__name__}: {error}")
        return
    archive.writestr(entry.filename, pdf)
    batch.done += 1
    session.commit()


def _record_failure(
    session: Session, batch: ReportBatch, entry: reports.ReportEntry, reason: str
) -> None:
    session.rollback()  # whatever the failed report left in the session is not ours to keep
    batch.failed_count += 1
    # A new list, not an in-place append: plain JSON columns do not track mutation.
    batch.errors = [*batch.errors, {"unit": entry.path or entry.name, "reason": reason[:1000]}]
    session.commit()


def _stop(session: Session, batch_id: int, reason: str, partial: Path) -> ReportBatch:
    """End a batch that could not go on: failed, with the reason, and no half-written ZIP."""
    session.rollback()
    partial.unlink(missing_ok=True)
    batch = session.get(ReportBatch, batch_id)
    assert batch is not None  # it was read at the start of the run
    batch.status = BatchStatus.FAILED
    batch.message = reason[:1000]
    batch.finished_at = utcnow()
    session.commit()
    return batch
