"""Huey background jobs: thin wrappers over the delivery, wave and report-batch services.

Storage: Redis when ``REDIS_URL`` is set, else SQLite at ``instance/huey.sqlite3``; tests run in
immediate mode (a job runs when it is enqueued). ``flask --app wsgi worker`` runs a consumer;
the demo calls :func:`start_inprocess_consumer`.

One job per batch of invitations; inside a job every invitation is claimed and recorded on its
own (app/services/delivery.py), so a job that runs twice, or next to a periodic sweep that queued
the same ids, sends nothing twice.

Restarts: a job that loses its database connection waits for the database (up to
``app.db.RECONNECT_SECONDS``) and carries on in the same worker — the mailer from the invitation
where it stopped, the mixer with what is still pooled. A Redis that restarted without its queue
is noticed by :class:`RedisRestartWatch`, which queues the due work again.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey, crontab, signals
from huey.consumer import Consumer
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import select

from app import keys
from app.db import get_database, reconnecting, scrub_journal
from app.models import Wave, WaveStatus, utcnow
from app.services import delivery, mail, report_batches, responses, sealing, waves

log = logging.getLogger(__name__)

huey = Huey("safety-survey", immediate=True, results=False)
_state: dict[str, Flask] = {}


def init_app(app: Flask) -> None:
    """Bind the queue to this application: its storage, its database, its mail settings."""
    _state["app"] = app
    if app.config.get("TESTING") and not app.config.get("HUEY_STORAGE"):
        huey.immediate = True
        return
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": redis_url}
    else:
        path = Path(app.config.get("HUEY_STORAGE") or Path(app.instance_path) / "huey.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        # The queue names invitations: readable by its owner only (SQLite gives the -wal and
        # -shm files the database file's mode).
        path.touch(mode=0o600)
        path.chmod(0o600)
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(path)}
    huey.immediate = False
    huey.storage = huey.create_storage()


def redis_client() -> Any:
    """The queue's Redis connection (``None`` when the queue is not on Redis)."""
    if huey.immediate or not isinstance(huey.storage, RedisStorage):
        return None
    return huey.storage.conn


@huey.signal(signals.SIGNAL_ERROR)  # type: ignore[untyped-decorator]
def _count_failure(_signal: str, task: Any, exc: BaseException | None = None) -> None:
    from app.ops.metrics import failed_jobs

    try:
        failed_jobs(_app()).add()
    except Exception:  # a metric must never turn a failed job into a crashed worker
        log.warning("could not count a failed job (%s)", type(task).__name__)


def _app() -> Flask:
    try:
        return _state["app"]
    except KeyError:
        raise RuntimeError("the job queue is not bound to an application") from None


@huey.task()  # type: ignore[untyped-decorator]
def send_batch(invitation_ids: list[int]) -> dict[str, int]:
    """Deliver one batch of invitations (claim → send → record, one by one)."""
    app = _app()
    with app.app_context():
        session = get_database(app).sessions()
        try:
            report = delivery.deliver(
                session,
                invitation_ids,
                mail.mailer_from_config(app.config, app.instance_path),
                mailer_keys=keys.mailer_keyring(app),
                public_url=app.config["PUBLIC_URL"],
                mail_from=app.config["MAIL_FROM"],
            )
        finally:
            session.close()
    if report.unreachable:
        log.warning("mail server unreachable; invitations stay queued: %s", report.details[:1])
    return {
        "sent": report.sent,
        "retry": report.retry,
        "bounced": report.bounced,
        "failed": report.failed,
        "unreachable": report.unreachable,
    }


#: One process queues a wave's mixer job at most this often (see :func:`request_mix`).
MIX_REQUEST_SECONDS = 5.0


