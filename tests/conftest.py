"""Shared fixtures: one migrated database per session, each test in a rolled-back transaction.

Set ``TEST_DATABASE_URL`` to run the suite on PostgreSQL; otherwise a SQLite file is used. The
PostgreSQL leg leaves out the packages that never open a database (``scoring``, ``surveys`` and
``app/reporting`` are pure by design, see STYLE.md): running them twice would prove nothing new.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app import catalog, create_app
from app import keys as keys_module
from app.db import get_database, make_engine
from app.migrate import upgrade
from app.services.sealing import Keyring, PublicKey, read_keyring

TEST_SECRET = "test-secret-key-" + "x" * 40

# A fresh clone has no compiled catalogs (.mo files are built, not committed).
catalog.compile_catalogs()


@dataclass(frozen=True)
class ThrowawayKeys:
    """Throwaway mix and mailer key pairs for the whole test run (files under a temp folder)."""

    directory: Path
    mix: Keyring
    mailer: Keyring

    @property
    def mix_public(self) -> PublicKey:
        return self.mix.public

    @property
    def mailer_public(self) -> PublicKey:
        return self.mailer.public

    def settings(self) -> dict[str, str]:
        return {setting: str(self.directory / name) for setting, name in keys_module.FILES.values()}


def _test_keys() -> ThrowawayKeys:
    # pytest may import this file twice (as the conftest and as tests.conftest): one folder.
    known = os.environ.get("SURVEY_TEST_KEYS_DIR")
    if known and Path(known, "mix.key").exists():
        directory = Path(known)
    else:
        directory = Path(tempfile.mkdtemp(prefix="survey-test-keys-"))
        atexit.register(shutil.rmtree, directory, True)
        keys_module.generate_files(directory)
        os.environ["SURVEY_TEST_KEYS_DIR"] = str(directory)
    return ThrowawayKeys(
        directory,
        read_keyring("MIX_PRIVATE_KEY_FILE", directory / "mix.key", "mix"),
        read_keyring("MAILER_PRIVATE_KEY_FILE", directory / "mailer.key", "mailer"),
    )


TEST_KEYS = _test_keys()


def pytest_report_header() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return f"database: PostgreSQL {url} (without {', '.join(sorted(DATABASE_FREE))})"
    return "database: SQLite (TEST_DATABASE_URL not set)"


# Test folders whose code under test takes no session and no engine.
DATABASE_FREE = frozenset({"scoring", "surveys", "reporting"})


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    here = Path(__file__).parent
    if os.environ.get("TEST_DATABASE_URL") and collection_path.parent == here:
        return collection_path.name in DATABASE_FREE or None
    return None


def is_postgres() -> bool:
    return bool(os.environ.get("TEST_DATABASE_URL"))


@contextmanager
def empty_database(
    database_url: str, tmp_path: Path, name: str, *, extensions: tuple[str, ...] = ()
) -> Iterator[tuple[Engine, Engine | None]]:
    """An empty database of the suite's kind, dropped afterwards: a SQLite file, or on
    PostgreSQL a schema of its own in the test database (with an admin engine for it and the
    ``extensions`` created first; the admin is None on SQLite)."""
    if not is_postgres():
        engine = make_engine(f"sqlite:///{tmp_path / (name + '.sqlite3')}")
        try:
            yield engine, None
        finally:
            engine.dispose()
        return
    schema = f"{name}_{uuid.uuid4().hex[:12]}"
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        for extension in extensions:
            connection.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine, admin
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


requires_postgres = pytest.mark.skipif(
    not is_postgres(), reason="PostgreSQL leg: TEST_DATABASE_URL is not set"
)


def reset_postgres(engine: Engine) -> None:
    """Empty the throwaway test database's public schema."""
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    if engine.dialect.name == "postgresql":
        reset_postgres(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside an outer transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        if transaction.is_active:
            transaction.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions that join the test's transaction: their commits become savepoints."""
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


def make_test_app(engine: Engine, tmp_path: Path, **overrides: object) -> Flask:
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "ENGINE": engine,
        "APP_ENV": "development",
        "WTF_CSRF_ENABLED": True,
        "MAIL_BACKEND": "outbox",
        **TEST_KEYS.settings(),
    }
    config.update(overrides)
    os.environ.setdefault("INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app(config)


@pytest.fixture
def app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    """The application bound to the test's transaction."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(engine, tmp_path)
    get_database(app).sessions = session_factory
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
