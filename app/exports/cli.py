"""``flask --app wsgi export``: research extracts and data stewards from the command line.

The CLI acts as the operator of the machine (audited as ``cli``); the wave's data-sharing level
still has to be "research extract", as on the web.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.db import get_session
from app.models import User
from app.services import extract, reports, users
from app.services.access import PermissionDenied
from app.services.jurisdictions import NotFound


@click.group("export", cls=AppGroup, help="Research extracts of survey waves.")
def export_group() -> None:
    """Group for the export commands."""


@export_group.command("extract")
@click.argument("wave_id", type=int)
@click.option("--format", "fmt", type=click.Choice(extract.FORMATS), default="csv")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
def extract_command(wave_id: int, fmt: str, out_dir: Path) -> None:
    """Write the de-identified research extract of WAVE_ID into DIR (files readable by you only)."""
    try:
        _, files = extract.export_extract(get_session(), None, wave_id, fmt)
    except (extract.ExtractError, reports.ReportError, PermissionDenied) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            path = out_dir / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            click.echo(str(path))
    except OSError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None


@export_group.command("steward")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the permission back.")
def steward_command(email: str, revoke: bool) -> None:
    """Make the administrator EMAIL a data steward (or, with --revoke, no longer one)."""
    session = get_session()
    user = session.scalars(select(User).where(User.email == users.normalise_email(email))).first()
    try:
        if user is None:
            raise NotFound(f"no account {email}")
        users.set_data_steward(session, None, user.id, not revoke)
    except (NotFound, users.UserError) as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
    click.echo(f"{user.email}: {'not ' if revoke else ''}a data steward")
