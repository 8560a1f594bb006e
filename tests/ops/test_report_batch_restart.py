"""A wave's report ZIP built through a PostgreSQL restart (fast): the build carries on on a new
connection, every report is in the ZIP once and counted once, and the batch ends ``done``.

As in test_mixer_restart.py, the restart is made from inside the build while a transaction of
its session is open — while one report's context is read, or while the progress after a report
is committed — so it always lands mid-step (between two steps ``pool_pre_ping`` would absorb
it, which proves nothing about the build).
"""

from __future__ import annotations

import logging
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import BatchStatus, ReportBatch
from app.services import report_batches, reports
from tests.reports.conftest import seed_small
from tests.reports.test_report_batches import CLI_FILES, _make_admin

from .conftest import own_servers
from .servers import PgCluster

pytestmark = [own_servers, pytest.mark.slow]


@pytest.fixture
def report_cache() -> Iterator[None]:
    """The report cache lives in an application, as in a worker."""
    holder = Flask("report-batch-restart")
    reports.init_app(holder)
    with holder.app_context():
        yield


def _restart_mid_transaction(cluster: PgCluster, session: Session) -> None:
    session.execute(text("SELECT 1"))  # the session's transaction is open on a connection
    cluster.restart("fast")


def _restart_on_third_call(
    cluster: PgCluster, real: Callable[..., Any], fired: list[str]
) -> Callable[..., Any]:
    calls: list[int] = []

    def wrapper(session: Session, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:  # two reports are in the ZIP
            _restart_mid_transaction(cluster, session)
            fired.append("restarted")
        return real(session, *args, **kwargs)

    return wrapper


@pytest.mark.timeout(240)
@pytest.mark.parametrize(
    ("workers", "where"),
    [(1, "report"), (2, "context"), (2, "progress")],
    ids=["in-process, while a report is read", "pool, while a context is read",
         "pool, while the progress is committed"],
)  # fmt: skip
def test_report_batch_restarted_mid_build_zips_every_report_once_and_ends_done(
    pg_cluster: PgCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    report_cache: None,
    workers: int,
    where: str,
) -> None:
    engine = make_engine(pg_cluster.create_database(f"batch_{uuid.uuid4().hex[:10]}"))
    upgrade(engine)
    session = Session(engine, expire_on_commit=False)
    fired: list[str] = []
    try:
        small = seed_small(session)
        admin = _make_admin(session, "admin@lake.example", small.jurisdiction_id)
        batch_id = report_batches.request_batch(session, admin, small.waves[2026]).id
        session.close()
        if where == "report":
            real = reports.render_unit_report
            monkeypatch.setattr(
                reports, "render_unit_report", _restart_on_third_call(pg_cluster, real, fired)
            )
        elif where == "context":
            real = reports.build_context
            monkeypatch.setattr(
                reports, "build_context", _restart_on_third_call(pg_cluster, real, fired)
            )
        else:

            @event.listens_for(session, "before_commit")
            def restart_before_the_third_report_is_stored(held: Session) -> None:
                stored = [o for o in held.dirty if isinstance(o, ReportBatch) and o.done == 3]
                if stored and not fired:
                    _restart_mid_transaction(pg_cluster, held)
                    fired.append("restarted")

        with caplog.at_level(logging.WARNING, logger="app.db"):
            batch = report_batches.run_batch(session, batch_id, tmp_path, workers=workers)
        assert fired == ["restarted"]
        assert (batch.status, batch.message) == (BatchStatus.DONE, None), batch.errors
        assert (batch.total, batch.done, batch.failed_count, batch.errors) == (7, 7, 0, [])
        assert batch.file_path
        with zipfile.ZipFile(tmp_path / batch.file_path) as archive:
            names = archive.namelist()
            assert all(archive.read(name).startswith(b"%PDF") for name in names)
        assert len(names) == len(set(names)) and set(names) == CLI_FILES
        with Session(engine) as fresh:  # what the database holds, not the session's copy
            stored = fresh.get(ReportBatch, batch_id)
            assert stored is not None
            assert (stored.status, stored.done, stored.failed_count) == (BatchStatus.DONE, 7, 0)
        assert f"the report batch {batch_id} lost the database connection" in caplog.text
    finally:
        session.close()
        engine.dispose()
