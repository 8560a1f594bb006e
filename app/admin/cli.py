"""Administration commands under ``flask --app wsgi``: the same services as the web pages.

Errors print one line (``error: …``) and exit with status 2; a failing command changes nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app.db import get_session
from app.models import User
from app.services import access, accounts, jurisdictions, roster, users, waves
from app.services.jurisdictions import NotFound

F = TypeVar("F", bound=Callable[..., Any])

#: Service exceptions that mean "your input or the state is wrong", not a bug.
_EXPECTED = (
    access.PermissionDenied,
    NotFound,
    jurisdictions.JurisdictionError,
    users.UserError,
    roster.RosterInvalid,
    waves.WaveError,
)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _one_line_errors(command: F) -> F:
    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except roster.RosterInvalid as error:
            for line, message in error.problems:
                click.echo(f"line {line}: {message}", err=True)
            _fail(f"{len(error.problems)} problem(s) in the roster; nothing was imported")
        except _EXPECTED as error:
            get_session().rollback()
            _fail(str(error))

    return wrapper  # type: ignore[return-value]


def _jurisdiction_id(slug: str) -> int:
    return jurisdictions.get_jurisdiction_by_slug(get_session(), slug).id


# --- users ----------------------------------------------------------------------------------


users_group = AppGroup("users", help="Administrative accounts.")


@users_group.command("create")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["national", "jurisdiction_admin", "leader"])
)
@click.option("--jurisdiction", "slug", help="Slug of the jurisdiction (not for national).")
@click.option("--unit", "units", multiple=True, help="Unit path a leader reads (repeatable).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@_one_line_errors
def users_create(
    email: str, role: str, slug: str | None, units: tuple[str, ...], password_stdin: bool
) -> None:
    """Create an account (the password is asked for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    jurisdiction_id = _jurisdiction_id(slug) if slug else None
    user = users.create_user(
        get_session(),
        None,
        email=email,
        password=password,
        role=role,
        jurisdiction_id=jurisdiction_id,
        unit_paths=units,
    )
    click.echo(f"created {user.role.value} {user.email} (id {user.id})")


@users_group.command("list")
@click.option("--jurisdiction", "slug", help="Only this jurisdiction's accounts.")
@_one_line_errors
def users_list(slug: str | None) -> None:
    """One line per account: email, role, jurisdiction, state."""
    session = get_session()
    query = select(User).order_by(User.email)
    if slug:
        query = query.where(User.jurisdiction_id == _jurisdiction_id(slug))
    for user in session.scalars(query):
        where = user.jurisdiction.slug if user.jurisdiction else "-"
        state = "active" if user.active else "inactive"
        click.echo(f"{user.email}\t{user.role.value}\t{where}\t{state}")


def _user_by_email(email: str) -> User:
    user = get_session().scalars(select(User).where(User.email == users.normalise_email(email)))
    found = user.first()
    if found is None:
        raise users.UserError(f"no account {email!r}")
    return found


@users_group.command("invite")
@click.option("--email", required=True)
@click.option(
    "--role", required=True, type=click.Choice(["national", "jurisdiction_admin", "leader"])
)
@click.option("--jurisdiction", "slug", help="Slug of the jurisdiction (not for national).")
@click.option("--unit", "units", multiple=True, help="Unit path a leader reads (repeatable).")
@click.option("--print-link", is_flag=True, help="Also print the link (when mail cannot reach).")
@_one_line_errors
def users_invite(
    email: str, role: str, slug: str | None, units: tuple[str, ...], print_link: bool
) -> None:
    """Create an account and email its owner a link to choose a password (7 days, once)."""
    from app.auth.links import account_link, send_account_link

    user = accounts.invite_user(
        get_session(),
        None,
        email=email,
        role=role,
        jurisdiction_id=_jurisdiction_id(slug) if slug else None,
        unit_paths=units,
    )
    token = accounts.make_link_token(current_app.config["SECRET_KEY"], user, "invitation")
    sent = send_account_link(user.email, token, "invitation", user.language)
    click.echo(
        f"invited {user.role.value} {user.email} (id {user.id}); "
        f"email {'sent' if sent else 'NOT sent'}"
    )
    if print_link:
        click.echo(account_link(token, "invitation"))


@users_group.command("reset-password")
@click.argument("email")
@click.option("--print-link", is_flag=True, help="Also print the link (when mail cannot reach).")
@_one_line_errors
def users_reset_password(email: str, print_link: bool) -> None:
    """Email an account a link to choose a new password (2 hours, once)."""
    from app.auth.links import account_link, send_account_link

    user = _user_by_email(email)
    if not user.active:
        raise users.UserError(f"{user.email} is deactivated: activate it first")
    token = accounts.make_link_token(current_app.config["SECRET_KEY"], user, "reset")
    sent = send_account_link(user.email, token, "reset", user.language)
    click.echo(f"password link for {user.email}: email {'sent' if sent else 'NOT sent'}")
    if print_link:
        click.echo(account_link(token, "reset"))


@users_group.command("deactivate")
@click.argument("email")
@_one_line_errors
def users_deactivate(email: str) -> None:
    """Deactivate an account (its sessions end at their next request)."""
    user = users.set_active(get_session(), None, _user_by_email(email).id, False)
    click.echo(f"deactivated {user.email}")


@users_group.command("activate")
@click.argument("email")
@_one_line_errors
def users_activate(email: str) -> None:
    """Reactivate an account."""
    user = users.set_active(get_session(), None, _user_by_email(email).id, True)
    click.echo(f"activated {user.email}")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["national", "jurisdiction_admin", "leader"]))
