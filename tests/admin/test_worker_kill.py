"""A real worker process killed mid-batch (SIGKILL) and restarted: nobody gets two copies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import DeliveryStatus, Invitation
from app.services import delivery
from tests.conftest import TEST_KEYS, TEST_SECRET

from .conftest import launch_lake
from .smtp_server import ScriptedHandler, SmtpServer

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = 80


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _worker(tmp_path: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "APP_ENV": "development",
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_STARTTLS": "false",
        "MAIL_RATE_PER_MINUTE": "1000000",
        **TEST_KEYS.settings(),
    }
    env.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.timeout(120)
def test_worker_killed_mid_batch_and_restarted_sends_nobody_two_copies(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'kill.sqlite3'}"
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        launch_lake(session, PEOPLE, teams=4)

    handler = ScriptedHandler(delay=0.03)  # slow enough to kill the worker in the middle
    server = SmtpServer(handler).start()
    try:
        first = _worker(tmp_path, database_url, server.port)
        try:
            _wait_for(lambda: len(handler.messages) >= PEOPLE // 4, 60, "the first messages")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        received_before_restart = sum(handler.recipients().values())
        assert received_before_restart < PEOPLE, "the worker finished before it was killed"

        second = _worker(tmp_path, database_url, server.port)
        try:

            def settled() -> bool:
                with Session(engine) as s:
                    return not s.scalars(
                        select(Invitation.id).where(
                            Invitation.delivery_status == DeliveryStatus.QUEUED
                        )
                    ).first()

            _wait_for(settled, 60, "the restarted worker to finish")
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(20)
    finally:
        server.stop()

    counts = handler.recipients()
    assert max(counts.values()) == 1, f"sent twice: {[a for a, n in counts.items() if n > 1]}"
    with Session(engine) as session:
        states = dict(session.execute(select(Invitation.email, Invitation.delivery_status)).all())
        in_doubt = [a for a, s in states.items() if s == DeliveryStatus.SENDING]
        # At most the group of claims in flight when the worker died is in doubt (claimed
        # together, outcomes stored together); none is resent, and the periodic sweep hands
        # them to an operator once their claim has expired.
        assert len(in_doubt) <= delivery.CLAIM_GROUP
        assert {a for a, s in states.items() if s == DeliveryStatus.SENT} == set(counts) - set(
            in_doubt
        )
        assert len(counts) >= PEOPLE - len(in_doubt)
        later = delivery.utcnow() + delivery.CLAIM_LEASE + timedelta(seconds=1)
        assert delivery.recover_interrupted(session, later) == len(in_doubt)
        assert delivery.status_counts(session, 1).needs_confirmation == len(in_doubt)
    engine.dispose()
