"""Fixtures of the survey tests: fresh databases with real connections for race tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app.db import make_engine
from app.migrate import upgrade
from tests.conftest import is_postgres


@contextmanager
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database of the suite's kind that commits for real (no rollback)."""
    if not is_postgres():
        engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    schema = f"survey_{uuid.uuid4().hex[:12]}"
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(
        url, connect_args={"options": f"-csearch_path={schema}"}, pool_size=25, max_overflow=10
    )
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def fresh_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(database_url, tmp_path) as engine:
        yield engine