@click.option("--jurisdiction", "slug", help="Move the account to this jurisdiction too.")
@_one_line_errors
def users_set_role(email: str, role: str, slug: str | None) -> None:
    """Change an account's role (a national account belongs to no jurisdiction)."""
    user = accounts.set_role(
        get_session(),
        None,
        _user_by_email(email).id,
        role,
        jurisdiction_id=_jurisdiction_id(slug) if slug else None,
    )
    click.echo(f"{user.email} is now {user.role.value}")


@users_group.command("unlock")
@click.argument("email")
@_one_line_errors
def users_unlock(email: str) -> None:
    """Let EMAIL sign in again from every address that has been failing (audited)."""
    secret = users.throttle_secret(current_app.config["SECRET_KEY"])
    cleared = users.unlock(get_session(), "cli", email, secret)
    click.echo(f"unlocked {users.normalise_email(email)} ({cleared} address(es) were waiting)")


# --- jurisdictions --------------------------------------------------------------------------


jurisdictions_group = AppGroup("jurisdictions", help="Member jurisdictions.")


@jurisdictions_group.command("create")
@click.option("--name", required=True)
@click.option("--slug", required=True)
@_one_line_errors
def jurisdictions_create(name: str, slug: str) -> None:
    """Create a jurisdiction with its agency root unit."""
    created = jurisdictions.create_jurisdiction(get_session(), None, name=name, slug=slug)
    click.echo(f"created jurisdiction {created.slug} (id {created.id})")


@jurisdictions_group.command("list")
def jurisdictions_list() -> None:
    for j in jurisdictions.list_jurisdictions(get_session(), None):
        click.echo(f"{j.slug}\t{j.name}")


# --- roster ---------------------------------------------------------------------------------


roster_group = AppGroup("roster", help="Staff rosters.")


@roster_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jurisdiction", "slug", required=True)
@click.option("--dry-run", is_flag=True, help="Only show what would change.")
@_one_line_errors
def roster_import(file: Path, slug: str, dry_run: bool) -> None:
    """Import a CSV or XLSX roster (all or nothing)."""
    jurisdiction_id = _jurisdiction_id(slug)
    data = file.read_bytes()
    min_n = int(current_app.config["MIN_REPORT_N"])
    preview = roster.preview_import(
        get_session(), None, jurisdiction_id, data, file.name, min_report_n=min_n
    )
    if not preview.ok:
        raise roster.RosterInvalid(preview.problems)
    click.echo(
        f"{preview.rows_read} rows read ({preview.encoding}); {preview.staff} staff in "
        f"{len(preview.staff_per_unit)} units; {len(preview.units_to_create)} units to create; "
        f"{preview.people_new} new, {preview.people_to_deactivate} to deactivate"
    )
    for path in preview.small_units:
        click.echo(
            f"note: {path!r} has fewer than {min_n}: reported only as part of the unit above"
        )
    if dry_run:
        click.echo("dry run: nothing imported")
        get_session().rollback()
        return
    result = roster.import_roster(
        get_session(),
        None,
        jurisdiction_id,
        data,
        file.name,
        min_report_n=min_n,
        expected_checksum=preview.checksum,
    )
    click.echo(
        f"imported {result.staff} staff; {result.units_created} units created, "
        f"{result.units_deactivated} units and {result.people_deactivated} people made inactive"
    )


# --- waves ----------------------------------------------------------------------------------


waves_group = AppGroup("waves", help="Annual survey waves.")


