"""All of a wave's reports as one ZIP: request a batch, build it in the job queue, download it.

Only the wave's own jurisdiction administrators may request or download a batch: a ZIP holds
every unit's numbers, and the national office sees other jurisdictions only as benchmarks.
The build and ``flask reports build`` render through the same function here,
:func:`render_reports` (over :func:`reports.reports_to_build`, :func:`reports.build_context` and
:func:`app.reporting.render_pdf`), so the ZIP holds exactly the files the CLI writes. With
``workers`` > 1 (the setting ``REPORT_WORKERS``) the contexts are still built one by one in the
calling process (the database session stays there) while a pool of worker processes renders
them; each worker keeps its fonts and stylesheets for all the reports it renders.

A lost database connection (a PostgreSQL restart, a fail-over) does not end a build: the step that
met it — one report's context, or storing the progress — waits for the database and runs again
(:func:`app.db.reconnecting`), and what the ZIP holds is kept in memory, so every report is in the
ZIP once and counted once.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import zipfile
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Engine, and_, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db import lost_connection, reconnecting
from app.i18n import lazy_message as _l
from app.models import BatchStatus, ReportBatch, User, Wave, utcnow
from app.reporting import ReportContext, ReportRenderError, render_pdf
from app.reporting.context import PageSize
from app.reporting.render import warm_up
from app.services import access, audit, reports
from app.services.jurisdictions import NotFound

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: Folder under the instance path that holds the finished ZIPs.
BATCH_FOLDER = "report-batches"
_ACTIVE = (BatchStatus.QUEUED, BatchStatus.RUNNING)
#: A queued or running batch older than this is taken for abandoned (its worker was stopped).
STALE_AFTER = timedelta(hours=2)
#: The reason a batch records for a rendering error that says nothing itself (stored as data, in
#: English, like the renderer's own reasons).
_NOT_RENDERED = "The report could not be rendered."
#: Lost database connections one step of a build (a report, a progress save) rides through.
RECONNECT_TRIES = 3


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
    A lost database connection is waited out (see the module's docstring); one that outlasts
    ``RECONNECT_TRIES`` waits of ``app.db.RECONNECT_SECONDS`` raises.
    """
    what = f"the report batch {batch_id}"
    started = utcnow()
    claimed = _carrying_on(session, what, lambda: _claim(session, batch_id, started))
    batch = _carrying_on(
        session, what, lambda: session.get(ReportBatch, batch_id, populate_existing=True)
    )
    if batch is None:
        raise NotFound(_l("There is no report batch %(id)s.", id=batch_id))
    if not claimed:
        return batch
    job = _Job(
        what=what,
        wave_id=batch.wave_id,
        language=batch.language,
        page_size=page_size,
        min_jurisdictions=min_jurisdictions,
        batch_id=batch.id,
    )
    folder = Path(instance_path) / BATCH_FOLDER
    final = folder / f"wave-{job.wave_id}-batch-{job.batch_id}.zip"
    partial = final.with_name(final.name + ".part")
    progress = _Progress()
    try:
        entries = _carrying_on(session, what, lambda: _entries(session, job))
        folder.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            # Closed at once if this stops early, so no worker renders on for a dead build.
            rendered = contextlib.closing(render_reports(session, job, entries, workers=workers))
            with rendered as built:
                for report in built:
                    if report.pdf is None:
                        progress.fail(report.entry, report.reason)
                    else:
                        archive.writestr(report.entry.filename, report.pdf)
                        progress.done += 1
                    _save(session, job, progress)
    except (reports.ReportError, OSError) as error:
        return _stop(session, job, str(error) or type(error).__name__, partial)
    except Exception as error:
        log.exception("report batch %s stopped", batch_id)
        return _stop(session, job, f"Unexpected error: {type(error).__name__}", partial)
    if progress.done:
        os.replace(partial, final)
    else:
        partial.unlink(missing_ok=True)
    zipped = final if progress.done else None
    return _carrying_on(
        session, what, lambda: _finish(session, job, progress, len(entries), zipped)
    )


@dataclass(frozen=True)
class Rendering:
    """What rendering a wave's reports needs to know, read once: after a lost connection the
    session's objects are expired, and reading them again would need the database. ``what``
    names the build in log lines and in the wait for the database (``the report batch 7``)."""

    what: str
    wave_id: int
    language: str
    page_size: PageSize
    min_jurisdictions: int


@dataclass(frozen=True)
class _Job(Rendering):
    """A batch's rendering, and the batch whose progress it stores."""

    batch_id: int


@dataclass(frozen=True)
class RenderedReport:
    """One report of a build: its PDF, or (``pdf`` None) the reason it could not be built."""

    entry: reports.ReportEntry
    pdf: bytes | None
    reason: str = ""


