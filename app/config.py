"""Configuration from environment variables: defaults, parsing and fail-fast validation."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A missing or invalid setting; the message is one line naming the variable."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its default, how to parse it and what it means (for the README)."""

    name: str
    default: str | None
    meaning: str
    parse: Callable[[str], Any] = str


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
        if value < minimum:
            raise ValueError(f"expected a whole number of at least {minimum}, got {value}")
        return value

    return parse


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {raw!r}")
        return raw

    return parse


def _url(raw: str) -> str:
    if "://" not in raw:
        raise ValueError(f"expected a URL such as https://survey.example.org, got {raw!r}")
    return raw.rstrip("/")


def _database_url(raw: str) -> str:
    if not raw.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
        raise ValueError(
            f"expected a sqlite:/// or postgresql:// URL, got {raw.split(':', 1)[0]!r}:…"
        )
    if raw.startswith("postgres:"):
        raw = "postgresql:" + raw[len("postgres:") :]
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    return raw


def _secret_key(raw: str) -> str:
    if len(raw) < 32:
        raise ValueError(
            "expected at least 32 characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return raw


#: Every setting the application reads. The README's configuration table is this list.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SECRET_KEY",
        None,
        "Signs sessions, CSRF tokens and rate-limit keys only (nothing stored depends on it). "
        "Required outside the demo and tests (at least 32 characters). `make demo` keeps one in "
        "`instance/secret_key`.",
        _secret_key,
    ),
    Setting(
        "MIX_PUBLIC_KEY_FILE",
        None,
        "File of the mix public key: web processes seal submitted answers to it. Default: "
        "`instance/keys/mix.pub` (`flask --app wsgi keys generate` creates both pairs).",
    ),
    Setting(
        "MIX_PRIVATE_KEY_FILE",
        None,
        "File of the mix private key(s): set it for the worker that mixes the shuffle pool "
        "only. Default: `instance/keys/mix.key` if it exists; a web process that can read it "
        "warns at start and the privacy page says so.",
    ),
    Setting(
        "MAILER_PUBLIC_KEY_FILE",
        None,
        "File of the mailer public key: link tokens are sealed to it at launch. Default: "
        "`instance/keys/mailer.pub`.",
    ),
    Setting(
        "MAILER_PRIVATE_KEY_FILE",
        None,
        "File of the mailer private key(s): set it for the worker that sends invitations and "
        "reminders only. Default: `instance/keys/mailer.key` if it exists.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the database. Default: a SQLite file "
        "`instance/survey.sqlite3`. PostgreSQL: `postgresql://user@host:5432/db`.",
        _database_url,
    ),
    Setting(
        "APP_ENV",
        "production",
        "`production` (secure cookies, secret key required) or `development` (the demo).",
        _choice("production", "development"),
    ),
    Setting(
        "PUBLIC_URL",
        "http://127.0.0.1:5000",
        "Base URL used to build survey links in emails.",
        _url,
    ),
    Setting(
        "MIN_REPORT_N",
        "5",
        "Smallest group whose results are shown (never below 3).",
        _int_at_least(3),
    ),
    Setting(
        "POOL_K",
        "10",
        "Answers are moved from the shuffle pool into responses this many at a time.",
        _int_at_least(2),
    ),
    Setting(
        "BENCHMARK_MIN_JURISDICTIONS",
        "5",
        "Jurisdictions needed before a national benchmark is shown.",
        _int_at_least(2),
    ),
    Setting(
        "REDIS_URL",
        None,
        "Redis for the job queue and rate limits; unset: SQLite queue under "
        "`instance/` and in-memory rate limits.",
        _url,
    ),
    Setting(
        "MAIL_BACKEND",
        "outbox",
        "`outbox` (one .eml per message under `instance/outbox/`) or `smtp`.",
        _choice("outbox", "smtp"),
    ),
    Setting("MAIL_FROM", "survey@localhost", "Sender address of invitations and reminders."),
    Setting("SMTP_HOST", None, "SMTP server host; required with MAIL_BACKEND=smtp."),
    Setting("SMTP_PORT", "587", "SMTP port.", _int_at_least(1)),
    Setting("SMTP_STARTTLS", "true", "Use STARTTLS.", _bool),
    Setting("SMTP_USERNAME", None, "SMTP login (optional)."),
    Setting("SMTP_PASSWORD", None, "SMTP password (optional)."),
    Setting(
        "MAIL_RATE_PER_MINUTE",
        "600",
        "Upper bound on messages sent per minute per worker.",
        _int_at_least(1),
    ),
    Setting(
        "REPORT_PAGE_SIZE",
        "A4",
        "Paper size of PDF reports: `A4` or `Letter`.",
        _choice("A4", "Letter"),
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load(
    environ: Mapping[str, str],
    instance_path: Path,
    *,
    allow_generated_key: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read, parse and validate every setting; raise ConfigError naming the first bad variable.

    ``overrides`` (tests) replace environment values after parsing. Without SECRET_KEY the key kept
    in ``instance/secret_key`` is used; ``allow_generated_key`` (the demo) creates that file first.
    """
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            config[setting.name] = overrides.pop(setting.name)
            continue
        raw = environ.get(setting.name)
        if raw is None or raw == "":
            raw = setting.default
        if raw is None:
            config[setting.name] = None
            continue
        try:
            config[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name}: {exc}") from None
    config.update(overrides)

    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'survey.sqlite3'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret_key(instance_path, create=allow_generated_key)
    if config["MAIL_BACKEND"] == "smtp" and not config["SMTP_HOST"]:
        raise ConfigError(
            "SMTP_HOST: required when MAIL_BACKEND=smtp (the SMTP server's host name)"
        )
    return config


def _instance_secret_key(instance_path: Path, *, create: bool) -> str:
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return _secret_key(key_file.read_text().strip())
    if not create:
        raise ConfigError(
            "SECRET_KEY: not set (expected at least 32 random characters; `make demo` keeps one in "
            "instance/secret_key)"
        )
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    key_file.write_text(key + "\n")
    key_file.chmod(0o600)
    return key


def env_table() -> str:
    """The configuration table in Markdown (kept in the README)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default is not None else "—"
        rows.append(f"| `{s.name}` | {default} | {s.meaning} |")
    return "\n".join(rows)


def get(name: str) -> Setting:
    return _BY_NAME[name]


__all__ = ["SETTINGS", "ConfigError", "Setting", "env_table", "load"]