@waves_group.command("create")
@click.option("--jurisdiction", "slug", required=True)
@click.option("--year", required=True, type=int)
@click.option(
    "--instrument",
    "instrument_ref",
    default="team-safety-culture",
    show_default=True,
    help="KEY or KEY@VERSION",
)
@click.option("--opens", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--closes", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--timezone", default="UTC", show_default=True)
@click.option("--reminders", "reminder_max", default=2, show_default=True, type=int)
@click.option("--reminder-days", "reminder_min_days", default=7, show_default=True, type=int)
@click.option("--min-report-n", type=int, help="Default: MIN_REPORT_N.")
@click.option("--pool-k", type=int, help="Default: POOL_K.")
@_one_line_errors
def waves_create(
    slug: str,
    year: int,
    instrument_ref: str,
    opens: Any,
    closes: Any,
    timezone: str,
    reminder_max: int,
    reminder_min_days: int,
    min_report_n: int | None,
    pool_k: int | None,
) -> None:
    """Create a draft wave; prints its id."""
    key, version = waves.parse_instrument_ref(instrument_ref)
    wave = waves.create_wave(
        get_session(),
        None,
        jurisdiction_id=_jurisdiction_id(slug),
        year=year,
        instrument_key=key,
        instrument_version=version,
        opens=_day(opens),
        closes=_day(closes),
        timezone=timezone,
        reminder_max=reminder_max,
        reminder_min_days=reminder_min_days,
        min_report_n=min_report_n or int(current_app.config["MIN_REPORT_N"]),
        pool_k=pool_k or int(current_app.config["POOL_K"]),
    )
    click.echo(wave.id)


def _day(value: Any) -> date:
    return value.date() if hasattr(value, "date") else value  # type: ignore[no-any-return]


@waves_group.command("list")
@click.option("--jurisdiction", "slug")
@_one_line_errors
def waves_list(slug: str | None) -> None:
    """One line per wave: id, jurisdiction, year, status."""
    jurisdiction_id = _jurisdiction_id(slug) if slug else None
    for wave in waves.list_waves(get_session(), None, jurisdiction_id):
        click.echo(f"{wave.id}\t{wave.jurisdiction.slug}\t{wave.year}\t{wave.status.value}")


@waves_group.command("launch")
@click.argument("wave_id", type=int)
@_one_line_errors
def waves_launch(wave_id: int) -> None:
    """Create the invitations of the current roster and queue the emails."""
    from app import keys, tasks

    count = waves.launch_wave(get_session(), None, wave_id, mailer_public=keys.mailer_public())
    jobs = tasks.dispatch(wave_id)
    click.echo(f"launched wave {wave_id}: {count} invitations, {jobs} delivery jobs queued")


@waves_group.command("remind")
@click.argument("wave_id", type=int)
@_one_line_errors
def waves_remind(wave_id: int) -> None:
    """Queue a reminder to everyone who has not answered (and did not bounce)."""
    from app import tasks

    count = waves.remind_wave(get_session(), None, wave_id)
    tasks.dispatch(wave_id)
    click.echo(f"reminder queued for {count} invitations")


@waves_group.command("close")
@click.argument("wave_id", type=int)
@_one_line_errors
def waves_close(wave_id: int) -> None:
    """Close the wave: links stop working, addresses are erased, counts kept."""
    from app import tasks

    waves.close_wave(get_session(), None, wave_id, instance_path=current_app.instance_path)
    tasks.mix_wave(wave_id)  # queued for the worker that holds the mix key (the sweep retries)
    click.echo(f"closed wave {wave_id}; the mixer moves what is left in the pool")


@waves_group.command("status")
@click.argument("wave_id", type=int)
@_one_line_errors
def waves_status(wave_id: int) -> None:
    """Counts of one wave."""
    wave = waves.get_wave(get_session(), None, wave_id)
    s = waves.wave_totals(get_session(), None, wave_id)
    click.echo(
        f"wave {wave.id} {wave.year} {wave.status.value}: invited {s.invited} / sent {s.sent} / "
        f"failed {s.failed} / bounced {s.bounced} / queued {s.queued} / answered {s.answered}"
    )


@waves_group.command("retry-failed")
@click.argument("wave_id", type=int)
@_one_line_errors
def waves_retry(wave_id: int) -> None:
    """Queue failed deliveries again (after checking what happened to interrupted ones)."""
    from app import tasks

    count = waves.retry_failed(get_session(), None, wave_id)
    tasks.dispatch(wave_id)
    click.echo(f"{count} failed deliveries queued again")


# --- worker ---------------------------------------------------------------------------------


@click.command("worker")
@with_appcontext
@click.option("--workers", default=1, show_default=True, type=int)
def worker(workers: int) -> None:
    """Run the background job consumer (emails, wave closing) until interrupted."""
    from app import tasks

    app = current_app._get_current_object()
    tasks.run_consumer(app, workers=workers)


def init_app(app: Flask) -> None:
    for command in (users_group, jurisdictions_group, roster_group, waves_group, worker):
        app.cli.add_command(command)


__all__ = ["init_app"]
