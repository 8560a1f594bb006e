"""Faults on a PostgreSQL cluster of the test's own: the database goes away and comes back
under the survey; /readyz follows it; nobody sees a 500 and nothing is half stored."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import DailyCount, Draft, Invitation, PendingResponse, Response
from app.services.responses import move_pool
from tests.conftest import TEST_KEYS, make_test_app
from tests.survey.helpers import live_server, seed_wave

from .conftest import own_servers
from .servers import PgCluster, wait_for
from .walk import decode, walk

pytestmark = [own_servers, pytest.mark.slow]


def _database(cluster: PgCluster) -> str:
    url = cluster.create_database(f"faults_{uuid.uuid4().hex[:10]}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.mark.timeout(120)
def test_readyz_turns_not_ready_within_5_s_of_the_database_going_away_and_back_after(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    engine = make_engine(_database(pg_cluster))
    app = make_test_app(engine, tmp_path)
    with live_server(app) as base:

        def ready() -> bool:
            return requests.get(f"{base}/readyz", timeout=10).status_code == 200

        def not_ready() -> bool:
            response = requests.get(f"{base}/readyz", timeout=10)
            return response.status_code == 503 and response.text == (
                "not ready: database, migrations\n"
            )

        assert ready()
        pg_cluster.stop("fast")
        try:
            took = wait_for(not_ready, 5, "/readyz to say not ready")
            assert requests.get(f"{base}/healthz", timeout=10).status_code == 200
        finally:
            pg_cluster.start()
        back = wait_for(ready, 10, "/readyz to say ready again")
    print(f"not ready after {took:.2f} s, ready again {back:.2f} s after the restart")
    engine.dispose()


@pytest.mark.timeout(240)
def test_survey_through_a_database_restart_sees_503_or_success_never_500(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    url = _database(pg_cluster)
    engine = make_engine(url, pool_size=10, max_overflow=10)
    with Session(engine) as session:
        seeded = seed_wave(session, invitations=20, units=3, pool_k=4)
    app = make_test_app(engine, tmp_path)
    people = list(enumerate(seeded.tokens))
    walks = []
    lock = threading.Lock()
    with live_server(app) as base:
        host, port = base.removeprefix("http://").split(":")

        def person() -> None:
            while True:
                with lock:
                    if not people:
                        return
                    index, token = people.pop()
                seen = walk(host, int(port), token, index)
                with lock:
                    walks.append((index, seen))

        threads = [threading.Thread(target=person) for _ in range(6)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(walks) >= 8, 120, "the first submissions")
        pg_cluster.restart("fast")  # in the middle of the walks
        time.sleep(0.5)
        pg_cluster.restart("immediate")  # and once as a crash
        for thread in threads:
            thread.join(180)

    statuses: Counter[int] = Counter()
    for _, seen in walks:
        statuses.update(seen.statuses)
    assert len(walks) == 60
    assert not [s for s in statuses if s >= 500 and s != 503], statuses
    outcomes = Counter(seen.outcome for _, seen in walks)
    assert set(outcomes) <= {"thanks", "already"}, outcomes
    print(f"statuses seen by the clients: {dict(statuses)}; outcomes {dict(outcomes)}")

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 0
        flipped = session.scalar(select(func.count()).where(Invitation.completed))
        counted = session.scalar(select(func.sum(DailyCount.submissions)))
        move_pool(session, seeded.wave_id, flush_all=True, keys=TEST_KEYS.mix)
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0
        stored = Counter(decode(a) for a in session.scalars(select(Response.answers)))
    assert flipped == counted == 60
    assert sorted(stored) == list(range(60)) and max(stored.values()) == 1
    engine.dispose()
