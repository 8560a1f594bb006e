"""Engine and sessions: one SQLAlchemy session per application context, closed at teardown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.config import ConfigError


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
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin (savepoints work).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
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
