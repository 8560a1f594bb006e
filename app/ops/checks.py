"""Pre-flight and readiness checks: small functions in lists the application keeps.

Each check takes the application and returns ``None`` when all is well, else one line naming the
problem and what to do. ``flask --app wsgi check`` runs the pre-flight list and prints every
problem; ``/readyz`` runs the (cheaper) readiness list and names only the failing checks. Other
parts add their own with :func:`register` (for example "keys present and matching their public
halves").
"""

from __future__ import annotations

import os
import smtplib
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app import config, migrate
from app.db import READ_ONLY, get_database

#: A check: the application in, ``None`` or one line naming the problem out.
CheckFunction = Callable[[Flask], str | None]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunction


@dataclass
class Checks:
    """The checks of one application (kept in ``app.extensions["ops_checks"]``)."""

    preflight: list[Check] = field(default_factory=list)
    ready: list[Check] = field(default_factory=list)
    redis_client: Any = None


def register(app: Flask, name: str, run: CheckFunction, *, ready: bool = False) -> None:
    """Add a check to the pre-flight list, and to the readiness list when ``ready``."""
    checks = _checks(app)
    checks.preflight.append(Check(name, run))
    if ready:
        checks.ready.append(Check(name, run))


def _checks(app: Flask) -> Checks:
    found: Checks = app.extensions["ops_checks"]
    return found


def run_preflight(app: Flask) -> list[tuple[str, str | None]]:
    """Every pre-flight check in order, with its problem (``None`` when it passed)."""
    return [(check.name, _run(check, app)) for check in _checks(app).preflight]


