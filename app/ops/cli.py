"""Operator commands under ``flask --app wsgi``: the pre-flight check and backups."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.config import ConfigError
from app.db import get_database
from app.ops import backup, checks


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Pre-flight: settings, database, schema head, Redis, SMTP, instance/ (exit 1 on a problem)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    results = checks.run_preflight(app)
    for name, problem in results:
        click.echo(f"ok    {name}" if problem is None else f"FAIL  {name}: {problem}")
    failed = [name for name, problem in results if problem is not None]
    if failed:
        click.echo(f"{len(failed)} problem(s): {', '.join(failed)}", err=True)
        sys.exit(1)
    click.echo("all checks passed")


def report_unloadable_settings(error: ConfigError) -> int:
    """``flask check`` when the settings do not even load: list every bad one; exit status."""
    import os

    from app import PROJECT_ROOT

    instance = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))
    problems = checks.settings_problems(os.environ, instance) or [str(error)]
    for problem in problems:
        print(f"FAIL  settings: {problem}")
    print("the other checks need valid settings; fix these first", file=sys.stderr)
    return 1


@click.group("backup", help="Back up and restore the database (pg_dump / SQLite backup API).")
def backup_group() -> None:
    """Group for the backup commands."""


@backup_group.command("create")
@with_appcontext
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="New file.")
def backup_create(out: Path) -> None:
    """Write a consistent copy of the database to OUT (mode 0600) while the service runs."""
    try:
        kind = backup.create(get_database(current_app).engine, out)
    except backup.BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"{kind} backup written to {out}")
    click.echo(
        "Keep the keys beside it (SECRET_KEY and the key files in the README's 'Operating' "
        "section), stored apart from the backups: without them answers still in the shuffle "
        "pool cannot be mixed."
    )


@backup_group.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite a database that is not empty.")
def backup_restore(file: Path, replace: bool) -> None:
    """Load FILE into the database in DATABASE_URL (a new, empty one unless --replace)."""
    try:
        kind = backup.restore(get_database(current_app).engine, file, replace=replace)
    except backup.BackupError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"{kind} backup {file} restored; run `flask --app wsgi check` before serving")


def init_app(app: Flask) -> None:
    app.cli.add_command(check_command)
    app.cli.add_command(backup_group)
