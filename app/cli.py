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


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Seed and print the logins, then stop.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create and migrate the database, seed the demo data, print logins and links, serve."""
    from pathlib import Path

    from app import demo
    from app.db import get_session

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    migrate.upgrade(get_database(app).engine)
    session = get_session()
    info = demo.seed(
        session, app.config["SECRET_KEY"], app.config["PUBLIC_URL"], Path(app.instance_path)
    )
    # End the read transaction: on SQLite it holds the write lock the job consumer needs.
    session.close()
    click.echo(
        "Demo data " + ("created." if info.seeded_now else "already present; kept as it is.")
    )
    click.echo(f"Log in at {app.config['PUBLIC_URL']}/login with password {info.password}:")
    click.echo(f"  national coordinator   {demo.NATIONAL_LOGIN}")
    click.echo(f"  jurisdiction admin     {demo.ADMIN_LOGIN}")
    click.echo(f"  leader (Alder County)  {demo.LEADER_LOGIN}")
    click.echo("Three survey links from Alder County's open 2026 wave:")
    for link in info.links:
        click.echo(f"  {link}")
    if no_serve:
        return
    _start_job_consumer(app)
    from werkzeug.serving import run_simple

    click.echo(f"Serving on http://{host}:{port} (Ctrl+C to stop)")
    run_simple(host, port, app, use_reloader=False, threaded=True)


def _start_job_consumer(app: Flask) -> None:
    """Run the job queue's consumer in this process when the queue module provides one."""
    try:
        from app import tasks
    except ModuleNotFoundError:
        return
    start = getattr(tasks, "start_inprocess_consumer", None)
    if start is not None:
        start(app)


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
    __import__("app.admin.cli", fromlist=["init_app"]).init_app(app)
    __import__("app.national_cli", fromlist=["init_app"]).init_app(app)
    app.cli.add_command(demo_command)
