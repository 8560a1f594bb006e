"""Pooled PostgreSQL connections: pinged after they waited, not on every checkout.

A connection the server dropped while it sat in the pool (a restart overnight, a firewall that
cuts idle sockets) must be replaced before a request gets it; a connection in steady use must not
cost a ``SELECT 1`` round trip on every request of every person.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

import app.db as app_db
from app.db import make_engine
from tests.conftest import requires_postgres

pytestmark = requires_postgres


@pytest.fixture
def pool_engine() -> Iterator[Engine]:
    url = os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        connection.rollback()
    return pid


def _terminate(pid: int) -> None:
    url = os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    other = make_engine(url)
    with other.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    other.dispose()


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    original = engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        pings.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def test_a_connection_in_steady_use_is_not_pinged(
    pool_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(pool_engine, monkeypatch)
    first = _backend(pool_engine)
    for _ in range(50):
        assert _backend(pool_engine) == first  # the same pooled connection every time
    assert pings == []


def test_a_connection_that_waited_and_died_is_replaced_before_use(
    pool_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _count_pings(pool_engine, monkeypatch)
    dropped = _backend(pool_engine)
    _terminate(dropped)
    monkeypatch.setattr(app_db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has "waited" long enough
    assert _backend(pool_engine) != dropped  # no error: the pool replaced it
    assert pings == [1]


def test_without_the_wait_a_dead_connection_is_met_by_the_request(
    pool_engine: Engine,
) -> None:
    """The other half of the trade: a connection in steady use that the server dropped fails its
    next statement (the request is retried or answered with the 503 page, ``app.ops.faults``),
    and the pool then hands out a fresh one."""
    dropped = _backend(pool_engine)
    _terminate(dropped)
    with pytest.raises(DBAPIError) as raised:
        _backend(pool_engine)
    assert raised.value.connection_invalidated
    assert _backend(pool_engine) != dropped
