"""Configuration: defaults, and one clear line naming a bad or missing variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import config
from app.config import ConfigError
from tests.conftest import TEST_KEYS

ROOT = Path(__file__).resolve().parent.parent
KEY = "k" * 40


def test_defaults_give_a_sqlite_database_under_instance(tmp_path: Path) -> None:
    settings = config.load({"SECRET_KEY": KEY}, tmp_path)
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'survey.sqlite3'}"
    assert settings["MIN_REPORT_N"] == 5
    assert settings["POOL_K"] == 10


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MIN_REPORT_N", "2", "MIN_REPORT_N: expected a whole number of at least 3"),
        ("MIN_REPORT_N", "five", "MIN_REPORT_N: expected a whole number"),
        ("POOL_K", "0", "POOL_K:"),
        ("MAIL_BACKEND", "carrier-pigeon", "MAIL_BACKEND: expected one of outbox, smtp"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: expected a sqlite:/// or postgresql:// URL"),
        ("SECRET_KEY", "short", "SECRET_KEY: expected at least 32 characters"),
        ("SMTP_STARTTLS", "maybe", "SMTP_STARTTLS: expected true or false"),
        ("PUBLIC_URL", "example.org", "PUBLIC_URL: expected a URL"),
    ],
)
def test_bad_setting_names_the_variable(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    environ = {"SECRET_KEY": KEY, name: value}
    with pytest.raises(ConfigError) as error:
        config.load(environ, tmp_path)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_missing_secret_key_is_refused_outside_the_demo(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SECRET_KEY: not set"):
        config.load({}, tmp_path)


def test_demo_generates_and_then_reuses_the_instance_key(tmp_path: Path) -> None:
    first = config.load({}, tmp_path, allow_generated_key=True)["SECRET_KEY"]
    second = config.load({}, tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_postgres_urls_use_psycopg(tmp_path: Path) -> None:
    settings = config.load({"SECRET_KEY": KEY, "DATABASE_URL": "postgres://u@h:5/d"}, tmp_path)
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@h:5/d"


def _flask(
    args: list[str], env_extra: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    env.update({"INSTANCE_PATH": str(tmp_path / "instance")}, **TEST_KEYS.settings(), **env_extra)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_with_bad_setting_prints_one_line_and_exits_1(tmp_path: Path) -> None:
    result = _flask(["db", "upgrade"], {"SECRET_KEY": KEY, "MIN_REPORT_N": "1"}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: MIN_REPORT_N: expected a whole number of at least 3, got 1"
    ]


def test_unreachable_database_names_host_and_port(tmp_path: Path) -> None:
    result = _flask(
        ["db", "upgrade"],
        {"SECRET_KEY": KEY, "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
        tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: DATABASE_URL: cannot reach the database server at 127.0.0.1:1"
    )
    assert "Traceback" not in result.stderr


def test_db_upgrade_command_migrates_a_new_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite3"
    result = _flask(
        ["db", "upgrade"], {"SECRET_KEY": KEY, "DATABASE_URL": f"sqlite:///{db}"}, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    assert config.env_table() in readme


def test_smtp_backend_needs_a_host(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^SMTP_HOST: required when MAIL_BACKEND=smtp"):
        config.load({"SECRET_KEY": KEY, "MAIL_BACKEND": "smtp"}, tmp_path)
    settings = config.load(
        {"SECRET_KEY": KEY, "MAIL_BACKEND": "smtp"}, tmp_path, overrides={"SMTP_HOST": "127.0.0.1"}
    )
    assert settings["SMTP_HOST"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("MIN_REPORT_N = 1", "MIN_REPORT_N (in instance/config.py): expected a whole number of at"),
        ("POOL_K = 0", "POOL_K (in instance/config.py): expected a whole number of at least 2"),
        ("SECRET_KEY = 'short'", "SECRET_KEY (in instance/config.py): expected at least 32"),
    ],
)
def test_instance_config_file_is_checked_like_the_environment(
    tmp_path: Path, line: str, expected: str
) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(line + "\n")
    result = _flask(["db", "upgrade"], {"SECRET_KEY": KEY}, tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), result.stderr


def test_instance_config_file_values_are_parsed_and_flask_settings_pass_through(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.py").write_text(
        "MIN_REPORT_N = 7\nSMTP_STARTTLS = False\nSESSION_COOKIE_NAME = 'survey_session'\n"
    )
    settings = config.load({"SECRET_KEY": KEY, "MIN_REPORT_N": "6"}, tmp_path)
    assert settings["MIN_REPORT_N"] == 7 and settings["SMTP_STARTTLS"] is False
    assert settings["SESSION_COOKIE_NAME"] == "survey_session"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES: expected a whole number of at least 0"),
        ("LOGIN_RATE_LIMIT", "lots", "LOGIN_RATE_LIMIT: expected rates such as"),
        ("SURVEY_LINK_RATE_LIMIT", "5 per fortnight", "SURVEY_LINK_RATE_LIMIT: expected rates"),
        ("SECRET_KEY_FALLBACKS", "old-but-short", "SECRET_KEY_FALLBACKS: expected at least 32"),
        ("SESSION_MAX_HOURS", "0", "SESSION_MAX_HOURS: expected a whole number of at least 1"),
    ],
)
def test_new_security_settings_are_checked(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config.load({"SECRET_KEY": KEY, name: value}, tmp_path)
    assert str(error.value).startswith(expected)


def test_secret_key_fallbacks_are_a_list(tmp_path: Path) -> None:
    old = "o" * 40
    settings = config.load(
        {"SECRET_KEY": KEY, "SECRET_KEY_FALLBACKS": f"{old}, {'p' * 40}"}, tmp_path
    )
    assert settings["SECRET_KEY_FALLBACKS"] == [old, "p" * 40]


def test_a_blueprint_that_fails_to_import_stops_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app as app_package
    from app import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delattr(app_package, "reports", raising=False)
    monkeypatch.setitem(sys.modules, "app.reports", None)  # "import app.reports" now fails
    with pytest.raises(ImportError, match=r"app\.reports"):
        create_app({"TESTING": True, "SECRET_KEY": KEY, "APP_ENV": "development"})
