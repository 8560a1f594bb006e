"""No log line holds a token, nor a client address on survey routes (Werkzeug, app, gunicorn)."""

from __future__ import annotations

import datetime
import io
import logging
import runpy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config
from sqlalchemy.orm import Session

from app.services import responses
from app.services.tokens import hash_token
from tests.survey.helpers import live_server, seed_wave

ROOT = Path(__file__).resolve().parents[2]


def test_werkzeug_request_log_drops_tokens_and_survey_addresses(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed_wave(session)
    token = seeded.tokens[0]
    caplog.set_level(logging.INFO, logger="werkzeug")
    with live_server(app) as base:
        requests.get(f"{base}/s/{token}", timeout=10, allow_redirects=False)
        requests.get(f"{base}/s/{'Q' * 43}", timeout=10)
        requests.get(f"{base}/privacy", timeout=10)
        requests.get(f"{base}/no-such-page", timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    survey = [line for line in lines if "/s/" in line or "/privacy" in line]
    assert len(survey) == 3, lines
    for line in survey:
        assert token not in line and "Q" * 43 not in line and "127.0.0.1" not in line
    assert any("/s/[token]" in line for line in survey)
    # Outside the survey the address stays (what an operator expects of a request log).
    assert any("/no-such-page" in line and "127.0.0.1" in line for line in lines)


def test_application_error_log_does_not_hold_the_token(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed_wave(session)
    token = seeded.tokens[0]
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError(f"database fell over while reading {token}")

    monkeypatch.setattr(responses, "get_progress", explode)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    app.logger.addHandler(handler)
    try:
        assert client.get(f"/s/{token}").status_code == 500
    finally:
        app.logger.removeHandler(handler)
    logged = stream.getvalue()
    assert "Exception on /s/[token] [GET]" in logged
    assert "database fell over" in logged  # the traceback is kept...
    assert token not in logged and hash_token(token) not in logged  # ...without the token


def _gunicorn_logger() -> tuple[Any, io.StringIO]:
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("access_log_format", settings["access_log_format"])
    config.set("accesslog", "-")
    logger = settings["PrivacyLogger"](config)
    stream = io.StringIO()
    for handler in logger.access_log.handlers + logger.error_log.handlers:
        handler.setStream(stream)  # type: ignore[attr-defined]
    return logger, stream


def _access(logger: Any, path: str, headers: list[tuple[str, str]]) -> None:
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": path,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_USER_AGENT": "Phone/1.0",
    }
    request = SimpleNamespace(headers=headers)
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    logger.access(response, request, environ, datetime.timedelta(milliseconds=3))


def test_shipped_gunicorn_config_logs_no_token_and_no_survey_address() -> None:
    logger, stream = _gunicorn_logger()
    token = "t0KeN" * 9
    headers = [("X-Forwarded-For", "198.51.100.9"), ("Cookie", "session=abc")]
    _access(logger, f"/s/{token}", headers)
    _access(logger, "/s/page/3", headers)
    _access(logger, "/admin/waves", headers)
    logger.error("Error handling request /s/%s", token)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4, lines
    survey, page, admin, error = lines
    for line in (survey, page, error):
        assert token not in line and "203.0.113.7" not in line and "198.51.100.9" not in line
    assert "/s/[token]" in survey and "/s/page/3" in page and "/s/[token]" in error
    assert admin.startswith("203.0.113.7 ")
    assert all("Phone/1.0" not in line and "abc" not in line for line in lines)


@pytest.mark.parametrize(
    "log_format",
    [
        None,  # the shipped one
        "%(h)s %(l)s %(t)s %(r)s %(s)s %(m)s %(U)s %(q)s %(H)s %(b)s %(B)s %(T)s %(D)s %(M)s %(L)s",
        '%(h)s "%(r)s" %(s)s %({x-request-id}i)s %({content-type}o)s',
    ],
)
def test_access_lines_are_gunicorns_own_outside_the_survey(log_format: str | None) -> None:
    """The logger computes only the atoms its format prints: on a page with nothing to hide
    the line must be exactly what gunicorn's own logger prints."""
    from gunicorn.glogging import Logger

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    lines = []
    for logger_class in (settings["PrivacyLogger"], Logger):
        config = Config()
        config.set("access_log_format", log_format or settings["access_log_format"])
        config.set("accesslog", "-")
        logger = logger_class(config)
        logger.now = lambda: "[01/Dec/2026:16:00:00 +0000]"  # type: ignore[method-assign]
        stream = io.StringIO()
        for handler in logger.access_log.handlers:
            handler.setStream(stream)  # type: ignore[attr-defined]
        environ = {
            "REQUEST_METHOD": "POST",
            "RAW_URI": "/admin/waves?page=2",
            "PATH_INFO": "/admin/waves",
            "QUERY_STRING": "page=2",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "203.0.113.7",
        }
        request = SimpleNamespace(headers=[("X-Request-Id", "r-42")])
        response = SimpleNamespace(
            status="303 SEE OTHER", sent=1234, headers=[("Content-Type", "text/html")]
        )
        logger.access(response, request, environ, datetime.timedelta(seconds=1, microseconds=2345))
        lines.append(stream.getvalue())
    ours, gunicorns = lines
    assert ours == gunicorns and ours.strip()
