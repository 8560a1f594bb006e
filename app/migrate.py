"""Alembic from code: the ``flask db`` commands and test helpers use the same configuration."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs on ``engine`` (passed through, not re-created)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    had_background = _has_column(engine, "responses", "background")
    command.upgrade(alembic_config(engine), revision)
    if had_background and not _has_column(engine, "responses", "background"):
        # Revision 0004 dropped the column; leave no copy of its values in dead row versions
        # (PostgreSQL) or in the WAL (SQLite). Neither can run inside the migration's transaction.
        from app.db import vacuum_tables

        vacuum_tables(engine, ("responses",))


def _has_column(engine: Engine, table: str, column: str) -> bool:
    inspector = inspect(engine)
    if not inspector.has_table(table):
        return False
    return any(c["name"] == column for c in inspector.get_columns(table))


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)
