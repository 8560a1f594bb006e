"""Command-line interface under ``flask --app wsgi``: database and demo commands."""

from __future__ import annotations

import click
from flask import Flask, current_app

from app import migrate
from app.db import get_database


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    """Group for the schema commands."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    migrate.upgrade(get_database(current_app).engine, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(get_database(current_app).engine, revision)
    click.echo(f"database at {revision}")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
