"""Benchmark: survey submissions per second through gunicorn (shipped config, 4 workers).

For SQLite and then PostgreSQL on loopback: 2,000 invitations; 32 concurrent clients, each
walking a survey like a browser without JavaScript (GET the link → GET a page for the CSRF token →
POST each of the 8 sections → POST the submit). Prints completed submissions per second, p50/p99
latency of the submit POST, the same gunicorn's figure for a bare Flask "hello" route (the
framework's ceiling), the ratio (submissions/s × 11) / bare requests/s, and the gunicorn CPU
time (from /proc, master and workers) per submission and per bare request: on a shared machine
the CPU figures move far less than the rates. Ends by checking that not one answer was lost or
duplicated.

    .venv/bin/python benchmarks/submit.py [--invitations 2000] [--clients 32]
        [--backends sqlite,sqlite-no-hygiene,sqlite-rollback-journal,postgresql]

SQLite runs three times in the same run, each on a fresh database: ``sqlite`` as shipped (WAL,
``secure_delete=ON``, a ``wal_checkpoint(TRUNCATE)`` after every submit and mover batch),
``sqlite-no-hygiene`` (WAL as before issue 9: no secure_delete, no checkpoint) and
``sqlite-rollback-journal`` (``journal_mode=DELETE`` + secure_delete: a journal that is deleted
at every commit, so no checkpoint is needed). The difference is what the hygiene costs.

PostgreSQL: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) must reach a
server where a throwaway database can be created; the leg is skipped, saying so, if it cannot.
The machine's other load (other engineers' test suites) changes the figures: they are printed
with the core count and load average so a reader can judge them.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402

#: The bare route gunicorn serves for the ceiling figure (``benchmarks.submit:hello_app``).
hello_app = Flask("hello")


@hello_app.get("/hello")
def _hello() -> str:
    return "hello"


def hygiene_app(mode: str) -> Flask:
    """The application with SQLite's journal hygiene as ``mode`` says (gunicorn calls this)."""
    import app.db as db
    import app.services.responses as responses

    if mode in ("none", "rollback-journal"):
        # Nothing to checkpoint: without hygiene by choice; with a rollback journal, none exists.
        db.scrub_journal = lambda *args, **kwargs: True
    if mode == "none":
        plain = db._sqlite_pragmas

        def without_secure_delete(dbapi_connection: Any, record: Any) -> None:
            plain(dbapi_connection, record)
            dbapi_connection.execute("PRAGMA secure_delete=OFF")

        db._sqlite_pragmas = without_secure_delete
        responses._sqlite_secure_delete = lambda *args, **kwargs: None
    if mode == "rollback-journal":
        db.SQLITE_JOURNAL_MODE = "DELETE"
    from app import create_app

    return create_app()


_CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')