@dataclass
class _Progress:
    """What the ZIP holds so far and why reports failed, kept in memory: storing it again after a
    lost connection (or a commit whose fate it hid) stores the same numbers, never one report
    counted twice."""

    done: int = 0
    failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    def fail(self, entry: reports.ReportEntry, reason: str) -> None:
        self.failed += 1
        self.errors.append({"unit": entry.path or entry.name, "reason": reason[:1000]})


class _ReportFailed(Exception):
    """One report could not be built; the message is the reason the batch records."""


def _carrying_on(session: Session, what: str, step: Callable[[], _T]) -> _T:
    """``step()``, run again once the database answers each time it meets a lost connection.

    A step reads and writes in transactions of its own, so one that died was rolled back whole;
    the session is rolled back too before the next try (it refuses to go on otherwise). A session
    bound to a caller's own connection (a test's transaction) has nothing to reconnect.
    """

    def attempt() -> _T:
        try:
            return step()
        except DBAPIError as error:
            if lost_connection(error):
                with contextlib.suppress(DBAPIError):
                    session.rollback()
            raise

    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return attempt()
    return reconnecting(bind, attempt, what, tries=RECONNECT_TRIES)


def _claim(session: Session, batch_id: int, started: datetime) -> bool:
    """Queued → running, atomically. A claim this run already stored (the answer to its commit
    lost with the connection) is still this run's: it carries this run's start time."""
    claim = session.execute(
        update(ReportBatch)
        .where(
            ReportBatch.id == batch_id,
            or_(
                ReportBatch.status == BatchStatus.QUEUED,
                and_(ReportBatch.status == BatchStatus.RUNNING, ReportBatch.started_at == started),
            ),
        )
        .values(status=BatchStatus.RUNNING, started_at=started)
        .execution_options(synchronize_session=False)
    )
    claimed = cast("CursorResult[Any]", claim).rowcount == 1
    session.commit()
    return claimed


def _batch(session: Session, job: _Job) -> ReportBatch:
    batch = session.get(ReportBatch, job.batch_id)
    assert batch is not None  # it was read at the start of the run
    return batch


def _entries(session: Session, job: _Job) -> list[reports.ReportEntry]:
    entries = reports.reports_to_build(session, job.wave_id)
    _batch(session, job).total = len(entries)
    session.commit()
    return entries


def _save(session: Session, job: _Job, progress: _Progress) -> None:
    """Store the progress (absolute numbers, so storing it twice changes nothing); commit."""

    def store() -> None:
        batch = _batch(session, job)
        batch.done = progress.done
        batch.failed_count = progress.failed
        if batch.errors != progress.errors:
            # A new list, not the one kept here: plain JSON columns do not track mutation.
            batch.errors = list(progress.errors)
        session.commit()

    _carrying_on(session, job.what, store)


def render_reports(
    session: Session,
    rendering: Rendering,
    entries: Sequence[reports.ReportEntry],
    *,
    workers: int = 1,
) -> Generator[RenderedReport, None, None]:
    """Each entry's PDF, or why it could not be built, in the order of ``entries``.

    ``workers`` > 1 renders in that many worker processes while this one builds the contexts;
    the reports still come out in entry order (a finished one waits for those before it), so
    whoever writes them writes the same files in the same order either way. A report that fails
    (a template or font error, a worker's crash, or anything else raised while building that one
    report) comes out with its reason and the others still build. A lost database connection is
    waited out as in :func:`run_batch`. Call it with nothing pending in the session: it ends
    the read transaction after each context, and rolls back what a failed report left. Close
    it (``contextlib.closing``) to stop early: the renderings not yet started are cancelled.
    """
    if workers > 1 and len(entries) > 1:
        yield from _render_in_pool(session, rendering, entries, workers)
        return
    for entry in entries:
        yield _render_here(session, rendering, entry)


def _failed(
    session: Session, rendering: Rendering, entry: reports.ReportEntry, error: Exception
) -> str:
    """Log a report's unexpected error; roll back what it left in the session; the reason."""
    log.exception("report of unit %s in %s failed", entry.unit_id, rendering.what)
    session.rollback()  # whatever the failed report left in the session is not ours to keep
    return f"{type(error).__name__}: {error}"


