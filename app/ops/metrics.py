"""Operator metrics in the Prometheus text format, on the path ``METRICS_PATH`` (off by default).

Global figures only: emails of open waves by delivery state, jobs waiting in the queue, jobs that
failed, and one latency histogram over every request. Nothing is broken down by unit, wave or
day: a per-unit or per-day figure next to the response counts would be a timing channel.

Under gunicorn set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multi-process mode, an empty
folder per host) so the histogram sums every worker of the host; gunicorn.conf.py then removes a
dead worker's files. The database figures are read at scrape time and are the same on every host.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, g
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from app.db import READ_ONLY, get_database

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Redis key counting failed jobs across every worker (INCR is atomic).
FAILED_JOBS_KEY = "safety-survey:jobs-failed"

_local_failed_jobs = [0]


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _SharedFigures(Collector):
    """Figures read from the database and the queue when Prometheus scrapes."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from app.models import Invitation, Wave, WaveStatus

        up = GaugeMetricFamily(
            "survey_database_up", "1 when the database answered this scrape, else 0."
        )
        emails = GaugeMetricFamily(
            "survey_emails",
            "Invitations of open waves by delivery state (all jurisdictions together).",
            labels=["state"],
        )
        try:
            with get_database(self.app).engine.connect() as connection:
                rows = (
                    connection.execution_options(**READ_ONLY)
                    .execute(
                        select(Invitation.delivery_status, func.count())
                        .join(Wave, Wave.id == Invitation.wave_id)
                        .where(Wave.status == WaveStatus.OPEN)
                        .group_by(Invitation.delivery_status)
                    )
                    .all()
                )
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            from app.models import DeliveryStatus

            counts = {str(status): int(n) for status, n in rows}
            for state in DeliveryStatus:
                emails.add_metric([str(state)], counts.get(str(state), 0))
            yield emails
        depth = GaugeMetricFamily("survey_queue_depth", "Jobs waiting in the job queue.")
        failed = CounterMetricFamily(
            "survey_jobs_failed", "Jobs that ended with an error (every worker together)."
        )
        try:
            depth.add_metric([], _queue_depth())
            yield depth
        except Exception:  # the queue unreachable: say nothing rather than a wrong 0
            pass
        try:
            failed.add_metric([], _failed_jobs())
            yield failed
        except Exception:
            pass


def _queue_depth() -> int:
    from app import tasks

    return tasks.pending_jobs()


def _failed_jobs() -> int:
    from app import tasks

    client = tasks.redis_client()
    if client is None:
        return _local_failed_jobs[0]
    return int(client.get(FAILED_JOBS_KEY) or 0)


def count_failed_job(redis_client: Any) -> None:
    """Called by the worker when a job raises (shared through Redis when there is one)."""
    if redis_client is None:
        _local_failed_jobs[0] += 1
        return
    redis_client.incr(FAILED_JOBS_KEY)


def init_app(app: Flask) -> None:
    path = app.config.get("METRICS_PATH")
    if not path:
        return
    registry = CollectorRegistry()
    multiproc = multiprocess_dir()
    if multiproc:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=multiproc)  # type: ignore[no-untyped-call]
    latency = Histogram(
        "survey_request_seconds",
        "Time to answer a request (every route together).",
        # In multi-process mode the values live in files collected above; registering the
        # histogram as well would count it twice.
        registry=None if multiproc else registry,
    )
    registry.register(_SharedFigures(app))
    app.extensions["ops_metrics"] = registry

    @app.before_request
    def _start_clock() -> None:
        g.ops_started = time.perf_counter()

    @app.after_request
    def _stop_clock(response: Response) -> Response:
        started = g.pop("ops_started", None)
        if started is not None:
            latency.observe(time.perf_counter() - started)
        return response

    def metrics_view() -> Response:
        return Response(generate_latest(registry), status=200, content_type=CONTENT_TYPE)

    app.add_url_rule(path, endpoint="ops_metrics", view_func=metrics_view, methods=["GET"])
