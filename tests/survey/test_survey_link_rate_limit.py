"""The unknown-link rate limit only ever slows the address that guesses, never a valid link."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db import get_database
from tests.conftest import make_test_app
from tests.survey.helpers import seed_wave

OFFICE = {"REMOTE_ADDR": "198.51.100.7"}


def _random_link() -> str:
    return "/s/" + secrets.token_urlsafe(32)


def test_valid_link_opens_after_200_unknown_ones_from_the_same_address(
    app: Flask, session: Session
) -> None:
    seeded = seed_wave(session, invitations=1)
    client = app.test_client()
    codes = [client.get(_random_link(), environ_base=OFFICE).status_code for _ in range(200)]
    assert codes.count(429) > 0, "the guessing address was never limited"
    assert set(codes) == {404, 429}
    # A colleague behind the same NAT opens a real link: it works.
    colleague = app.test_client()
    response = colleague.get(f"/s/{seeded.tokens[0]}", environ_base=OFFICE)
    assert response.status_code == 302 and response.headers["Location"].endswith("/s/")
    assert colleague.get("/s/", environ_base=OFFICE).status_code == 200
    # The guesser is still limited.
    assert client.get(_random_link(), environ_base=OFFICE).status_code == 429


@pytest.fixture
def proxied_app(
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(engine, tmp_path, TRUSTED_PROXIES=1)
    get_database(app).sessions = session_factory
    return app


def test_behind_one_trusted_proxy_each_client_has_its_own_limit(proxied_app: Flask) -> None:
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the TLS proxy
    guesser, colleague = proxied_app.test_client(), proxied_app.test_client()
    for _ in range(30):
        guesser.get(_random_link(), environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.9"})
    limited = guesser.get(
        _random_link(), environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert limited.status_code == 429
    other = colleague.get(
        _random_link(), environ_base=proxy, headers={"X-Forwarded-For": "203.0.113.10"}
    )
    assert other.status_code == 404  # a plain "no such link", not the guesser's limit


def test_without_trusted_proxies_a_forwarded_header_is_ignored(app: Flask) -> None:
    client = app.test_client()
    for n in range(30):  # an attacker rotating a header it controls gains nothing
        client.get(_random_link(), headers={"X-Forwarded-For": f"203.0.113.{n}"})
    fresh = client.get(_random_link(), headers={"X-Forwarded-For": "192.0.2.200"})
    assert fresh.status_code == 429


REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_with_redis_every_worker_shares_the_counts(
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    prefix = "test-" + secrets.token_hex(8)  # this test's own keys in the shared server
    workers = []
    for _ in range(2):
        worker = make_test_app(engine, tmp_path, REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
        get_database(worker).sessions = session_factory
        workers.append(worker)
    first, second = (w.test_client() for w in workers)
    for _ in range(20):  # the whole per-minute allowance, spent on the first worker
        assert first.get(_random_link(), environ_base=OFFICE).status_code == 404
    assert second.get(_random_link(), environ_base=OFFICE).status_code == 429


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_two_instances_sharing_one_redis_keep_their_own_counts(
    engine: Engine,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    prefixes = ["test-" + secrets.token_hex(8) for _ in range(2)]
    county, state = (
        make_test_app(engine, tmp_path, REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
        for prefix in prefixes
    )
    for instance in (county, state):
        get_database(instance).sessions = session_factory
    guessed = county.test_client()
    for _ in range(21):
        guessed.get(_random_link(), environ_base=OFFICE)
    assert guessed.get(_random_link(), environ_base=OFFICE).status_code == 429
    # The other instance, same address and the same Redis, has spent nothing.
    assert state.test_client().get(_random_link(), environ_base=OFFICE).status_code == 404
    server = redis.Redis.from_url(REDIS_URL)
    assert server.keys(f"*{prefixes[0]}*survey-link*"), "the counts are not under the prefix"
