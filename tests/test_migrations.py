"""The migrations: one head, upgrade from empty to head, and agreement with the models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from app.db import make_engine
from app.migrate import alembic_config, downgrade, upgrade
from app.models import Base
from tests.conftest import empty_database


@pytest.fixture
def empty_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the suite's kind: a fresh SQLite file or a fresh PostgreSQL schema."""
    with empty_database(database_url, tmp_path, "mig") as (engine, _admin):
        yield engine


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config(make_engine("sqlite://")))
    assert len(script.get_heads()) == 1


def test_upgrade_from_empty_creates_every_model_table(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_and_migrations_agree(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_downgrade_to_base_and_up_again(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)
    assert "responses" in inspect(empty_engine).get_table_names()
