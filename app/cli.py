"""Command-line interface under ``flask --app wsgi``: database and demo commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import migrate
from app.db import get_database


@click.group("db", help="Database schema (Alembic migrations).")
def db_group() -> None:
    """Group for the schema commands."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    app = current_app
    settings = {**app.config, "INSTANCE_PATH": app.instance_path}
    migrate.upgrade(get_database(app).engine, revision, settings=settings)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(get_database(current_app).engine, revision)
    click.echo(f"database at {revision}")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Print the revision the database is at, and whether that is the code's head."""
    current = migrate.current_revisions(get_database(current_app).engine)
    heads = migrate.script_heads()
    if not current:
        click.echo(f"no schema yet; the code's head is {', '.join(sorted(heads))}")
        raise SystemExit(1)
    state = "(head)" if current == heads else f"(the code's head is {', '.join(sorted(heads))})"
    click.echo(f"{', '.join(sorted(current))} {state}")
    if current != heads:
        raise SystemExit(1)


@db_group.command("history")
@with_appcontext
@click.option("--verbose", "-v", is_flag=True, help="Show each revision's full description.")
def db_history(verbose: bool) -> None:
    """List the migrations, newest first; the database's current one is marked."""
    migrate.history(get_database(current_app).engine, verbose=verbose)


@db_group.command("revision")
@with_appcontext
@click.option("--message", "-m", required=True, help="What the revision changes.")
@click.option("--rev-id", help="Revision id (the project numbers them: 0003, 0004 …).")
@click.option("--empty", is_flag=True, help="Write an empty revision (no comparison).")
def db_revision(message: str, rev_id: str | None, empty: bool) -> None:
    """Write a revision comparing the models with the database (read and edit it before use)."""
    migrate.revision(
        get_database(current_app).engine, message, autogenerate=not empty, rev_id=rev_id
    )


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Seed and print the logins, then stop.")
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Create and migrate the database, seed the demo data, print logins and links, serve."""
    from pathlib import Path

    from app import demo, keys
    from app.db import get_session

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    migrate.upgrade(
        get_database(app).engine, settings={**app.config, "INSTANCE_PATH": app.instance_path}
    )
    session = get_session()
    info = demo.seed(
        session, keys.mailer_keyring(app), app.config["PUBLIC_URL"], Path(app.instance_path)
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
    click.echo(
        "Key pairs (0600; in this demo one process serves, mixes and mails, so it holds all):"
    )
    for (kind, half), (setting, _) in keys.FILES.items():
        click.echo(f"  {setting:<24} {keys.path_of(app.config, app.instance_path, kind, half)}")
    click.echo("Three survey links from Alder County's open 2026 wave:")
    for link in info.links:
        click.echo(f"  {link}")
    if no_serve:
        return
    _start_job_consumer(app)
    from app.national import warm_report

    warm_report(app)  # the coordinator's psychometric report, ready by the first visit
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
    __import__("app.ops.cli", fromlist=["init_app"]).init_app(app)
    __import__("app.keys", fromlist=["init_cli"]).init_cli(app)