def request_mix(app: Flask, wave_id: int) -> bool:
    """Queue the mixer for ``wave_id``, unless this process queued it moments ago.

    A submit that fills a team's pool asks for the mixer; in the first hours of a wave, with
    teams filling at once, every submit after the first found the pool ready again before the
    worker had run, and queued one more job (a write to the queue on each). One job per wave
    every few seconds per process is enough: the job moves every team that is ready, and the
    worker's minute sweep queues it anyway. Returns whether a job was queued.
    """
    if not huey.immediate:
        asked: dict[int, float] = app.extensions.setdefault("mix_requested", {})
        now = time.monotonic()
        last = asked.get(wave_id)
        if last is not None and now - last < MIX_REQUEST_SECONDS:
            return False
        asked[wave_id] = now
    mix_wave(wave_id)
    return True


@huey.task()  # type: ignore[untyped-decorator]
def mix_wave(wave_id: int) -> int:
    """The mixer: move what is ready in a wave's shuffle pool (everything once it is closed).

    Runs only where the mix private key is (the worker; the demo's in-process consumer). A key
    that does not open the pool stops it with one clear line and nothing moved.
    """
    app = _app()
    database = get_database(app)

    def mix() -> int:
        session = database.sessions()
        try:
            mix_keys = keys.mix_keyring(app)
            status = session.scalar(select(Wave.status).where(Wave.id == wave_id))
            session.rollback()
            if status == WaveStatus.CLOSED:
                return waves.finish_close(session, wave_id, mix_keys=mix_keys)
            return responses.move_pool(session, wave_id, keys=mix_keys)
        except (sealing.KeyFileError, responses.MixKeyMismatch) as error:
            log.error("mixer stopped, nothing moved: %s", error)
            raise
        finally:
            session.close()

    with app.app_context():
        # Each pool batch moves in one transaction: after a lost connection the same job, on a
        # new connection, moves what is still pooled (nothing twice, nothing half-moved).
        return reconnecting(database.engine, mix, "the mixer")


@huey.task()  # type: ignore[untyped-decorator]
def build_report_batch(batch_id: int) -> dict[str, int]:
    """Build all of a wave's reports into the batch's ZIP (progress is committed per report)."""
    app = _app()
    with app.app_context():
        session = get_database(app).sessions()
        try:
            batch = report_batches.run_batch(
                session,
                batch_id,
                Path(app.instance_path),
                page_size=app.config["REPORT_PAGE_SIZE"],
                min_jurisdictions=app.config["BENCHMARK_MIN_JURISDICTIONS"],
                # Run inline (immediate mode: tests, no worker), a job renders in-process.
                workers=1 if huey.immediate else app.config["REPORT_WORKERS"],
            )
        finally:
            session.close()
    return {"total": batch.total, "done": batch.done, "failed": batch.failed_count}


def dispatch(wave_id: int | None = None) -> int:
    """Enqueue one job per batch of due invitations (of one wave, or all); returns the jobs."""
    app = _app()
    session = get_database(app).sessions()
    try:
        batches = delivery.due_batches(session, utcnow(), wave_id=wave_id)
    finally:
        session.close()
    for batch in batches:
        send_batch(batch)
    return len(batches)


def sweep() -> dict[str, Any]:
    """What the periodic task does every minute: close due waves, flag interrupted sends,
    re-queue what is due (only when the queue is empty, so a backlog is not queued twice)."""
    app = _app()
    session = get_database(app).sessions()
    try:
        closed = waves.close_due_waves(session, instance_path=app.instance_path)
        interrupted = delivery.recover_interrupted(session, utcnow())
        to_mix = waves.waves_to_mix(session)
    finally:
        session.close()
    for wave_id, _closed in to_mix:
        # Closed waves are flushed, open ones move the batches that are ready (also catches up on
        # a mixer job lost or refused earlier, e.g. while the key was missing).
        mix_wave(wave_id)
    jobs = dispatch() if huey.immediate or huey.pending_count() == 0 else 0
    # A checkpoint right after a submit gives up when readers are in the way (a request must not
    # wait for them); this one may wait, so a WAL emptied late is emptied within a minute.
    with get_database(app).sessions() as session:
        scrub_journal(session, wait_ms=5000)
    return {"closed": closed, "interrupted": interrupted, "jobs": jobs}


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]
def periodic_sweep() -> None:
    result = reconnecting(get_database(_app()).engine, sweep, "the sweep", tries=2)
    if result["closed"] or result["interrupted"]:
        log.info(
            "sweep: closed waves %s, interrupted sends %s", result["closed"], result["interrupted"]
        )


