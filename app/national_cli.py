"""National learning commands under ``flask --app wsgi national``: keys, contributions.

Errors print one line (``error: …`` or ``refused: …``) and exit with status 2; a refused
import changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.db import get_session
from app.models import Jurisdiction, Wave
from app.services import contributions
from app.services.jurisdictions import NotFound

national = AppGroup("national", help="Contributions between jurisdictions and the nation.")


def _fail(message: str) -> NoReturn:
    if not message.startswith("refused:"):
        message = f"error: {message}"
    click.echo(message, err=True)
    sys.exit(2)


def _default_key(slug: str) -> Path:
    return Path(current_app.instance_path) / "keys" / f"{slug}.pem"


@national.command("keygen")
@click.option("--jurisdiction", "slug", required=True, help="Slug of this instance's jurisdiction.")
@click.option("--key", "key_path", type=click.Path(path_type=Path), default=None)
def keygen(slug: str, key_path: Path | None) -> None:
    """Create the jurisdiction's Ed25519 signing key; print the public key to register."""
    path = key_path or _default_key(slug)
    try:
        public = contributions.generate_key(path)
    except contributions.ContributionError as error:
        _fail(str(error))
    click.echo(f"private key written to {path} (keep it on this server)")
    click.echo(f"public key of {slug}: {public}")
    click.echo(f"on the national instance: flask national trust-key --jurisdiction {slug} {public}")


@national.command("trust-key")
@click.option("--jurisdiction", "slug", required=True)
@click.argument("public_key")
def trust_key(slug: str, public_key: str) -> None:
    """Register a jurisdiction's public key on the national instance."""
    try:
        row = contributions.trust_key(get_session(), slug, public_key)
    except contributions.ContributionError as error:
        _fail(str(error))
    click.echo(f"key {row.fingerprint[:16]} trusted for {slug}")


def _slug_of_wave(wave_id: int) -> str:
    """The slug of the wave's jurisdiction (its default key file is named after it)."""
    wave = get_session().get(Wave, wave_id)
    if wave is None:
        _fail(f"no wave {wave_id}")
    slug: str = (
        get_session()
        .scalars(select(Jurisdiction.slug).where(Jurisdiction.id == wave.jurisdiction_id))
        .one()
    )
    return slug


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        _fail(f"cannot read {file}: {error.strerror}")


@national.command("export-contribution")
@click.argument("wave_id", type=int)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@click.option("--key", "key_path", type=click.Path(path_type=Path), default=None)
def export_contribution(wave_id: int, out: Path, key_path: Path | None) -> None:
    """Write WAVE's approved contribution as a file signed with the jurisdiction's key."""
    session = get_session()
    slug = _slug_of_wave(wave_id)
    try:
        done = contributions.export_contribution(
            session, wave_id, key_path or _default_key(slug), out
        )
    except (contributions.ContributionError, NotFound) as error:
        _fail(str(error))
    click.echo(f"contribution {done.id} ({done.level.value}) written to {out}")


@national.command("import-contribution")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_contribution(file: Path) -> None:
    """Verify a signed contribution file and load it into the national store."""
    data = _read(file)
    try:
        row = contributions.import_contribution(get_session(), data)
    except contributions.ContributionError as error:
        get_session().rollback()
        _fail(str(error))
    click.echo(
        f"imported contribution {row.contribution_id} of {row.jurisdiction_slug} "
        f"({row.year}, {row.level.value})"
    )


@national.command("export-withdrawal")
@click.argument("wave_id", type=int)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True)
@click.option("--key", "key_path", type=click.Path(path_type=Path), default=None)
def export_withdrawal(wave_id: int, out: Path, key_path: Path | None) -> None:
    """After lowering WAVE's level: a signed notice withdrawing what its files already sent."""
    session = get_session()
    slug = _slug_of_wave(wave_id)
    try:
        ids = contributions.export_withdrawal(session, wave_id, key_path or _default_key(slug), out)
    except (contributions.ContributionError, NotFound) as error:
        _fail(str(error))
    click.echo(f"withdrawal of {len(ids)} contribution(s) written to {out}")


@national.command("import-withdrawal")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
def import_withdrawal(file: Path) -> None:
    """Verify a signed withdrawal notice and leave what it names out of national outputs."""
    data = _read(file)
    try:
        rows = contributions.import_withdrawal(get_session(), data)
    except contributions.ContributionError as error:
        get_session().rollback()
        _fail(str(error))
    click.echo(
        f"withdrew {len(rows)} contribution(s) of {rows[0].jurisdiction_slug} ({rows[0].year})"
    )


def init_app(app: Flask) -> None:
    app.cli.add_command(national)
