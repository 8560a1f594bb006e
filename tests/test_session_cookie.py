"""The session cookie: built once per process, yet the very cookie Flask itself would sign."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from sqlalchemy import Engine

from tests.conftest import make_test_app

DATA = {"survey_token": "t" * 43, "lang": "es", "n": 3}


@pytest.fixture
def app(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return make_test_app(engine, tmp_path, SECRET_KEY_FALLBACKS=["an-older-key-" + "o" * 40])


def test_the_cookie_is_byte_for_byte_flasks_own(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.0)
    ours = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    flasks = SecureCookieSessionInterface().get_signing_serializer(app)
    assert ours is not None and flasks is not None
    assert ours.dumps(DATA) == flasks.dumps(DATA)
    assert ours.loads(flasks.dumps(DATA)) == DATA
    assert flasks.loads(ours.dumps(DATA)) == DATA


def test_built_once_per_set_of_keys(app: Flask) -> None:
    interface = app.session_interface
    first = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert interface.get_signing_serializer(app) is first  # type: ignore[attr-defined]
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert interface.get_signing_serializer(app) is not first  # type: ignore[attr-defined]


def test_fallback_keys_still_open_and_forgeries_do_not(app: Flask) -> None:
    old = Flask("old")
    old.secret_key = app.config["SECRET_KEY_FALLBACKS"][0]
    old_cookie = SecureCookieSessionInterface().get_signing_serializer(old)
    assert old_cookie is not None
    ours = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert ours.loads(old_cookie.dumps(DATA)) == DATA
    forged = Flask("forged")
    forged.secret_key = "not-our-key-" + "f" * 40
    forged_cookie = SecureCookieSessionInterface().get_signing_serializer(forged)
    assert forged_cookie is not None
    with pytest.raises(BadSignature):
        ours.loads(forged_cookie.dumps(DATA))
    tampered = ours.dumps(DATA)
    with pytest.raises(BadSignature):
        ours.loads(tampered[:-2] + ("A" if tampered[-2] != "A" else "B") + tampered[-1])
