"""Alembic from code: the ``flask db`` commands and test helpers use the same configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

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


def upgrade(
    engine: Engine, revision: str = "head", *, settings: Mapping[str, Any] | None = None
) -> None:
    """Migrate to ``revision``. ``settings`` (the app's configuration) gives revision 0003 what
    it needs to re-seal an open wave: SECRET_KEY, INSTANCE_PATH and the public key files."""
    had_background = _has_column(engine, "responses", "background")
    had_nonces = _has_column(engine, "invitations", "token_nonce")
    config = alembic_config(engine)
    if settings is not None:
        config.attributes["settings"] = settings
    command.upgrade(config, revision)
    if had_nonces and not _has_column(engine, "invitations", "token_nonce"):
        # Revision 0003 erased the nonces and re-sealed the pool and drafts: no old copy may
        # stay in dead row versions (PostgreSQL) or the WAL (SQLite).
        from app.db import vacuum_tables

        vacuum_tables(engine, ("invitations", "pending_responses", "drafts"))
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