class LightBrowser:
    """A keep-alive HTTP/1.1 client holding cookies, much lighter on CPU than ``requests``.

    The clients share the machine's cores with the server, so their own cost lowers the figures;
    this one does what the walk needs (cookies, form posts, no redirects followed) and no more.
    """

    def __init__(self, base: str) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port or 80)
        self.connection: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def __enter__(self) -> LightBrowser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(
        self, method: str, path: str, data: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        headers = {}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            reused = self.connection is not None
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                self.connection.request(method, path, body, headers)
                response = self.connection.getresponse()
                content = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection before reading the request
                # (what a browser retries too); never retried on a fresh connection.
                self.close()
                if reused and attempt == 0:
                    continue
                raise
            for cookie in response.headers.get_all("Set-Cookie") or ():
                name, _, value = cookie.split(";", 1)[0].partition("=")
                if value:
                    self.cookies[name.strip()] = value
                else:
                    self.cookies.pop(name.strip(), None)
            if response.will_close:
                self.close()
            return response.status, content
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> tuple[int, bytes]:
        return self.request("POST", path, data)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children, from /proc (0 where unavailable)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


def _database_cpu(url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving ``url``'s database, by pid.

    Read from /proc, so only for a server on this machine (empty otherwise, or on SQLite): the
    database competes for the same cores as gunicorn and the clients.
    """
    if not url.startswith("postgresql"):
        return {}
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            own = connection.execute(text("SELECT pg_backend_pid()")).scalar()
            pids = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            ).scalars()
            return {pid: _tree_cpu(pid) for pid in pids if pid != own}
    finally:
        engine.dispose()


#: The gunicorn master's pid of each running server, by base URL.
_SERVERS: dict[str, int] = {}


@contextmanager
def gunicorn(app_spec: str, env: dict[str, str], log: Path) -> Iterator[str]:
    port = _free_port()
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "-c",
        str(ROOT / "gunicorn.conf.py"),
        "--workers",
        "4",
        "--bind",
        f"127.0.0.1:{port}",
        "--pythonpath",
        # The project root only: benchmarks/ on the path would let benchmarks/scoring.py stand
        # in for the scoring package (the hygiene apps are named benchmarks.submit:...).
        str(ROOT),
        app_spec,
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        import requests

        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/privacy", timeout=10)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start; see {log}") from None
                time.sleep(0.2)
        _SERVERS[base] = process.pid
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def answers_for(index: int, item_keys: tuple[str, ...]) -> dict[str, int]:
    digits, rest = {}, index
    for key in item_keys:
        digits[key] = rest % 5 + 1
        rest //= 5
    return digits


def decode(answers: dict[str, int], item_keys: tuple[str, ...]) -> int:
    index = 0
    for key in reversed(item_keys):
        index = index * 5 + (answers[key] - 1)
    return index


def seed(url: str, mailer_public: Any, invitations: int) -> tuple[int, list[str]]:
    """Migrate and seed one jurisdiction with teams of 50 and an open wave; return the tokens."""
    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    import surveys
    from app.db import make_engine
    from app.migrate import upgrade
    from app.models import Invitation, Jurisdiction, OrgUnit, UnitKind, Wave, WaveStatus
    from app.services.instruments import ensure_instrument
    from app.services.tokens import hash_token, new_token, seal_token

    engine = make_engine(url)
    upgrade(engine)
    tokens: list[str] = []
    with Session(engine) as session:
        instrument = ensure_instrument(session, surveys.load_default())
        jurisdiction = Jurisdiction(name="Bench County", slug=f"bench-{uuid.uuid4().hex[:8]}")
        session.add(jurisdiction)
        session.flush()
        root = OrgUnit(
            jurisdiction_id=jurisdiction.id, name="Agency", path="", kind=UnitKind.AGENCY
        )
        session.add(root)
        session.flush()
        teams = []
        for index in range((invitations + 49) // 50):
            team = OrgUnit(
                jurisdiction_id=jurisdiction.id,
                parent_id=root.id,
                name=f"Team {index}",
                path=f"Team {index}",
                kind=UnitKind.TEAM,
            )
            session.add(team)
            teams.append(team)
        now = datetime.now(UTC)
        wave = Wave(
            jurisdiction_id=jurisdiction.id,
            instrument_id=instrument.id,
            year=now.year,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
            status=WaveStatus.OPEN,
        )
        session.add(wave)
        session.flush()
        rows = []
        for index in range(invitations):
            token = new_token()
            tokens.append(token)
            rows.append(
                {
                    "wave_id": wave.id,
                    "unit_id": teams[index // 50].id,
                    "email": f"person{index}@example.org",
                    "token_hash": hash_token(token),
                    "token_sealed": seal_token(mailer_public, token),
                }
            )
        session.execute(insert(Invitation), rows)
        session.commit()
        wave_id = wave.id
    engine.dispose()
    return wave_id, tokens


def _walk(base: str, token: str, index: int, item_keys: tuple[str, ...], pages: list[list[str]]):
    """One person's survey; returns (submit latency in seconds, final status)."""
    answers = answers_for(index, item_keys)
    with LightBrowser(base) as browser:
        status, _ = browser.get(f"/s/{token}")
        if status != 302:
            return None, status
        # Flask-WTF's token is per session: one page read gives the token for every POST.
        csrf_match = _CSRF.search(browser.get("/s/page/1")[1])
        if csrf_match is None:
            return None, -1
        csrf = csrf_match.group(1).decode()
        for number, keys in enumerate(pages, start=1):
            data = {key: str(answers[key]) for key in keys}
            status, _ = browser.post(
                f"/s/page/{number}", {**data, "csrf_token": csrf, "nav": "next"}
            )
            if status != 303:
                return None, status
        started = time.perf_counter()
        status, _ = browser.post(
            f"/s/page/{len(pages) + 1}",
            {"csrf_token": csrf, "nav": "submit", "comment": f"bench {index}"},
        )
        return time.perf_counter() - started, status


def _client_process(
    base: str, jobs: list[tuple[int, str]], threads: int, item_keys: tuple[str, ...], pages: Any
) -> tuple[list[tuple[float | None, int]], float]:
    """A process of ``threads`` clients (processes keep the load generator off one GIL).

    Returns the walks' outcomes and the CPU seconds this client process used.
    """
    cpu_started = time.process_time()
    results: list[tuple[float | None, int]] = []
    lock = threading.Lock()
    queue = list(jobs)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                index, token = queue.pop()
            outcome = _walk(base, token, index, item_keys, pages)
            with lock:
                results.append(outcome)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return results, time.process_time() - cpu_started


def _hello_process(base: str, threads: int, seconds: float) -> int:
    count = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        done = 0
        with LightBrowser(base) as browser:
            while time.monotonic() < stop:
                if browser.get("/hello")[0] == 200:
                    done += 1
        with lock:
            count[0] += done

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return count[0]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


#: Per leg, one per run of it: (submissions per second, p50 ms, p99 ms), compared at the end.
_RESULTS: dict[str, list[tuple[float, float, float]]] = {}


def run_backend(
    name: str,
    url: str,
    args: argparse.Namespace,
    workdir: Path,
    *,
    app_spec: str = "wsgi:app",
    journal_mode: str | None = None,
) -> bool:
    import sqlite3

    import surveys
    from app import keys as key_files
    from app.services.sealing import read_keyring

    instrument = surveys.load_default()
    item_keys = instrument.item_keys
    pages = [list(scale.item_keys) for scale in instrument.scales]
    secret = secrets.token_urlsafe(48)
    run = len(_RESULTS.get(name, [])) + 1
    key_dir = workdir / f"keys-{name}-{run}"
    key_dir.mkdir()
    key_files.generate_files(key_dir)
    mailer = read_keyring("MAILER_PRIVATE_KEY_FILE", key_dir / "mailer.key", "mailer")
    mix = read_keyring("MIX_PRIVATE_KEY_FILE", key_dir / "mix.key", "mix")
    wave_id, tokens = seed(url, mailer.public, args.invitations)
    if journal_mode is not None:
        # Set once here, by the only connection: a journal mode switch needs the file to itself.
        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute(f"PRAGMA journal_mode={journal_mode}")
    instance = workdir / f"instance-{name}-{run}"
    instance.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        # The web tier gets the public halves only (as in production).
        "MIX_PUBLIC_KEY_FILE": str(key_dir / "mix.pub"),
        "MAILER_PUBLIC_KEY_FILE": str(key_dir / "mailer.pub"),
        # development: the cookies are not marked Secure, so plain-HTTP clients keep sessions.
        "APP_ENV": "development",
        "INSTANCE_PATH": str(instance),
        "GUNICORN_LOGLEVEL": "warning",
    }
    log = workdir / f"gunicorn-{name}.log"
    processes = max(1, min(args.clients, args.client_processes))
    per_process = args.clients // processes
    jobs = list(enumerate(tokens))
    shares = [jobs[i::processes] for i in range(processes)]
    with gunicorn(app_spec, env, log) as base:
        server_cpu = _tree_cpu(_SERVERS[base])  # not counting the workers' start
        database_before = _database_cpu(url)
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            parts = pool.starmap(
                _client_process, [(base, share, per_process, item_keys, pages) for share in shares]
            )
        elapsed = time.perf_counter() - started
        server_cpu = _tree_cpu(_SERVERS[base]) - server_cpu
        # Backends that started during the run count from zero.
        database_after = _database_cpu(url)
        database_cpu = sum(
            cpu - database_before.get(pid, 0.0) for pid, cpu in database_after.items()
        )
    client_cpu = sum(cpu for _, cpu in parts)
    with gunicorn("benchmarks.submit:hello_app", env, log) as base:
        hello_cpu = _tree_cpu(_SERVERS[base])
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            hello = sum(
                pool.starmap(_hello_process, [(base, per_process, args.hello_seconds)] * processes)
            )
        hello_cpu = _tree_cpu(_SERVERS[base]) - hello_cpu
        hello_rps = hello / args.hello_seconds
    outcomes = [outcome for part, _ in parts for outcome in part]
    latencies = [latency for latency, status in outcomes if status == 303 and latency is not None]
    failures = [status for latency, status in outcomes if status != 303]
    requests_per_submission = 2 + len(pages) + 1
    print(f"-- {name}: {args.invitations} invitations, {args.clients} clients, gunicorn 4 workers")
    print(f"   completed submissions: {len(latencies)} in {elapsed:.1f} s")
    print(f"   submissions per second: {len(latencies) / elapsed:.1f}")
    print(
        f"   submit POST latency: p50 {_percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p99 {_percentile(latencies, 0.99) * 1000:.0f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.0f} ms"
        if latencies
        else "   submit POST latency: no completed submission"
    )
    print(
        f"   all requests: {len(latencies) * requests_per_submission / elapsed:.0f} req/s "
        f"({requests_per_submission} requests per submission)"
    )
    print(
        f"   bare Flask 'hello' on the same gunicorn: {hello_rps:.0f} req/s "
        f"(= {hello_rps / requests_per_submission:.0f} submissions/s if a submission cost no more "
        "than hello)"
    )
    if latencies:
        rate = len(latencies) / elapsed
        print(
            f"   ratio (submissions/s x {requests_per_submission}) / bare req/s: "
            f"{rate * requests_per_submission / hello_rps:.2f} "
            f"(target >= 0.30 on PostgreSQL at 32 clients)"
        )
        per_walk = 1000 / len(latencies)
        database = (
            f", database server {database_cpu * per_walk:.1f} ms"
            if database_after
            else " (the database server's not measured)"
        )
        print(
            f"   CPU per submission: clients {client_cpu * per_walk:.1f} ms, gunicorn "
            f"{server_cpu * per_walk:.1f} ms{database}; "
            f"gunicorn per bare request: {hello_cpu * 1000 / max(hello, 1):.2f} ms"
        )
    if failures:
        print(f"   failed walks: {len(failures)} (statuses {sorted(set(failures))})")
    if latencies:
        _RESULTS.setdefault(name, []).append(
            (
                len(latencies) / elapsed,
                _percentile(latencies, 0.5) * 1000,
                _percentile(latencies, 0.99) * 1000,
            )
        )
    return _check(url, mix, wave_id, tokens, item_keys, len(latencies), log)


def _check(
    url: str,
    mix: Any,
    wave_id: int,
    tokens: list[str],
    item_keys: tuple[str, ...],
    completed: int,
    log: Path,
) -> bool:
    """Not one answer lost or duplicated; no token in gunicorn's log."""
    from collections import Counter

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.db import make_engine
    from app.models import DailyCount, Invitation, PendingResponse, Response
    from app.services.responses import move_pool

    engine = make_engine(url)
    with Session(engine) as session:
        move_pool(session, wave_id, flush_all=True, keys=mix)
        stored = Counter(
            decode(answers, item_keys)
            for answers in session.scalars(
                select(Response.answers).where(Response.wave_id == wave_id)
            )
        )
        flipped = session.scalar(
            select(func.count()).where(Invitation.wave_id == wave_id, Invitation.completed)
        )
        counted = session.scalar(
            select(func.coalesce(func.sum(DailyCount.submissions), 0)).where(
                DailyCount.wave_id == wave_id
            )
        )
        pooled = session.scalar(select(func.count()).select_from(PendingResponse))
    engine.dispose()
    duplicated = sum(1 for count in stored.values() if count > 1)
    log_text = log.read_text(errors="replace")
    leaked = sum(1 for token in tokens if token in log_text)
    ok = (
        duplicated == 0
        and sum(stored.values()) == completed == flipped == counted
        and set(stored) <= set(range(len(tokens)))
        and pooled == 0
        and leaked == 0
    )
    print(
        f"   check: {sum(stored.values())} responses, {flipped} completed invitations, "
        f"{counted} counted, {duplicated} duplicated, {pooled} left in the pool, "
        f"{leaked} tokens in gunicorn's log -> {'OK' if ok else 'FAILED'}"
    )
    return ok


def _print_hygiene_cost() -> None:
    """What SQLite's journal hygiene costs, leg against leg of this same run (medians when a
    leg ran more than once, e.g. ``--backends sqlite,sqlite-no-hygiene,sqlite-no-hygiene,sqlite``
    to even out a machine whose load changes)."""
    if "sqlite-no-hygiene" not in _RESULTS:
        return

    def median(leg: str) -> tuple[float, float, float]:
        runs = _RESULTS[leg]
        return (
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs),
        )

    plain = median("sqlite-no-hygiene")
    for leg in ("sqlite", "sqlite-rollback-journal"):
        if leg in _RESULTS:
            rate, p50, p99 = median(leg)
            print(
                f"-- {leg} against sqlite-no-hygiene: {rate:.1f} vs {plain[0]:.1f} submissions/s "
                f"({(rate / plain[0] - 1) * 100:+.0f}%), submit p50 {p50:.0f} vs "
                f"{plain[1]:.0f} ms, p99 {p99:.0f} vs {plain[2]:.0f} ms"
            )


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    from sqlalchemy import create_engine, text

    name = f"bench_submit_{os.getpid()}_{secrets.token_hex(3)}"
    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # reported, then the leg is skipped
        print(f"-- postgresql: skipped ({type(error).__name__}: cannot create a database)")
        yield None
        return
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invitations", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--hello-seconds", type=float, default=10.0)
    parser.add_argument(
        "--backends", default="sqlite,sqlite-no-hygiene,sqlite-rollback-journal,postgresql"
    )
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"submit benchmark on {os.cpu_count()} cores, load average {load[0]:.1f} before start; "
        "clients run on the same machine as the server, and other processes may load it too"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-submit-"))
    ok = True
    try:
        for backend in args.backends.split(","):
            fresh = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}"
            if backend == "sqlite":
                ok &= run_backend("sqlite", fresh, args, workdir)
            elif backend == "sqlite-no-hygiene":
                url = fresh
                spec = "benchmarks.submit:hygiene_app('none')"
                ok &= run_backend(backend, url, args, workdir, app_spec=spec)
            elif backend == "sqlite-rollback-journal":
                url = fresh
                spec = "benchmarks.submit:hygiene_app('rollback-journal')"
                ok &= run_backend(backend, url, args, workdir, app_spec=spec, journal_mode="DELETE")
            elif backend == "postgresql":
                admin_url = os.environ.get(
                    "BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
                )
                with postgres_database(admin_url) as url:
                    if url is not None:
                        ok &= run_backend("postgresql", url, args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _print_hygiene_cost()
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(
        "targets: (submissions/s x 11) / bare req/s >= 0.30 on PostgreSQL at 32 clients, "
        "submit p99 <= 300 ms"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
