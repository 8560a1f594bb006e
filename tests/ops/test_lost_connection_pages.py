"""A lost database connection seen from a browser: a read is tried once more, anything else
gets the 503 page that says the answers are kept; other database errors are not hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from tests.conftest import make_test_app


class _Dropped(Exception):
    """What the driver raises when the server closed the connection."""


def _lost() -> OperationalError:
    return OperationalError("SELECT 1", {}, _Dropped("server closed the connection"))


def _flaky_app(engine: Engine, tmp_path: Path, failures: int) -> tuple[object, list[str]]:
    app = make_test_app(engine, tmp_path)
    calls: list[str] = []

    def flaky() -> str:
        calls.append("call")
        if len(calls) <= failures:
            raise _lost()
        return "fine"

    app.add_url_rule("/flaky", view_func=flaky, methods=["GET", "POST"])
    return app, calls


def test_a_read_that_meets_a_dropped_connection_is_tried_once_more(
    engine: Engine, tmp_path: Path
) -> None:
    app, calls = _flaky_app(engine, tmp_path, failures=1)
    response = app.test_client().get("/flaky")  # type: ignore[attr-defined]
    assert response.status_code == 200 and response.get_data(as_text=True) == "fine"
    assert len(calls) == 2


def test_a_read_failing_twice_gets_the_503_page_not_a_500(engine: Engine, tmp_path: Path) -> None:
    app, calls = _flaky_app(engine, tmp_path, failures=5)
    response = app.test_client().get("/flaky")  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Please try again in a few seconds" in response.get_data(as_text=True)
    assert len(calls) == 2  # once more, not in a loop


def test_a_form_post_is_not_sent_twice_and_gets_the_503_page(
    engine: Engine, tmp_path: Path
) -> None:
    app, calls = _flaky_app(engine, tmp_path, failures=1)
    app.config["WTF_CSRF_ENABLED"] = False  # type: ignore[attr-defined]
    response = app.test_client().post("/flaky", data={"a": "1"})  # type: ignore[attr-defined]
    assert response.status_code == 503
    assert len(calls) == 1


def test_the_survey_says_the_answers_are_kept_in_the_persons_language(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.services import responses

    def dropped(*_args: object, **_kwargs: object) -> None:
        raise _lost()

    monkeypatch.setattr(responses, "get_progress", dropped)
    app = make_test_app(engine, tmp_path)
    client = app.test_client()
    with client.session_transaction() as session:
        session["survey_token"] = "x" * 43
    english = client.get("/s/")
    assert english.status_code == 503
    assert "Your answers are kept" in english.get_data(as_text=True)
    spanish = client.get("/s/?lang=es")
    assert spanish.status_code == 503
    assert "Sus respuestas se conservan" in spanish.get_data(as_text=True)


def test_other_database_errors_are_not_dressed_up_as_503(engine: Engine, tmp_path: Path) -> None:
    app = make_test_app(engine, tmp_path)

    def broken() -> str:
        raise IntegrityError("INSERT", {}, _Dropped("duplicate key"))

    app.add_url_rule("/broken", view_func=broken)
    with pytest.raises(IntegrityError):  # TESTING propagates what production shows as a 500
        app.test_client().get("/broken")
