"""A worker started while PostgreSQL is down waits for it (one log line per interval), then
delivers every invitation of the launch once; a web process started then still fails at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.admin.smtp_server import ScriptedHandler, SmtpServer
from tests.conftest import TEST_KEYS, TEST_SECRET

from .conftest import own_servers
from .servers import PgCluster, RedisServer, wait_for
from .test_workers_postgres_redis import (
    ROOT,
    check_each_received_once,
    launched_wave,
    settled,
    worker,
)

pytestmark = [own_servers, pytest.mark.slow]


def _web_start(database_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """What gunicorn does on start (``wsgi:app``, the web role)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        **{k: v for k, v in TEST_KEYS.settings().items() if k.endswith("_PUBLIC_KEY_FILE")},
        "INSTANCE_PATH": str(tmp_path / "instance-web"),
        "APP_ENV": "development",
    }
    return subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.timeout(240)
def test_worker_started_while_postgres_is_down_waits_then_delivers_each_invitation_once(
    pg_cluster: PgCluster, redis_server: RedisServer, tmp_path: Path
) -> None:
    people = 30
    url, engine = launched_wave(pg_cluster, people)
    handler = ScriptedHandler()
    server = SmtpServer(handler).start()
    log_file = tmp_path / "early.log"
    waiting = f"waiting for the database server at 127.0.0.1:{pg_cluster.port}"
    pg_cluster.stop("fast")
    stopped = True
    try:
        web = _web_start(url, tmp_path)
        assert web.returncode == 1
        assert f"cannot reach the database server at 127.0.0.1:{pg_cluster.port}" in web.stderr

        with worker(tmp_path, "early", url, redis_server.url, server.port) as early:
            wait_for(
                lambda: waiting in log_file.read_text(errors="replace") or early.poll() is not None,
                60,
                "the worker to say it waits for the database",
            )
            assert early.poll() is None, log_file.read_text(errors="replace")[-2000:]
            assert not handler.messages
            pg_cluster.start()
            stopped = False
            wait_for(lambda: settled(engine), 120, "the worker to deliver the launch")
            wait_for(lambda: len(handler.messages) >= people, 30, "the last messages")
            assert early.poll() is None, "the worker stopped"
        assert check_each_received_once(engine, handler, kills=0) == 0
        assert len(handler.messages) == people
        log = log_file.read_text(errors="replace")
        assert "answered after" in log, log[-2000:]
        # One line when it began to wait, then at most one per 10 s interval.
        assert 1 <= log.count(waiting) <= 1 + 120 // 10, log[-2000:]
    finally:
        if stopped:
            pg_cluster.start()
        server.stop()
        engine.dispose()