def _render_here(
    session: Session, rendering: Rendering, entry: reports.ReportEntry
) -> RenderedReport:
    """Render one unit in this process, or say why not."""

    def render() -> bytes:
        try:
            return reports.render_unit_report(
                session,
                rendering.wave_id,
                entry.unit_id,
                page_size=rendering.page_size,
                min_jurisdictions=rendering.min_jurisdictions,
                language=rendering.language,
            )
        except ReportRenderError as error:
            session.rollback()
            raise _ReportFailed(str(error) or _NOT_RENDERED) from error
        except DBAPIError as error:
            if lost_connection(error):
                raise  # this report is built again once the database answers
            raise _ReportFailed(_failed(session, rendering, entry, error)) from error
        except Exception as error:  # one report's bug must not cost the others
            raise _ReportFailed(_failed(session, rendering, entry, error)) from error

    try:
        pdf = _carrying_on(session, rendering.what, render)
    except _ReportFailed as failure:
        return RenderedReport(entry, None, str(failure))
    return RenderedReport(entry, pdf)


def _render_in_pool(
    session: Session,
    rendering: Rendering,
    entries: Sequence[reports.ReportEntry],
    workers: int,
) -> Iterator[RenderedReport]:
    """Build contexts here, render them in ``workers`` processes, give the PDFs in entry order.

    At most two reports per worker wait at any time, so memory stays small and the caller
    stores each report as it comes. Worker processes are started fresh ("spawn"), not forked
    from this one, which holds database connections and, in a job worker, other threads.
    A caller that stops early (an error, Ctrl+C) cancels the renderings not yet started.
    """
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=warm_up,
    )
    # A context that could not be built waits in line as its reason, so it comes out in order.
    pending: deque[tuple[reports.ReportEntry, Future[bytes] | str]] = deque()
    with pool:
        try:
            for entry in entries:
                ctx = _context(session, rendering, entry)
                rendered = ctx if isinstance(ctx, str) else pool.submit(render_pdf, ctx)
                pending.append((entry, rendered))
                while len(pending) > 2 * workers:
                    yield _collect(rendering, *pending.popleft())
            while pending:
                yield _collect(rendering, *pending.popleft())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _context(
    session: Session, rendering: Rendering, entry: reports.ReportEntry
) -> ReportContext | str:
    """One unit's report context, or the reason it could not be built."""

    def build() -> ReportContext:
        try:
            ctx = reports.build_context(
                session,
                rendering.wave_id,
                entry.unit_id,
                language=rendering.language,
                page_size=rendering.page_size,
                min_jurisdictions=rendering.min_jurisdictions,
            )
        except DBAPIError as error:
            if lost_connection(error):
                raise  # this context is built again once the database answers
            raise _ReportFailed(_failed(session, rendering, entry, error)) from error
        except Exception as error:  # one report's bug must not cost the others
            raise _ReportFailed(_failed(session, rendering, entry, error)) from error
        session.commit()  # end the read transaction: on SQLite it would hold up submissions
        return ctx

    try:
        return _carrying_on(session, rendering.what, build)
    except _ReportFailed as failure:
        return str(failure)


def _collect(
    rendering: Rendering, entry: reports.ReportEntry, rendered: Future[bytes] | str
) -> RenderedReport:
    """Wait for one rendering: its PDF, or why not."""
    if isinstance(rendered, str):
        return RenderedReport(entry, None, rendered)
    try:
        return RenderedReport(entry, rendered.result())
    except ReportRenderError as error:
        return RenderedReport(entry, None, str(error) or _NOT_RENDERED)
    except Exception as error:  # a worker's crash or bug must not cost the others
        log.error("report of unit %s in %s failed: %r", entry.unit_id, rendering.what, error)
        return RenderedReport(entry, None, f"{type(error).__name__}: {error}")


def _finish(
    session: Session, job: _Job, progress: _Progress, total: int, zipped: Path | None
) -> ReportBatch:
    """The batch's end: ``done`` when every report is in the ZIP, else ``failed``; commit."""
    batch = _batch(session, job)
    batch.done = progress.done
    batch.failed_count = progress.failed
    if batch.errors != progress.errors:
        batch.errors = list(progress.errors)
    if zipped is not None:
        batch.file_path = f"{BATCH_FOLDER}/{zipped.name}"
    else:
        batch.message = (
            "No report could be built."
            if total
            else "No unit of this wave has enough responses for a report of its own yet."
        )
    batch.status = (
        BatchStatus.DONE if progress.failed == 0 and progress.done else BatchStatus.FAILED
    )
    batch.finished_at = utcnow()
    session.commit()
    return batch


def _stop(session: Session, job: _Job, reason: str, partial: Path) -> ReportBatch:
    """End a batch that could not go on: failed, with the reason, and no half-written ZIP."""
    partial.unlink(missing_ok=True)

    def stop() -> ReportBatch:
        session.rollback()
        batch = _batch(session, job)
        batch.status = BatchStatus.FAILED
        batch.message = reason[:1000]
        batch.finished_at = utcnow()
        session.commit()
        return batch

    return _carrying_on(session, job.what, stop)
