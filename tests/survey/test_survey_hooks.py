"""Work the survey pages must not do on every page of every person.

Flask-Limiter has no limit on the survey blueprint (the unknown-link limit is counted by the view
itself) and Flask-WTF's signed tokens are replaced there by the session's own form token; both
still guard every other page. Each test fails if a hook comes back for the survey, or leaves the
pages it guards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask_limiter import Limiter
from flask_wtf import csrf as wtf_csrf
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.conftest import make_test_app
from tests.survey.helpers import arrive, page_csrf, section_answers, seed_wave


def test_survey_pages_skip_flask_limiter_and_sign_in_does_not(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = Limiter._check_request_limit

    def counting(self: Limiter, *args: Any, **kwargs: Any) -> None:
        from flask import request

        calls.append(request.path)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Limiter, "_check_request_limit", counting)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    with Session(fresh_engine) as session:
        seeded = seed_wave(session)
    client = make_test_app(fresh_engine, tmp_path).test_client()
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 1)
    data = {**section_answers(1, 4), "csrf_token": csrf, "nav": "next"}
    assert client.post("/s/page/1", data=data).status_code == 303
    assert not [path for path in calls if path.startswith("/s")]
    client.get("/login")
    assert "/login" in calls


def test_survey_posts_skip_flask_wtf_and_admin_posts_do_not(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    original = wtf_csrf.validate_csrf

    def counting(*args: Any, **kwargs: Any) -> Any:
        from flask import request

        checked.append(request.path)
        return original(*args, **kwargs)

    monkeypatch.setattr(wtf_csrf, "validate_csrf", counting)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    with Session(fresh_engine) as session:
        seeded = seed_wave(session)
    client = make_test_app(fresh_engine, tmp_path).test_client()
    arrive(client, seeded.tokens[0])
    csrf = page_csrf(client, 1)
    data = {**section_answers(1, 4), "csrf_token": csrf, "nav": "next"}
    assert client.post("/s/page/1", data=data).status_code == 303
    assert checked == []
    response = client.post("/login", data={"email": "x@example.org", "password": "y"})
    assert response.status_code == 400  # no Flask-WTF token: refused by Flask-WTF
    assert checked == ["/login"]