def failing_ready_checks(app: Flask | None = None) -> list[str]:
    """Names of the readiness checks that fail now (empty: ready)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    return [check.name for check in _checks(app).ready if _run(check, app) is not None]


def _run(check: Check, app: Flask) -> str | None:
    try:
        return check.run(app)
    except Exception as error:  # a check that breaks is a failing check, never a crash
        return f"the check itself failed ({type(error).__name__})"


# --- the checks -----------------------------------------------------------------------------


def check_settings(app: Flask) -> str | None:
    """Every setting read again from the environment, all problems at once."""
    problems = settings_problems(os.environ, Path(app.instance_path))
    return "; ".join(problems) if problems else None


def settings_problems(environ: Any, instance_path: Path) -> list[str]:
    """Each invalid setting on its own line (config.load stops at the first one)."""
    problems = []
    for setting in config.SETTINGS:
        raw = environ.get(setting.name)
        if raw in (None, ""):
            continue
        try:
            setting.parse(raw)
        except ValueError as error:
            problems.append(f"{setting.name}: {error}")
    if not problems:
        try:
            config.load(environ, instance_path)
        except config.ConfigError as error:
            problems.append(str(error))
    return problems


def check_database(app: Flask) -> str | None:
    engine = get_database(app).engine
    try:
        with engine.connect() as connection:
            connection.execution_options(**READ_ONLY).execute(text("SELECT 1"))
    except SQLAlchemyError:
        url = engine.url
        if url.get_backend_name() == "sqlite":
            return f"cannot open the SQLite database {url.database}"
        return f"cannot reach the database server at {url.host or 'localhost'}:{url.port or 5432}"
    return None


def check_migrations(app: Flask) -> str | None:
    engine = get_database(app).engine
    heads = _script_heads(app)
    try:
        current = migrate.current_revisions(engine)
    except SQLAlchemyError:
        return "cannot read the schema version (is the database reachable?)"
    if not current:
        return "the database has no schema yet: run `flask --app wsgi db upgrade`"
    if current != heads:
        return (
            f"the database is at {', '.join(sorted(current))}, the code expects "
            f"{', '.join(sorted(heads))}: run `flask --app wsgi db upgrade`"
        )
    return None


def _script_heads(app: Flask) -> set[str]:
    heads: set[str] | None = app.extensions.get("ops_migration_heads")
    if heads is None:
        heads = migrate.script_heads()
        app.extensions["ops_migration_heads"] = heads
    return heads


def check_redis(app: Flask) -> str | None:
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    checks = _checks(app)
    if checks.redis_client is None:
        checks.redis_client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        checks.redis_client.ping()
    except redis.RedisError:
        return "cannot reach Redis at REDIS_URL"
    return None


def check_smtp(app: Flask) -> str | None:
    """With MAIL_BACKEND=smtp: connect, STARTTLS when configured, log in when configured."""
    cfg = app.config
    if cfg["MAIL_BACKEND"] != "smtp":
        return None
    where = f"{cfg['SMTP_HOST']}:{cfg['SMTP_PORT']}"
    try:
        with smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
            smtp.ehlo()
            if cfg["SMTP_STARTTLS"]:
                import ssl

                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg.get("SMTP_USERNAME"):
                smtp.login(cfg["SMTP_USERNAME"], cfg.get("SMTP_PASSWORD") or "")
            smtp.noop()
    except smtplib.SMTPAuthenticationError:
        return f"the SMTP server at {where} refused SMTP_USERNAME/SMTP_PASSWORD"
    except smtplib.SMTPNotSupportedError:
        return f"the SMTP server at {where} does not offer STARTTLS (SMTP_STARTTLS=true)"
    except (OSError, smtplib.SMTPException) as error:
        return f"cannot talk to the SMTP server at {where} ({type(error).__name__})"
    return None


def check_instance(app: Flask) -> str | None:
    """``instance/`` exists, belongs to this user and nothing in it is open to others."""
    path = Path(app.instance_path)
    if not path.is_dir():
        return f"the instance folder {path} does not exist (create it with mode 0700)"
    problems = []
    for item in [path, *sorted(path.rglob("*"))]:
        try:
            info = item.lstat()
        except OSError:
            continue  # removed while we looked
        if info.st_uid != os.getuid():
            problems.append(f"{item} belongs to another user")
        elif info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            problems.append(f"{item} is open to other users (chmod go-rwx)")
        if len(problems) >= 5:
            problems.append("…")
            break
    return "; ".join(problems) if problems else None


def check_keys(app: Flask) -> str | None:
    """Both public key files readable; a private key file, where this host has one, readable and
    the pair of its public half (private keys belong on the worker's hosts only)."""
    from app import keys
    from app.services import sealing

    problems = []
    for kind in ("mix", "mailer"):
        public_setting = keys.FILES[(kind, "public")][0]
        private_setting = keys.FILES[(kind, "private")][0]
        try:
            public = sealing.read_public(
                public_setting, keys.path_of(app.config, app.instance_path, kind, "public"), kind
            )
        except sealing.KeyFileError as error:
            problems.append(str(error))
            continue
        private_path = keys.path_of(app.config, app.instance_path, kind, "private")
        if not private_path.exists():
            continue
        try:
            ring = sealing.read_keyring(private_setting, private_path, kind)
        except sealing.KeyFileError as error:
            problems.append(str(error))
            continue
        if ring.public.id != public.id:
            problems.append(
                f"{private_setting}: its current key is not the pair of {public_setting}"
            )
    return "; ".join(problems) if problems else None


#: The pre-flight checks, in the order they are printed; the readiness ones are marked.
DEFAULT_CHECKS: tuple[tuple[str, CheckFunction, bool], ...] = (
    ("settings", check_settings, False),
    ("database", check_database, True),
    ("migrations", check_migrations, True),
    ("redis", check_redis, True),
    ("smtp", check_smtp, False),
    ("instance", check_instance, False),
    ("keys", check_keys, True),
)


def init_app(app: Flask) -> None:
    app.extensions["ops_checks"] = Checks()
    for name, run, ready in DEFAULT_CHECKS:
        register(app, name, run, ready=ready)


__all__ = [
    "Check",
    "CheckFunction",
    "check_database",
    "check_instance",
    "check_migrations",
    "check_redis",
    "check_settings",
    "check_smtp",
    "failing_ready_checks",
    "register",
    "run_preflight",
    "settings_problems",
]
