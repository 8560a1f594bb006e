"""The mixer job through a PostgreSQL restart (fast) in the middle of moving a closed wave's pool:
the same job, on a new connection, moves what is still pooled — every answer set once, none left.

The restart is made from inside the mover, after a batch has begun its transaction, so it always
lands mid-job (a restart between two transactions would be absorbed by ``pool_pre_ping``, which
proves nothing about the job).
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import tasks
from app.db import make_engine
from app.migrate import upgrade
from app.models import PendingResponse, Response
from app.services import responses, waves
from tests.conftest import make_test_app
from tests.survey.helpers import complete_survey, distinct_answers, seed_wave

from .conftest import own_servers
from .servers import PgCluster
from .walk import decode

pytestmark = [own_servers, pytest.mark.slow]


@pytest.mark.timeout(120)
def test_mixer_restarted_mid_move_moves_every_pooled_answer_once(
    pg_cluster: PgCluster,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = pg_cluster.create_database(f"mixer_{uuid.uuid4().hex[:10]}")
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        # Three teams of four: each pool stays below 2 × pool_k, so nothing moves before the close.
        seeded = seed_wave(session, invitations=4, units=3, pool_k=3)
    app = make_test_app(engine, tmp_path)
    for index, token in enumerate(seeded.tokens):
        complete_survey(app.test_client(), token, answers=distinct_answers(index))
    with Session(engine) as session:
        pooled = session.scalar(select(func.count()).select_from(PendingResponse))
        assert pooled == len(seeded.tokens) == 12
        waves.close_wave(session, None, seeded.wave_id)

    real_move = responses._move_batch
    calls: list[int] = []

    def move_then_restart(session: Session, batch: Any, unit_id: int, **kwargs: Any) -> int:
        calls.append(unit_id)
        if len(calls) == 2:  # the first team has moved; the second's transaction is open
            session.execute(text("SELECT 1"))
            pg_cluster.restart("fast")
        return real_move(session, batch, unit_id, **kwargs)

    monkeypatch.setattr(responses, "_move_batch", move_then_restart)
    with caplog.at_level(logging.WARNING, logger="app.db"):
        tasks.mix_wave.call_local(seeded.wave_id)

    assert "the mixer met a lost database connection" in caplog.text
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0
        stored = Counter(decode(a) for a in session.scalars(select(Response.answers)))
    assert sorted(stored) == list(range(12)) and max(stored.values()) == 1
    engine.dispose()
