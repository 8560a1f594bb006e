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


def script_heads() -> set[str]:
    """The head revision(s) of the migration scripts shipped with the code."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config_without_engine()).get_heads())


def alembic_config_without_engine() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def current_revisions(engine: Engine) -> set[str]:
    """The revision(s) the database is at (empty: no schema yet)."""
    from alembic.runtime.migration import MigrationContext

    from app.db import READ_ONLY

    with engine.connect() as connection:
        connection.execution_options(**READ_ONLY)
        return set(MigrationContext.configure(connection).get_current_heads())


def history(engine: Engine, *, verbose: bool = False) -> None:
    """Print the migrations, newest first (Alembic's ``history``)."""
    import sys

    config = alembic_config(engine)
    config.stdout = sys.stdout  # Alembic binds the stdout of import time; use today's
    command.history(config, verbose=verbose, indicate_current=True)


def revision(
    engine: Engine, message: str, *, autogenerate: bool = True, rev_id: str | None = None
) -> None:
    """Write a new revision file under migrations/versions (compared with the models)."""
    command.revision(
        alembic_config(engine), message=message, autogenerate=autogenerate, rev_id=rev_id
    )
