"""Backups of the database: pg_dump/pg_restore for PostgreSQL, SQLite's online backup API.

A backup holds what the database holds: invitations (addresses until the close), drafts and the
shuffle pool sealed to keys that are *not* in it, and the mixed responses. Restoring one and
carrying on needs the keys that sealed it (README "Operating": which keys and why).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def create(engine: Engine, out: Path) -> str:
    """Write a backup of the database behind ``engine`` to ``out`` (mode 0600); returns the kind."""
    if out.exists():
        raise BackupError(f"{out} exists already; choose a new file name")
    out.parent.mkdir(parents=True, exist_ok=True)
    backend = engine.url.get_backend_name()
    # Created empty with mode 0600 first, so the copy is never readable by others, not even briefly.
    out.touch(mode=0o600)
    try:
        if backend == "sqlite":
            _sqlite_copy(Path(_sqlite_file(engine.url)), out)
            return "sqlite"
        if backend == "postgresql":
            dump = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            _run([*dump, "--file", str(out), "--dbname", _libpq_url(engine.url)], engine.url)
            return "postgresql"
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    out.unlink(missing_ok=True)
    raise BackupError(f"backups of {backend} databases are not supported")


def restore(engine: Engine, backup: Path, *, replace: bool = False) -> str:
    """Load ``backup`` into the database behind ``engine``; refuse a non-empty one unless told."""
    if not backup.is_file():
        raise BackupError(f"{backup} is not a file")
    with backup.open("rb") as handle:
        head = handle.read(16)
    backend = engine.url.get_backend_name()
    kind = "sqlite" if head == SQLITE_MAGIC else "postgresql" if head[:5] == PG_CUSTOM_MAGIC else ""
    if kind != backend:
        found = kind or "not a backup this command wrote"
        raise BackupError(f"{backup} is {found}; DATABASE_URL is a {backend} database")
    if not replace and _has_tables(engine):
        raise BackupError(
            "the database in DATABASE_URL is not empty; restore into a new database, or pass "
            "--replace to overwrite this one"
        )
    engine.dispose()  # no pooled connection may keep the old file or schema open
    if backend == "sqlite":
        _sqlite_copy(backup, Path(_sqlite_file(engine.url)))
    else:
        command = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
        if replace:
            command += ["--clean", "--if-exists"]
        else:
            command += ["--single-transaction"]
        _run([*command, "--dbname", _libpq_url(engine.url), str(backup)], engine.url)
    return kind


def _has_tables(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(inspect(connection).get_table_names())


def _sqlite_file(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("DATABASE_URL names no SQLite file")
    return url.database


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while others keep reading and writing."""
    if not source.is_file():
        raise BackupError(f"cannot open the SQLite database {source}")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            # A plain single file: no -wal beside it is needed to read the copy.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
    finally:
        src.close()
    target.chmod(0o600)


def _libpq_url(url: URL) -> str:
    """The URL without driver and password (the password goes through PGPASSWORD, not argv)."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _run(command: list[str], url: URL) -> None:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BackupError(f"{Path(command[0]).name} failed: {detail}")


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` from PATH, else the newest of Debian's versioned folders."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise BackupError(f"{name} not found (install PostgreSQL's client programs)")
    return str(candidates[-1])