def pending_jobs() -> int:
    """Jobs waiting in the queue (0 in immediate mode)."""
    return 0 if huey.immediate else int(huey.pending_count())


class _ThreadConsumer(Consumer):  # type: ignore[misc]
    """A consumer that can start outside the main thread (no signal handlers)."""

    def _set_signal_handlers(self) -> None:
        return None


def start_inprocess_consumer(app: Flask, workers: int = 1) -> Consumer:
    """Start consumer threads inside this process (the demo); ``.stop()`` ends them."""
    init_app(app)
    if huey.immediate:
        raise RuntimeError("the job queue is in immediate mode; nothing to consume")
    consumer = _ThreadConsumer(huey, workers=workers, worker_type="thread", periodic=True)
    consumer.start()
    dispatch()  # whatever was left queued by an earlier run
    return consumer


#: Longest pause between two reads of the queue after errors (seconds).
CONSUMER_MAX_DELAY = 2.0


def run_consumer(app: Flask, workers: int = 1) -> None:
    """Run a consumer in the foreground until interrupted (``flask --app wsgi worker``)."""
    init_app(app)
    # max_delay: after a Redis outage (each failed read lengthens the pause, up to this) the worker
    # is back within two seconds of Redis, not ten (huey's default).
    consumer = huey.create_consumer(
        workers=workers, worker_type="thread", periodic=True, max_delay=CONSUMER_MAX_DELAY
    )
    database = get_database(app)

    def start_up() -> None:
        session = database.sessions()
        try:
            delivery.recover_interrupted(session, utcnow())
        finally:
            session.close()
        # Re-queue what a stopped worker left behind (claims in 'sending' are not resent).
        dispatch()

    # A connection lost between the app's start (which exits at once, naming the server, if the
    # database cannot be reached: the service manager starts it again) and this first job.
    reconnecting(database.engine, start_up, "the worker's start-up", tries=2)
    watch = RedisRestartWatch()
    if redis_client() is not None:
        # The first look, before any job runs: a restart is a change from this run id.
        watch.look()
        threading.Thread(target=watch.run, name="redis-restart-watch", daemon=True).start()
    try:
        consumer.run()
    finally:
        watch.stop.set()


class RedisRestartWatch:
    """Re-queue due work after Redis restarted and lost its queue.

    A Redis without persistence that is killed loses the jobs it held; the invitations they named
    are still ``queued`` in the database. Each Redis run has its own ``run_id``: when it changes,
    the first worker to notice (one Redis key, set once per run) recovers interrupted claims and
    dispatches again if the queue is empty. A job queued twice sends nothing twice (claims).
    """

    interval = 1.0

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.run_id: str | None = None
        self.outage = False

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.look()

    def look(self) -> bool:
        """One look that never raises (Redis or the database away: try again next time)."""
        try:
            return self.check()
        except Exception as error:
            log.debug("redis watch: %s", type(error).__name__)
            return False

    def check(self) -> bool:
        """One look; returns True when this worker re-dispatched."""
        client = redis_client()
        if client is None:
            return False
        try:
            run_id = str(client.info("server")["run_id"])
        except Exception:
            self.outage = True
            raise
        previous, self.run_id = self.run_id, run_id
        # A new run, or Redis back after an outage this worker saw before it knew any run.
        restarted = previous != run_id if previous is not None else self.outage
        self.outage = False
        if not restarted:
            return False
        if not client.set(f"safety-survey:redispatched:{run_id}", "1", nx=True, ex=3600):
            return False  # another worker does it
        result = sweep()
        log.warning("Redis restarted; re-queued due invitations in %s jobs", result["jobs"])
        return True
