"""Fixtures of the fault tests: their own PostgreSQL cluster and redis-server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.ops.servers import PgCluster, RedisServer, missing_servers

#: The fault tests start their own servers, so they run once, in the SQLite leg.
_REASON = missing_servers() or (
    "runs its own PostgreSQL and Redis in the SQLite leg"
    if os.environ.get("TEST_DATABASE_URL")
    else None
)
own_servers = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    if _REASON:
        pytest.skip(_REASON)
    cluster = PgCluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if _REASON:
        pytest.skip(_REASON)
    server = RedisServer()
    try:
        yield server
    finally:
        server.close()
