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
import threading
import time
from collections.abc import Callable, Iterator
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
_EXTENSION = "ops_failed_jobs"


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class _SharedFigures(Collector):
    """Figures read from the database and the queue when Prometheus scrapes."""

    def __init__(self, app: Flask, failed_jobs: FailedJobs) -> None:
        self.app = app
        self.failed_jobs = failed_jobs

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
            failed.add_metric([], self.failed_jobs.total())
            yield failed
        except Exception:
            pass


def _queue_depth() -> int:
    from app import tasks

    return tasks.pending_jobs()


def _queue_redis() -> Any:
    from app import tasks

    return tasks.redis_client()


class FailedJobs:
    """Jobs that ended with an error: kept in the queue's Redis when the queue is there (every
    worker together, INCR is atomic), else counted in this process under a lock (a consumer's
    worker threads fail jobs at once). Made by :func:`init_app`, one per application."""

    def __init__(self, redis_client: Callable[[], Any] = _queue_redis) -> None:
        self._redis_client = redis_client
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        """Count one failed job."""
        client = self._redis_client()
        if client is not None:
            client.incr(FAILED_JOBS_KEY)
            return
        with self._lock:
            self._count += 1

    def total(self) -> int:
        """Failed jobs so far (in Redis: of every worker since the key was made)."""
        client = self._redis_client()
        if client is not None:
            return int(client.get(FAILED_JOBS_KEY) or 0)
        with self._lock:
            return self._count


def failed_jobs(app: Flask) -> FailedJobs:
    """The application's failed-jobs counter (raises ``KeyError`` before :func:`init_app`)."""
    counter: FailedJobs = app.extensions[_EXTENSION]
    return counter


def init_app(app: Flask) -> None:
    # Jobs are counted whether or not this process serves the metrics: the worker counts, and
    # with Redis the web processes read what every worker counted.
    counter = app.extensions[_EXTENSION] = FailedJobs()
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
    registry.register(_SharedFigures(app, counter))
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
