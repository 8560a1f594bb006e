"""Benchmark: does a sign-in flood from one address slow everyone else's pages?

Runs the shipped gunicorn configuration (4 workers) on a throwaway SQLite database, then for two
settings of LOGIN_RATE_LIMIT — effectively none (100000 per minute) and the default — floods
``POST /login`` with wrong passwords (a new email each time) from 8 clients on one address while
another client times ``GET /privacy``. Prints, per leg: sign-in POSTs per second and how many were
refused with 429 (before any scrypt), the CPU seconds gunicorn used, and /privacy's median and
p90 latency against its idle figure.

    .venv/bin/python benchmarks/login_flood.py [--seconds 15] [--clients 8] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from submit import _SERVERS, LightBrowser, _tree_cpu, gunicorn  # noqa: E402

_CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def _seed(url: str, secret: str) -> str:
    from app.db import make_engine
    from app.migrate import upgrade
    from app.models import Role, User
    from app.services.users import hash_password

    engine = make_engine(url)
    upgrade(engine)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        session.add(
            User(
                email="national@bench.example",
                password_hash=hash_password("violet tractor sings at noon"),
                role=Role.NATIONAL,
                active=True,
                failed_logins=0,
            )
        )
        session.commit()
    engine.dispose()
    return "national@bench.example"


def _flood(base: str, email: str, stop: threading.Event, codes: list[int]) -> None:
    with LightBrowser(base) as browser:
        _, page = browser.get("/login")
        match = _CSRF.search(page)
        assert match, "no CSRF token on /login"
        token = match.group(1).decode()
        n = 0
        while not stop.is_set():
            # A new email each time, so only the per-address limit stands between the flood
            # and scrypt (the per-account throttle would stop one email after 5 tries).
            n += 1
            guess = f"{n}-{threading.get_ident()}-{email}"
            status, _ = browser.post(
                "/login", {"email": guess, "password": "wrong guess", "csrf_token": token}
            )
            codes.append(status)


def _time_privacy(base: str, stop: threading.Event | None, count: int) -> list[float]:
    times = []
    with LightBrowser(base) as browser:
        while len(times) < count and (stop is None or not stop.is_set()):
            started = time.perf_counter()
            status, _ = browser.get("/privacy")
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200
            time.sleep(0.05)
    return times


def run_leg(
    label: str, limit: str, args: argparse.Namespace, workdir: Path, redis_url: str | None = None
) -> None:
    secret = secrets.token_urlsafe(48)
    database = workdir / f"{label}.sqlite3"
    url = f"sqlite:///{database}"
    email = _seed(url, secret)
    instance = workdir / f"instance-{label}"
    instance.mkdir()
    # This run's own keys in a shared Redis (a Flask setting, passed through instance/config.py).
    (instance / "config.py").write_text(f"RATELIMIT_KEY_PREFIX = 'bench-{secrets.token_hex(8)}'\n")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        "APP_ENV": "development",
        "INSTANCE_PATH": str(instance),
        "GUNICORN_LOGLEVEL": "warning",
        "LOGIN_RATE_LIMIT": limit,
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    with gunicorn("wsgi:app", env, workdir / f"gunicorn-{label}.log") as base:
        idle = _time_privacy(base, None, 60)
        stop = threading.Event()
        codes: list[int] = []
        cpu_before = _tree_cpu(_SERVERS[base])
        flooders = [
            threading.Thread(target=_flood, args=(base, email, stop, codes))
            for _ in range(args.clients)
        ]
        started = time.perf_counter()
        for thread in flooders:
            thread.start()
        time.sleep(1)  # let the flood build up before timing
        timer: list[float] = []
        probe = threading.Thread(target=lambda: timer.extend(_time_privacy(base, stop, 10_000)))
        probe.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in [*flooders, probe]:
            thread.join()
        elapsed = time.perf_counter() - started
        cpu = _tree_cpu(_SERVERS[base]) - cpu_before

    def p90(values: list[float]) -> float:
        return sorted(values)[int(0.9 * (len(values) - 1))]

    refused = codes.count(429)
    storage = "Redis" if redis_url else "memory (one count per worker)"
    print(
        f"-- LOGIN_RATE_LIMIT={limit!r}, {storage}: {len(codes)} sign-in POSTs in {elapsed:.1f} s "
        f"({len(codes) / elapsed:.1f}/s), {refused} refused with 429, "
        f"{codes.count(401)} answered 401 (one scrypt each); gunicorn CPU {cpu:.1f} s"
    )
    print(
        f"   /privacy idle: median {statistics.median(idle):.1f} ms, p90 {p90(idle):.1f} ms; "
        f"during the flood: median {statistics.median(timer):.1f} ms, p90 {p90(timer):.1f} ms "
        f"({len(timer)} requests)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="a third leg with the counts in Redis, shared by the workers ('' to skip)",
    )
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"{args.clients} flooding clients on one address, {args.seconds:.0f} s per leg"
    )
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        run_leg("unlimited", "100000 per minute", args, workdir)
        run_leg("default", "10 per minute;100 per day", args, workdir)
        if args.redis_url:
            run_leg("redis", "10 per minute;100 per day", args, workdir, args.redis_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
