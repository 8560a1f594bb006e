"""Mail workers on PostgreSQL + Redis of the test's own: a worker SIGKILLed mid-batch, Redis
SIGKILLed (losing its queue) during a launch, PostgreSQL restarted (fast) while the worker is
busy with a batch. Every deliverable invitation arrives once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import DeliveryStatus, Invitation
from app.services import delivery
from tests.admin.conftest import launch_lake
from tests.admin.smtp_server import ScriptedHandler, SmtpServer
from tests.conftest import TEST_KEYS, TEST_SECRET

from .conftest import own_servers
from .servers import PgCluster, RedisServer, wait_for

pytestmark = [own_servers, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def launched_wave(cluster: PgCluster, people: int) -> tuple[str, Engine]:
    """A fresh database on the cluster with a launched wave of ``people`` invitations."""
    url = cluster.create_database(f"workers_{uuid.uuid4().hex[:10]}")
    # The test's own view of the database, read across restarts: pinged on every checkout, so
    # its checks never meet a connection the restart dropped (the app's engines ping only idle
    # connections and meet a restart under load with a retry or the 503 page instead).
    engine = make_engine(url, pool_pre_ping=True)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        launch_lake(session, people, teams=20)
    return url, engine


@contextmanager
def worker(
    tmp_path: Path, name: str, database_url: str, redis_url: str, smtp_port: int
) -> Iterator[subprocess.Popen[bytes]]:
    """``flask --app wsgi worker`` as an operator runs it; its log is kept in tmp_path."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": TEST_SECRET,
        **TEST_KEYS.settings(),
        "INSTANCE_PATH": str(tmp_path / f"instance-{name}"),
        "APP_ENV": "development",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_STARTTLS": "false",
        "MAIL_RATE_PER_MINUTE": "1000000",
    }
    with (tmp_path / f"{name}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)


def settled(engine: Engine) -> bool:
    with Session(engine) as session:
        return not session.scalar(
            select(func.count()).where(Invitation.delivery_status == DeliveryStatus.QUEUED)
        )


def check_each_received_once(engine: Engine, handler: ScriptedHandler, kills: int) -> int:
    """Every invitation sent exactly once except those in doubt (never resent); returns those."""
    counts = handler.recipients()
    assert max(counts.values()) == 1, f"sent twice: {[a for a, n in counts.items() if n > 1]}"
    with Session(engine) as session:
        states = dict(session.execute(select(Invitation.email, Invitation.delivery_status)).all())
    in_doubt = {a for a, s in states.items() if s == DeliveryStatus.SENDING}
    # Only a killed worker leaves claims in doubt: at most the group it had claimed.
    assert len(in_doubt) <= kills * delivery.CLAIM_GROUP, len(in_doubt)
    sent = {a for a, s in states.items() if s == DeliveryStatus.SENT}
    assert sent == set(counts) - in_doubt
    assert set(states) == sent | in_doubt, "an invitation neither sent nor in doubt"
    return len(in_doubt)


@pytest.mark.timeout(180)
def test_worker_killed_mid_batch_on_postgres_and_redis_sends_nobody_two_copies(
    pg_cluster: PgCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    people = 80
    url, engine = launched_wave(pg_cluster, people)
    handler = ScriptedHandler(delay=0.03)  # slow enough to kill the worker in the middle
    server = SmtpServer(handler).start()
    try:
        with worker(tmp_path, "first", url, redis_server.url, server.port) as first:
            wait_for(lambda: len(handler.messages) >= people // 4, 60, "the first messages")
            kill(first)
        assert sum(handler.recipients().values()) < people, "finished before the kill"
        with worker(tmp_path, "second", url, redis_server.url, server.port):
            wait_for(lambda: settled(engine), 90, "the restarted worker to finish")
        check_each_received_once(engine, handler, kills=1)
    finally:
        server.stop()
        engine.dispose()


def run_launch_with_redis_killed(
    cluster: PgCluster, redis: RedisServer, tmp_path: Path, people: int, delay: float
) -> dict[str, float]:
    """The launch fault drill (also the long form in ``make bench``); returns what it saw."""
    url, engine = launched_wave(cluster, people)
    handler = ScriptedHandler(delay=delay)
    server = SmtpServer(handler).start()
    try:
        with (
            worker(tmp_path, "a", url, redis.url, server.port) as a,
            worker(tmp_path, "b", url, redis.url, server.port),
        ):
            patience = 60 + people / 20
            wait_for(lambda: len(handler.messages) >= people // 10, patience, "the first messages")
            redis.kill()  # the jobs waiting in Redis are gone with it
            at_kill = len(handler.messages)
            redis.start()
            # More than the two batches the workers held when Redis died: the lost jobs came
            # back (re-queued by the workers after they saw a new Redis run).
            beyond = at_kill + 2 * delivery.BATCH_SIZE + 1
            wait_for(
                lambda: len(handler.messages) >= min(beyond, people * 6 // 10),
                patience,
                "delivery to resume after the Redis restart",
            )
            kill(a)
            with worker(tmp_path, "a2", url, redis.url, server.port):
                wait_for(lambda: settled(engine), patience, "every invitation handled")
        in_doubt = check_each_received_once(engine, handler, kills=1)
    finally:
        server.stop()
        engine.dispose()  # also when a check failed: no connection left for the collector
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
    assert "Redis restarted; re-queued due invitations" in logs
    return {"received": len(handler.messages), "in_doubt": in_doubt, "at_kill": at_kill}


@pytest.mark.timeout(300)
def test_launch_with_redis_killed_and_a_worker_killed_delivers_each_invitation_once(
    pg_cluster: PgCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    seen = run_launch_with_redis_killed(pg_cluster, redis_server, tmp_path, 1000, 0.005)
    print(f"launch drill: {seen}")
    assert seen["received"] >= 1000 - delivery.CLAIM_GROUP


def run_launch_with_postgres_restart(
    cluster: PgCluster, redis: RedisServer, tmp_path: Path, people: int, delay: float
) -> dict[str, float]:
    """One worker delivering a launch; PostgreSQL restarted (fast) in the middle of a batch.

    The worker must ride through it: the job it was running stores what it had sent, waits for
    the database and goes on from where it stopped — the same process, no new worker, nothing
    left in doubt (nobody was killed), nothing twice. Also the long form in ``make bench``.
    """
    url, engine = launched_wave(cluster, people)
    handler = ScriptedHandler(delay=delay)
    server = SmtpServer(handler).start()
    try:
        with worker(tmp_path, "only", url, redis.url, server.port) as only:
            patience = 60 + people / 20
            # A quarter in: the first job is in the middle of its batch (BATCH_SIZE each).
            wait_for(lambda: len(handler.messages) >= people // 4, patience, "the first messages")
            at_restart = len(handler.messages)
            started = time.monotonic()
            cluster.restart("fast")
            restart_took = time.monotonic() - started
            wait_for(lambda: settled(engine), patience, "the same worker to finish the launch")
            assert only.poll() is None, "the worker died with the database restart"
        in_doubt = check_each_received_once(engine, handler, kills=0)
    finally:
        server.stop()
        engine.dispose()
    log = (tmp_path / "only.log").read_text(errors="replace")
    assert "database connection lost while delivering a batch" in log, log[-2000:]
    assert len(handler.messages) > at_restart, "nothing was sent after the restart"
    return {
        "received": len(handler.messages),
        "in_doubt": in_doubt,
        "at_restart": at_restart,
        "restart_seconds": round(restart_took, 1),
    }


@pytest.mark.timeout(180)
def test_postgres_restarted_mid_batch_the_same_worker_finishes_the_launch_once_each(
    pg_cluster: PgCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    # 300 invitations: two jobs (BATCH_SIZE 200), the restart lands a quarter in, inside the
    # first; the delay keeps the worker mid-batch while the cluster restarts.
    seen = run_launch_with_postgres_restart(pg_cluster, redis_server, tmp_path, 300, 0.01)
    print(f"launch with a PostgreSQL restart: {seen}")
    assert seen["received"] == 300 and seen["in_doubt"] == 0
