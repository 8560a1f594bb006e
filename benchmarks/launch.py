"""Benchmark: import a 10,000-person roster, launch the wave, deliver over SMTP with one worker.

Prints the import time, the launch time (tokens + invitations + queued jobs) and the delivery
rate to an aiosmtpd server on loopback, through the real job queue (SQLite storage) and the
per-invitation claim/record protocol. Uses a throwaway SQLite database unless
``BENCH_DATABASE_URL`` names another (e.g. a scratch PostgreSQL database).
Targets: import <= 5 s, launch <= 5 s, >= 100 messages/s.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller

PEOPLE = int(os.environ.get("BENCH_PEOPLE", "10000"))
SECRET = "benchmark-secret-key-" + "b" * 40


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _roster(people: int) -> bytes:
    lines = ["email,unit,language"]
    for i in range(people):
        region, office, team = i % 5, i % 40, i % 700
        language = "es" if i % 6 == 0 else "en"
        lines.append(
            f"staff{i:05d}@agency.example,"
            f"Region {region} / Office {office} / Team {team},{language}"
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="launch-bench-"))
    port = _free_port()
    os.environ.update(
        {
            "INSTANCE_PATH": str(workdir / "instance"),
            "SECRET_KEY": SECRET,
            "APP_ENV": "development",
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_STARTTLS": "false",
            "MAIL_RATE_PER_MINUTE": "1000000",
            "DATABASE_URL": os.environ.get(
                "BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
            ),
        }
    )
    os.environ.pop("REDIS_URL", None)

    from app import create_app, keys, migrate, tasks
    from app.db import get_database
    from app.services import delivery, jurisdictions, roster, waves

    keys.generate_files(workdir / "instance" / "keys")
    # One process launches and delivers, as a worker: it reads the mailer private key.
    app = create_app(role="worker")
    database = get_database(app)
    migrate.upgrade(database.engine)
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    data = _roster(PEOPLE)
    with app.app_context():
        session = database.sessions()
        lake = jurisdictions.create_jurisdiction(
            session, None, name="Benchmark County", slug=f"bench-{os.getpid()}"
        )
        started = time.perf_counter()
        result = roster.import_roster(session, None, lake.id, data)
        import_seconds = time.perf_counter() - started
        wave = waves.create_wave(
            session,
            None,
            jurisdiction_id=lake.id,
            year=2026,
            instrument_key="team-safety-culture",
            opens=date.today(),
            closes=date.today() + timedelta(days=21),
        )
        started = time.perf_counter()
        invited = waves.launch_wave(session, None, wave.id, mailer_public=keys.mailer_public(app))
        jobs = tasks.dispatch(wave.id)
        launch_seconds = time.perf_counter() - started
        session.close()

        started = time.perf_counter()
        consumer = tasks.start_inprocess_consumer(app, workers=1)
        try:
            deadline = time.monotonic() + 600
            while counter.count < invited and time.monotonic() < deadline:
                time.sleep(0.05)
            send_seconds = time.perf_counter() - started
        finally:
            consumer.stop(graceful=True)
            controller.stop()
        check = database.sessions()
        counts = delivery.status_counts(check, wave.id)
        check.close()

    print(f"roster: {result.staff} people")
    print(f"import: {import_seconds:.2f} s (target <= 5 s)")
    print(
        f"launch: {launch_seconds:.2f} s for {invited} invitations and {jobs} jobs (target <= 5 s)"
    )
    print(
        f"delivery: {counter.count} messages in {send_seconds:.2f} s = "
        f"{counter.count / send_seconds:.0f} messages/s with one worker (target >= 100/s)"
    )
    print(f"states: sent {counts.sent}, queued {counts.queued}, failed {counts.failed}")
    print(f"database: {database.engine.url.get_backend_name()}")
    ok = import_seconds <= 5 and launch_seconds <= 5 and counter.count / send_seconds >= 100
    ok = ok and counts.sent == invited == counter.count
    if not ok:
        print("TARGET MISSED")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
