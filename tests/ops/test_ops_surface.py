"""The operator's surface from outside: /healthz, /readyz, metrics, `flask check`, `flask db`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from tests.conftest import TEST_KEYS, TEST_SECRET, make_test_app
from tests.survey.helpers import complete_survey, distinct_answers, seed_wave

from .servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_ok_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ready_on_a_migrated_database_and_names_no_host_or_version(
    client: FlaskClient, engine: Engine
) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert body == "ready\n"
    assert "Server" not in response.headers or "Python" not in response.headers["Server"]


def test_readyz_is_not_ready_until_the_schema_reaches_the_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.sqlite3'}")
    app = make_test_app(engine, tmp_path)
    client = app.test_client()
    empty = client.get("/readyz")
    assert empty.status_code == 503
    assert empty.get_data(as_text=True) == "not ready: migrations\n"
    upgrade(engine, "0001")
    behind = client.get("/readyz")
    assert behind.status_code == 503
    assert "0001" not in behind.get_data(as_text=True)  # no versions leak
    upgrade(engine)
    assert client.get("/readyz").status_code == 200
    engine.dispose()


def test_readyz_is_not_ready_when_redis_is_configured_but_away(
    engine: Engine, tmp_path: Path
) -> None:
    app = make_test_app(engine, tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready: redis\n"
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_a_registered_check_joins_readyz_and_the_preflight(client: FlaskClient, app: Flask) -> None:
    from app.ops import checks

    checks.register(app, "keys", lambda _app: "the mix key is missing", ready=True)
    assert client.get("/readyz").get_data(as_text=True) == "not ready: keys\n"
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    assert "FAIL  keys: the mix key is missing" in result.output


# --- metrics --------------------------------------------------------------------------------


def test_metrics_are_off_unless_a_path_is_set(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_metrics_give_global_figures_only(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'metrics.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session:
        seeded = seed_wave(session, invitations=7, units=3)
    app = make_test_app(engine, tmp_path, METRICS_PATH="/internal/metrics")
    # Failed jobs are counted per application (or in the queue's Redis, which earlier tests in
    # this process may have counted into: start this test's count from zero there).
    from app import tasks
    from app.ops import metrics

    if (queue_redis := tasks.redis_client()) is not None:
        queue_redis.delete(metrics.FAILED_JOBS_KEY)
    client = app.test_client()
    complete_survey(client, seeded.tokens[0], answers=distinct_answers(1))
    client.get("/healthz")
    response = app.test_client().get("/internal/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    figures = _figures(text)
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    # 21 invitations seeded, none sent (the seed puts them straight in the database).
    assert figures['survey_emails{state="queued"}'] == 21
    assert figures['survey_emails{state="sent"}'] == 0
    assert figures["survey_database_up"] == 1
    assert figures["survey_queue_depth"] == 0
    assert figures["survey_jobs_failed_total"] == 0
    # The survey walk (11+ requests) and /healthz were timed, all in one histogram.
    assert figures["survey_request_seconds_count"] >= 12
    labels = set(re.findall(r"\{(\w+)=", text))
    assert labels <= {"state", "le"}, labels
    names = {re.split(r"[{ ]", line)[0] for line in samples}
    assert names == {
        "survey_emails",
        "survey_database_up",
        "survey_queue_depth",
        "survey_jobs_failed_total",
        "survey_request_seconds_bucket",
        "survey_request_seconds_count",
        "survey_request_seconds_sum",
        "survey_request_seconds_created",
    }, names
    assert "Team " not in text and f'"{seeded.wave_id}"' not in text
    # No label names a wave, a unit or a day: only `state` (and histogram buckets) label figures.
    labels = set(re.findall(r"[{,]([a-z_]+)=", text))
    assert labels <= {"state", "le"}, labels
    engine.dispose()


def _figures(text: str) -> dict[str, float]:
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in samples}


def test_a_failed_job_shows_in_the_metrics_of_the_application_that_ran_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from app import tasks

    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    upgrade(engine)
    other = make_test_app(engine, tmp_path, METRICS_PATH="/internal/metrics")
    app = make_test_app(engine, tmp_path, METRICS_PATH="/internal/metrics")  # binds the queue

    def failed_jobs(of: Flask) -> float:
        text = of.test_client().get("/internal/metrics").get_data(as_text=True)
        return _figures(text)["survey_jobs_failed_total"]

    assert (failed_jobs(app), failed_jobs(other)) == (0, 0)
    # A batch that does not exist: the job raises (immediate mode runs it here and now).
    with caplog.at_level("CRITICAL", logger="huey"):
        tasks.build_report_batch(987654)
        tasks.build_report_batch(987655)
    assert failed_jobs(app) == 2
    # Another application in the same process keeps its own count.
    assert failed_jobs(other) == 0
    engine.dispose()


# --- flask check (the real command line) ----------------------------------------------------


def _flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "REDIS"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _good_env(tmp_path: Path) -> dict[str, str]:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'check.sqlite3'}"
    if not (tmp_path / "check.sqlite3").exists():
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance),
        "MAIL_BACKEND": "outbox",
        **TEST_KEYS.settings(),
    }


@pytest.mark.timeout(180)
def test_check_passes_on_a_good_setup_and_names_every_problem_otherwise(tmp_path: Path) -> None:
    from tests.admin.smtp_server import SmtpServer

    # The good setup talks to a real SMTP server (aiosmtpd), so "ok smtp" means it was reached.
    server = SmtpServer().start()
    try:
        smtp = {
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(server.port),
            "SMTP_STARTTLS": "false",
        }
        good = _flask(["check"], {**_good_env(tmp_path), **smtp})
    finally:
        server.stop()
    assert good.returncode == 0, good.stdout + good.stderr
    assert "all checks passed" in good.stdout
    for name in ("settings", "database", "migrations", "redis", "smtp", "instance", "keys"):
        assert f"ok    {name}" in good.stdout

    from app import keys

    closed = free_port()
    other = tmp_path / "other-keys"  # a mix key that is not the pair of the configured public half
    keys.generate_files(other)
    (tmp_path / "instance" / "stray.txt").write_text("x")
    (tmp_path / "instance" / "stray.txt").chmod(0o644)
    broken = _flask(
        ["check"],
        {
            **_good_env(tmp_path),
            "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{closed}/nothing",
            "REDIS_URL": f"redis://127.0.0.1:{closed}/0",
            "MAIL_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(closed),
            "SMTP_STARTTLS": "false",
            "MIX_PRIVATE_KEY_FILE": str(other / "mix.key"),
        },
    )
    assert broken.returncode == 1
    out = broken.stdout
    assert f"FAIL  database: cannot reach the database server at 127.0.0.1:{closed}" in out
    assert "FAIL  migrations:" in out
    assert "FAIL  keys: MIX_PRIVATE_KEY_FILE: its current key is not the pair of" in out
    assert "FAIL  redis: cannot reach Redis" in out
    assert f"FAIL  smtp: cannot talk to the SMTP server at 127.0.0.1:{closed}" in out
    # Every process tightens instance/ as it starts (app/files.py), so the check finds it fixed.
    assert "ok    instance" in out
    assert (tmp_path / "instance" / "stray.txt").stat().st_mode & 0o077 == 0
    assert "ok    settings" in out
    assert "Traceback" not in broken.stderr


def test_check_lists_every_bad_setting_at_once(tmp_path: Path) -> None:
    result = _flask(["check"], {**_good_env(tmp_path), "MIN_REPORT_N": "2", "SMTP_PORT": "port 25"})
    assert result.returncode == 1
    assert "FAIL  settings: MIN_REPORT_N: expected a whole number of at least 3" in result.stdout
    assert "FAIL  settings: SMTP_PORT: expected a whole number" in result.stdout
    assert "Traceback" not in result.stderr


# --- flask db current | history | revision --------------------------------------------------


def test_db_current_history_and_revision_need_no_alembic_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import migrate

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    app = make_test_app(engine, tmp_path)
    runner = app.test_cli_runner()
    heads = sorted(migrate.script_heads())
    assert len(heads) == 1

    empty = runner.invoke(args=["db", "current"])
    assert empty.exit_code == 1 and "no schema yet" in empty.output
    upgrade(engine, "0001")
    behind = runner.invoke(args=["db", "current"])
    assert behind.exit_code == 1 and behind.output.startswith("0001 (the code's head is")
    upgrade(engine)
    current = runner.invoke(args=["db", "current"])
    assert current.exit_code == 0 and current.output.strip() == f"{heads[0]} (head)"

    history = runner.invoke(args=["db", "history"])
    assert history.exit_code == 0, history.output
    assert "0001" in history.output and heads[0] in history.output
    assert "(current)" in history.output

    copy = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, copy)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
    written = runner.invoke(args=["db", "revision", "-m", "nothing new", "--rev-id", "9999"])
    assert written.exit_code == 0, written.output
    (new_file,) = (copy / "versions").glob("9999_*.py")
    source = new_file.read_text()
    assert f"down_revision: str | None = {heads[0]!r}" in source or (
        f"down_revision = {heads[0]!r}" in source
    ), source[:600]
    assert not list((ROOT / "migrations" / "versions").glob("9999_*"))
    engine.dispose()
