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


def _secret_key_list(raw: str) -> list[str]:
    """Comma-separated retired keys, each as long as a SECRET_KEY must be."""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    for key in keys:
        _secret_key(key)
    return keys


def _rate_limit(raw: str) -> str:
    """A Flask-Limiter rate such as ``10 per minute;100 per day``."""
    from limits import parse_many

    try:
        if not parse_many(raw):
            raise ValueError
    except ValueError:
        raise ValueError(
            f"expected rates such as '10 per minute;100 per day', got {raw!r}"
        ) from None
    return raw


def _languages(raw: str) -> tuple[str, ...]:
    from app.catalog import parse_languages

    return parse_languages(raw)


def _metrics_path(raw: str) -> str:
    if not raw.startswith("/") or raw.startswith(("/s/", "/static/")) or raw == "/":
        raise ValueError(f"expected a path of its own such as /internal/metrics, got {raw!r}")
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
        "Jurisdictions needed before a national benchmark is shown; the publication itself "
        "always needs 5 (and 20 units), so only a higher value changes anything.",
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
        "SECRET_KEY_FALLBACKS",
        None,
        "Retired secret keys, comma-separated, still accepted for sessions already signed with "
        "them: rotate by moving the old SECRET_KEY here, then drop it after SESSION_MAX_HOURS. "
        "Only sessions carry over (a sign-in form open during the change must be reloaded), and "
        "survey links in emails are derived from SECRET_KEY: rotate between waves, not while one "
        "is open.",
        _secret_key_list,
    ),
    Setting(
        "TRUSTED_PROXIES",
        "0",
        "Reverse proxies in front of the app that set `X-Forwarded-For`/`-Proto` (Werkzeug's "
        "ProxyFix with this many hops). `0`: the headers are ignored and the client is the "
        "connection's address. Set it to exactly the number of proxies you run, never more: "
        "a client could otherwise choose its own address for the rate limits.",
        _int_at_least(0),
    ),
    Setting(
        "SURVEY_LINK_RATE_LIMIT",
        "20 per minute;200 per day",
        "Unknown survey links one client address may try (a valid link is never refused).",
        _rate_limit,
    ),
    Setting(
        "LOGIN_RATE_LIMIT",
        "10 per minute;100 per day",
        "Failed sign-ins one client address may make, checked before any password is hashed.",
        _rate_limit,
    ),
    Setting(
        "LOGIN_FREE_FAILURES",
        "5",
        "Wrong passwords for one account from one address before sign-in from that address "
        "waits (1 minute, doubling to at most 1 hour); other addresses are not affected.",
        _int_at_least(1),
    ),
    Setting(
        "LOGIN_QUIET_HOURS",
        "24",
        "An account and address with no failed sign-in for this long start from zero again.",
        _int_at_least(1),
    ),
    Setting(
        "SESSION_IDLE_MINUTES",
        "30",
        "A signed-in session ends after this long without a request.",
        _int_at_least(1),
    ),
    Setting(
        "SESSION_MAX_HOURS",
        "8",
        "A signed-in session ends this long after signing in, whatever happens; the cookie "
        "expires then too.",
        _int_at_least(1),
    ),
    Setting(
        "HSTS_SECONDS",
        "31536000",
        "`Strict-Transport-Security` max-age sent with APP_ENV=production (`0`: not sent).",
        _int_at_least(0),
    ),
    Setting(
        "METRICS_PATH",
        None,
        "Path of the Prometheus metrics page (for example `/internal/metrics`); unset: no "
        "metrics page. Global figures only; serve it to the monitoring network, not the public.",
        _metrics_path,
    ),
    Setting(
        "LANGUAGES",
        "en,es",
        "Languages of the survey, emails, pages and reports, comma-separated; the first is the "
        "default. Each one other than `en` needs a catalog in `app/translations/` (README: "
        "Adding a language).",
        _languages,
    ),
    Setting(
        "REPORT_PAGE_SIZE",
        "A4",
        "Paper size of PDF reports: `A4` or `Letter`.",
        _choice("A4", "Letter"),
    ),
    Setting(
        "REPORT_WORKERS",
        "2",
        "Processes that render a wave's reports, for a ZIP (job worker) or `flask reports build` "
        "(one per CPU core).",
        _int_at_least(1),
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def load(
    environ: Mapping[str, str],
    instance_path: Path,
    *,
    allow_generated_key: bool = False,
    overrides: Mapping[str, Any] | None = None,
    instance_file: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read, parse and validate every setting; raise ConfigError naming the first bad variable.

    ``overrides`` (tests) replace environment values after parsing. Settings in
    ``instance/config.py`` (or ``instance_file``, already read) take the environment's place
    and are parsed and validated the same way. Without SECRET_KEY the key kept
    in ``instance/secret_key`` is used; ``allow_generated_key`` (the demo) creates that file first.
    """
    overrides = dict(overrides or {})
    from_file = instance_file if instance_file is not None else read_instance_file(instance_path)
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            config[setting.name] = overrides.pop(setting.name)
            continue
        # instance/config.py overrides the environment, and is checked by the same rules.
        where = setting.name
        if setting.name in from_file:
            raw = _as_text(from_file[setting.name])
            where = f"{setting.name} (in instance/config.py)"
        else:
            raw = environ.get(setting.name)
        if raw is None or raw == "":
            raw = setting.default
        if raw is None:
            config[setting.name] = None
            continue
        try:
            config[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    # Other upper-case names in instance/config.py are Flask's own settings, passed through.
    config.update({k: v for k, v in from_file.items() if k not in _BY_NAME})
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


def read_instance_file(instance_path: Path) -> dict[str, Any]:
    """The upper-case names ``instance/config.py`` defines (as Flask's ``from_pyfile`` reads it)."""
    path = instance_path / "config.py"
    if not path.is_file():
        return {}
    namespace: dict[str, Any] = {"__file__": str(path)}
    try:
        code = compile(path.read_bytes(), str(path), "exec")
        exec(code, namespace)
    except Exception as error:
        raise ConfigError(f"instance/config.py: cannot be read ({error})") from None
    return {k: v for k, v in namespace.items() if k.isupper()}


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
