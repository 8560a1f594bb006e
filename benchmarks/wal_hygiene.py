"""Benchmark: what SQLite's journal hygiene costs one submit, in one process, no HTTP.

Each person first saves a draft (so every submit deletes one, as in the real flow), then submits
through ``responses.submit_response``; the submit is timed (wall clock and this process's CPU,
which holds all of SQLite's work). Three modes, each on a fresh database, run interleaved
(A B C C B A) so a change in the machine's load hits all of them alike:

- ``shipped``: WAL, ``secure_delete=ON``, ``wal_checkpoint(TRUNCATE)`` after the commit;
- ``no-hygiene``: WAL without secure_delete or checkpoint (before issue 9);
- ``rollback-journal``: ``journal_mode=DELETE`` with secure_delete (no WAL to checkpoint).

    .venv/bin/python benchmarks/wal_hygiene.py [--people 300] [--vacuum-invitations 100000]

It ends with PostgreSQL (``BENCH_PG_URL``, skipped if unreachable): how long the close's
``VACUUM FULL`` takes, during which each table is locked.

The HTTP figures with 32 concurrent clients are ``benchmarks/submit.py``'s (legs ``sqlite``,
``sqlite-no-hygiene``, ``sqlite-rollback-journal``); this one isolates the database work.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MODES = ("shipped", "no-hygiene", "rollback-journal")


_ORIGINAL: dict[str, object] = {}


def _configure(mode: str) -> None:
    """Put app.db and responses back as shipped, then switch off what ``mode`` leaves out."""
    import app.db as db
    import app.services.responses as responses

    if not _ORIGINAL:
        _ORIGINAL.update(
            pragmas=db._sqlite_pragmas,
            scrub=db.scrub_journal,
            secure=responses._sqlite_secure_delete,
        )
    db._sqlite_pragmas = _ORIGINAL["pragmas"]  # type: ignore[assignment]
    db.scrub_journal = _ORIGINAL["scrub"]  # type: ignore[assignment]
    db.SQLITE_JOURNAL_MODE = "WAL"
    responses._sqlite_secure_delete = _ORIGINAL["secure"]  # type: ignore[assignment]
    if mode in ("no-hygiene", "rollback-journal"):
        db.scrub_journal = lambda *args, **kwargs: True
    if mode == "no-hygiene":
        plain = db._sqlite_pragmas

        def without_secure_delete(dbapi_connection: object, record: object) -> None:
            plain(dbapi_connection, record)
            dbapi_connection.execute("PRAGMA secure_delete=OFF")  # type: ignore[attr-defined]

        db._sqlite_pragmas = without_secure_delete
        responses._sqlite_secure_delete = lambda *args, **kwargs: None
    if mode == "rollback-journal":
        db.SQLITE_JOURNAL_MODE = "DELETE"


def run(mode: str, people: int, workdir: Path) -> tuple[list[float], list[float], int]:
    from sqlalchemy.orm import Session
    from submit import answers_for, seed

    import surveys
    from app import keys as key_files
    from app.services import drafts, responses
    from app.services.sealing import read_keyring

    _configure(mode)
    from app.db import make_engine

    folder = Path(tempfile.mkdtemp(dir=workdir, prefix=f"{mode}-"))
    key_files.generate_files(folder)
    mailer = read_keyring("MAILER_PRIVATE_KEY_FILE", folder / "mailer.key", "mailer")
    mix_public = read_keyring("MIX_PRIVATE_KEY_FILE", folder / "mix.key", "mix").public
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    _wave, tokens = seed(url, mailer.public, people)
    if mode == "rollback-journal":
        with sqlite3.connect(folder / "bench.sqlite3") as connection:
            connection.execute("PRAGMA journal_mode=DELETE")
    instrument = surveys.load_default()
    engine = make_engine(url)
    walls, cpus = [], []
    with Session(engine) as session:
        for index, token in enumerate(tokens):
            items = answers_for(index, instrument.item_keys)
            state = drafts.DraftState(page=2, answers=dict(items))
            responses.save_progress(session, token, state)
            answers = responses.Answers(items=items, background={"role": 1}, language="en")
            wall, cpu = time.perf_counter(), time.process_time()
            responses.submit_response(session, token, answers, mix_public=mix_public)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    # Measured while the connection is still open (closing the last one checkpoints the WAL).
    wal = folder / "bench.sqlite3-wal"
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    engine.dispose()
    return walls, cpus, wal_bytes


def vacuum_after_close(admin_url: str, invitations: int) -> None:
    """PostgreSQL: how long the close's VACUUM FULL (exclusive lock on each table) takes for
    ``invitations`` closed invitations (addresses and sealed tokens erased)."""
    import uuid

    from sqlalchemy import text

    from app.db import make_engine, vacuum_tables
    from app.migrate import upgrade
    from app.services.waves import SCRUBBED_TABLES

    admin_url = admin_url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"bench_vacuum_{uuid.uuid4().hex[:8]}"
    try:
        admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # reported, then skipped
        print(f"-- postgresql: skipped ({type(error).__name__}: cannot create a database)")
        return
    engine = make_engine(admin_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade(engine)
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO jurisdictions (name, slug, created_at) VALUES ('J', 'j', now())",
                "INSERT INTO instruments (key, version, definition, checksum, created_at) "
                "VALUES ('k', '1', '{}', 'x', now())",
                "INSERT INTO org_units (jurisdiction_id, name, path, kind, active) "
                "VALUES (1, 'A', '', 'agency', true)",
                "INSERT INTO waves (jurisdiction_id, instrument_id, year, opens_at, closes_at, "
                "timezone, status, min_report_n, pool_k, reminder_max, reminder_min_days, "
                "reminders_sent, created_at) VALUES (1, 1, 2026, now(), now(), 'UTC', 'closed', "
                "5, 10, 2, 7, 0, now())",
                "INSERT INTO invitations (wave_id, unit_id, email, language, token_hash, "
                "token_sealed, completed, delivery_status, send_wanted, send_done, attempts) "
                "SELECT 1, 1, 'person' || g || '@example.org', 'en', md5(g::text) || "
                "md5((g + 1)::text), decode(repeat('ab', 100), 'hex'), g % 3 = 0, 'sent', 0, 0, 1 "
                f"FROM generate_series(1, {int(invitations)}) g",
                # What the close does to them.
                "UPDATE invitations SET email = NULL, token_sealed = NULL",
            ):
                connection.execute(text(statement))
        started = time.perf_counter()
        vacuum_tables(engine, SCRUBBED_TABLES)
        print(
            f"-- postgresql: VACUUM FULL of {', '.join(SCRUBBED_TABLES)} after closing "
            f"{invitations:,} invitations: {time.perf_counter() - started:.2f} s"
        )
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--vacuum-invitations", type=int, default=100_000)
    args = parser.parse_args()
    print(
        f"WAL hygiene benchmark on {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} before start; {args.people} submits per run, runs A B C C B A"
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-wal-"))
    results: dict[str, tuple[list[float], list[float], list[int]]] = {
        m: ([], [], []) for m in MODES
    }
    for mode in (*MODES, *reversed(MODES)):
        walls, cpus, wal_bytes = run(mode, args.people, workdir)
        results[mode][0].extend(walls)
        results[mode][1].extend(cpus)
        results[mode][2].append(wal_bytes)
    for mode in MODES:
        walls, cpus, wal_sizes = results[mode]
        ordered = sorted(walls)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        print(
            f"-- {mode}: submit wall p50 {statistics.median(walls) * 1000:.2f} ms, "
            f"p99 {p99 * 1000:.2f} ms; CPU per submit {statistics.mean(cpus) * 1000:.2f} ms; "
            f"WAL left after the run: {', '.join(f'{s:,} bytes' for s in wal_sizes)}"
        )
    vacuum_after_close(
        os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        args.vacuum_invitations,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
