"""Engine and sessions: one SQLAlchemy session per application context, closed at teardown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.config import ConfigError

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: SQLite journal: WAL, emptied by :func:`scrub_journal` after every transaction that deletes
#: something a person could be recognised by (see the README, "What stays on disk").
SQLITE_JOURNAL_MODE = "WAL"
#: How long a checkpoint right after a submit may wait for other connections to step off the WAL
#: before it leaves the work to the next one (a request must not queue behind every reader).
CHECKPOINT_WAIT_MS = 200


@dataclass
class Database:
    """The engine and session factory of one application."""

    engine: Engine
    sessions: sessionmaker[Session]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings this project needs on each backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _note_idle)
        event.listen(engine, "checkout", partial(_ping_if_idle, engine))
    return engine


#: A pooled connection that has waited longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a connection that sat in the pool for a while; leave one in steady use alone.

    A connection that waited (a quiet night, a firewall that drops idle sockets, a database that
    restarted while nobody answered) is checked with one ``SELECT 1`` and, if it is dead,
    replaced by the pool before the request sees it. One in steady use is not pinged: under load
    that round trip came on every request. So a restart *under load* is met, on each process, by
    the next request that uses a connection: SQLAlchemy then retires every connection of that
    pool at once, and the request is tried again (a GET) or answered with the "your answers are
    kept" page (a POST, ``app.ops.faults``) — one such request per process more than a ping on
    every checkout would give, for one round trip less on every request.
    """
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        engine.dialect.do_ping(dbapi_connection)
    except engine.dialect.loaded_dbapi.Error as error:
        raise DisconnectionError("a pooled connection was dead; the pool replaces it") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (savepoints work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA journal_mode={SQLITE_JOURNAL_MODE}")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Deleted rows (drafts, pool entries, addresses) are overwritten with zeros, in table pages
    # and free pages alike, instead of staying readable in the file until the space is reused.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


#: Execution option of a connection that only reads (health checks): a plain deferred BEGIN,
#: which never waits for a writer in WAL mode.
READ_ONLY = {"survey_read_only": True}


def _sqlite_begin(connection: Any) -> None:
    if connection.get_execution_options().get("survey_read_only"):
        connection.exec_driver_sql("BEGIN")
        return
    # IMMEDIATE takes the write lock up front: two writers never deadlock on a lock upgrade, they
    # queue (busy_timeout). The embedded default trades write concurrency for that certainty.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def checkpoint(engine: Engine, *, wait_ms: int = 30000) -> bool:
    """SQLite: copy the WAL into the database file and truncate it to zero bytes.

    Returns False when another connection kept using the WAL for longer than ``wait_ms`` (the WAL
    then keeps its pages until the next checkpoint succeeds). True on PostgreSQL (nothing to do).
    Runs on a connection of its own, outside any transaction: a checkpoint inside one could not
    truncate what that transaction still reads.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return True
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        driver.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
        try:
            row = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            driver.execute("PRAGMA busy_timeout=30000")
    finally:
        raw.close()
    # (busy, frames in the WAL, frames checkpointed); busy=1: some reader or writer was in the way
    return row is None or int(row[0]) == 0


def scrub_journal(session: Session, *, wait_ms: int = CHECKPOINT_WAIT_MS) -> bool:
    """Call right after committing a transaction that deleted a draft, pool rows or addresses.

    On SQLite the WAL would otherwise keep the deleted pages (and the pages that changed together,
    which is what links a submit to its pool entry) until a later checkpoint. A session bound to a
    single connection (a caller's own transaction, as in the tests) is left alone: its connection
    may still be inside a transaction that the checkpoint would wait for.
    """
    bind = session.get_bind()
    if not isinstance(bind, Engine) or bind.dialect.name != "sqlite":
        return True
    return checkpoint(bind, wait_ms=wait_ms)


def vacuum_tables(engine: Engine, tables: tuple[str, ...]) -> None:
    """PostgreSQL: rewrite ``tables`` so no dead row version keeps what an UPDATE/DELETE removed.

    Plain VACUUM only marks dead tuples' space free; their bytes stay in the page until reused
    (``get_raw_page`` still shows them). VACUUM FULL writes a new file holding only live rows and
    drops the old one. It holds an exclusive lock on each table while it runs (1.2–1.8 s for
    100,000 closed invitations, ``benchmarks/wal_hygiene.py``). SQLite: a checkpoint (secure_delete
    already zeroed the rows).
    """
    if engine.dialect.name == "sqlite":
        checkpoint(engine)
        return
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if not _wait_for_older_transactions(connection, VACUUM_WAIT_SECONDS):
            log.warning(
                "VACUUM FULL after a close: a transaction older than the close was still open "
                "after %s s, so row versions it might still read (erased addresses, drafts, pool "
                "entries) stay in the table files until the next VACUUM FULL",
                VACUUM_WAIT_SECONDS,
            )
        for table in tables:
            connection.exec_driver_sql(f'VACUUM FULL "{table}"')


#: How long the close's VACUUM FULL waits for transactions older than the close to end.
VACUUM_WAIT_SECONDS = 120.0

# Transactions that started before ``:target`` and are still open anywhere on the server (their
# xids hold back what VACUUM may drop, through every snapshot's xmin), or snapshots older than it
# held by other sessions of this database.
_OLDER_TRANSACTIONS = """
SELECT pg_snapshot_xmin(pg_current_snapshot()) <= CAST(%(target)s AS xid8)
    OR EXISTS (
        SELECT 1 FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_xmin IS NOT NULL
          AND age(backend_xmin) >= age(CAST(%(target32)s AS xid))
    )
"""


def _wait_for_older_transactions(connection: Any, seconds: float) -> bool:
    """Wait until no transaction that began before now can still see a dead row version.

    VACUUM FULL copies a dead row version along if any open transaction might still read it
    (PostgreSQL's MVCC): a long report query, a ``pg_dump``, or any transaction on the same server
    that began before the close. Returns False if that did not happen within ``seconds``.
    """
    target = connection.exec_driver_sql("SELECT pg_current_xact_id()::text").scalar_one()
    # pg_current_xact_id() gave this autocommit statement an xid of its own; everything the
    # close deleted or overwrote was committed before it.
    deadline = time.monotonic() + seconds
    while True:
        older = connection.exec_driver_sql(
            _OLDER_TRANSACTIONS, {"target": target, "target32": str(int(target) % 2**32)}
        ).scalar_one()
        if not older:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def check_reachable(engine: Engine) -> None:
    """Connect once; raise ConfigError naming host and port if the database cannot be reached."""
    try:
        with engine.connect():
            pass
    except OperationalError:
        url = engine.url
        if url.get_backend_name() == "sqlite":
            raise ConfigError(f"DATABASE_URL: cannot open the SQLite file {url.database}") from None
        raise ConfigError(
            f"DATABASE_URL: cannot reach the database server at {url.host or 'localhost'}:"
            f"{url.port or 5432}"
        ) from None


#: How long a background job waits for the database to come back after losing its connection
#: (a restart, a fail-over) before it gives up and leaves the rest to the next sweep.
RECONNECT_SECONDS = 120.0


def lost_connection(error: BaseException) -> bool:
    """The database connection failed or could not be opened (not a mistake in a query).

    A statement on a connection the server dropped raises a DBAPIError with
    ``connection_invalidated``; while the server is down or shutting down, opening one raises an
    OperationalError.
    """
    return isinstance(error, DBAPIError) and (
        bool(error.connection_invalidated) or isinstance(error, OperationalError)
    )


def wait_for_database(engine: Engine, seconds: float = RECONNECT_SECONDS) -> float:
    """Block until a fresh connection answers ``SELECT 1``; returns the seconds waited.

    Polls every 0.1 s at first, then up to every second. Past ``seconds`` the last error is
    raised. The pool is left as it is (a dispose would orphan connections other threads have
    checked out): a disconnect already invalidated it, and the pool replaces the rest.
    """
    started = time.monotonic()
    pause = 0.1
    while True:
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return time.monotonic() - started
        except DBAPIError as error:
            if not lost_connection(error) or time.monotonic() - started >= seconds:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def reconnecting(engine: Engine, run: Callable[[], _T], what: str, *, tries: int = 3) -> _T:
    """``run()``, and again (up to ``tries`` in all) each time it meets a lost connection, once
    the database answers again. ``run`` must be safe to run again after it failed part way: one
    transaction per step, so a step that died was rolled back whole (the mixer, the sweep)."""
    for attempt in range(1, tries + 1):
        try:
            return run()
        except DBAPIError as error:
            if attempt == tries or not lost_connection(error):
                raise
            log.warning(
                "%s lost the database connection (%s); waiting up to %.0f s for it",
                what,
                type(error.orig).__name__,
                RECONNECT_SECONDS,
            )
            waited = wait_for_database(engine)
            log.warning(
                "%s met a lost database connection (%s); the database answered again after "
                "%.1f s: running it again (try %s of %s)",
                what,
                type(error.orig).__name__,
                waited,
                attempt + 1,
                tries,
            )
    raise AssertionError("unreachable")  # pragma: no cover


def init_app(app: Flask, engine: Engine | None = None) -> Database:
    """Attach the database to the app and close each context's session at teardown."""
    engine = engine or make_engine(app.config["DATABASE_URL"])
    database = Database(engine, sessionmaker(engine, expire_on_commit=False))
    app.extensions["db"] = database
    app.teardown_appcontext(_close_session)
    return database


def get_database(app: Flask | None = None) -> Database:
    database: Database = (app or current_app).extensions["db"]
    return database


def get_session() -> Session:
    """The session of the current application context (created on first use)."""
    if "db_session" not in g:
        g.db_session = get_database().sessions()
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except DBAPIError as error:
            # The rollback of close() met a connection the server dropped (a restart after the
            # view ran): the server rolled back itself; the response stands, the pool drops it.
            if not error.connection_invalidated:
                raise


def wait_until_reachable(
    engine: Engine, seconds: float = RECONNECT_SECONDS, *, every: float = 10.0
) -> float:
    """:func:`check_reachable` for a process that may start before its database (a worker):
    wait up to ``seconds`` for the server to answer, saying so in one log line at once and one
    every ``every`` seconds after; returns the seconds waited. Past ``seconds`` it raises
    ConfigError as :func:`check_reachable` does. A SQLite file that cannot be opened will not
    appear by waiting: that fails at once.
    """
    if engine.url.get_backend_name() == "sqlite":
        check_reachable(engine)
        return 0.0
    where = f"{engine.url.host or 'localhost'}:{engine.url.port or 5432}"
    started = time.monotonic()
    next_line = started
    pause = 0.1
    while True:
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except DBAPIError as error:
            if not lost_connection(error):
                raise
            now = time.monotonic()
            if now - started >= seconds:
                raise ConfigError(
                    f"DATABASE_URL: cannot reach the database server at {where} "
                    f"(waited {seconds:.0f} s)"
                ) from None
            if now >= next_line:
                lines = str(error.orig).strip().splitlines()
                log.warning(
                    "waiting for the database server at %s (%s): %.0f s of at most %.0f s",
                    where,
                    lines[0][:160] if lines else type(error.orig).__name__,
                    now - started,
                    seconds,
                )
                next_line = now + every
            time.sleep(pause)
            pause = min(pause * 2, 1.0)
            continue
        waited = time.monotonic() - started
        if next_line > started:  # it said it was waiting: say that the wait is over
            log.warning("the database server at %s answered after %.1f s", where, waited)
        return waited
