"""The survey pages' SQL, pinned: a new statement on every page of every person fails here.

Each figure counts the data statements (SELECT, INSERT, UPDATE, DELETE) one request sends, on a
fresh database with real commits (the rolled-back ``session`` fixture would add savepoints).
Transaction control (BEGIN, COMMIT), SQLite's PRAGMAs and the WAL checkpoint are not counted:
they are the journal hygiene of DESIGN.md, not work that grows with the pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from app.models import DailyCount, Draft, Invitation, PendingResponse
from tests.conftest import make_test_app
from tests.survey.helpers import PAGES, arrive, page_csrf, section_answers, seed_wave

_DATA = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def recorded(engine: Engine) -> Iterator[list[str]]:
    """The data statements sent through ``engine`` while the block runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(_DATA):
            statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def walk(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Engine, FlaskClient, str, int]:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    with Session(fresh_engine) as session:
        seeded = seed_wave(session, invitations=2, pool_k=10)
    app = make_test_app(fresh_engine, tmp_path)
    client = app.test_client()
    # One person first, so the instrument definition is already parsed in this process (it is
    # read once per process, not per request) and the figures are those of every later person.
    arrive(client, seeded.tokens[1])
    client.get("/s/page/1")
    client = app.test_client()
    return fresh_engine, client, seeded.tokens[0], seeded.wave_id


def test_the_link_and_a_page_each_read_invitation_and_draft_in_one_statement(
    walk: tuple[Engine, FlaskClient, str, int],
) -> None:
    engine, client, token, _wave = walk
    with recorded(engine) as statements:
        arrive(client, token)
    assert len(statements) == 1, statements
    with recorded(engine) as statements:
        page_csrf(client, 1)
    assert len(statements) == 1, statements
    assert "invitations" in statements[0] and "drafts" in statements[0]


def test_saving_a_page_is_one_read_and_one_write(
    walk: tuple[Engine, FlaskClient, str, int],
) -> None:
    engine, client, token, _wave = walk
    arrive(client, token)
    csrf = page_csrf(client, 1)
    with recorded(engine) as statements:
        response = client.post(
            "/s/page/1", data={**section_answers(1, 4), "csrf_token": csrf, "nav": "next"}
        )
    assert response.status_code == 303
    assert len(statements) == 2, statements
    assert statements[0].startswith("SELECT") and statements[1].startswith("INSERT INTO drafts")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 1


def test_the_submit_reads_the_invitation_once_and_writes_four_rows(
    walk: tuple[Engine, FlaskClient, str, int],
) -> None:
    engine, client, token, wave_id = walk
    arrive(client, token)
    csrf = page_csrf(client, 1)
    client.post("/s/page/1", data={**section_answers(1, 2), "csrf_token": csrf, "nav": "next"})
    with recorded(engine) as statements:
        response = client.post(
            f"/s/page/{PAGES}", data={"csrf_token": csrf, "nav": "submit", "comment": "ok"}
        )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    # Read (with the lock), flip, count the day, delete the draft, pool the answers, pool size.
    assert len(statements) == 6, statements
    reads_of_invitations = [s for s in statements if s.startswith("SELECT") and "invitations" in s]
    assert len(reads_of_invitations) == 1, statements
    if engine.dialect.name == "postgresql":
        # The one read holds the lock a close waits for (see responses._SUBMIT_ROW).
        assert "FOR SHARE OF waves" in reads_of_invitations[0]
    assert statements[1].startswith("UPDATE invitations")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 0
        assert session.scalar(select(func.count()).where(PendingResponse.wave_id == wave_id)) == 1
        assert (
            session.scalar(
                select(func.count()).where(Invitation.wave_id == wave_id, Invitation.completed)
            )
            == 1
        )
        assert (
            session.scalar(
                select(func.sum(DailyCount.submissions)).where(DailyCount.wave_id == wave_id)
            )
            == 1
        )


def test_the_server_keeps_the_survey_statements_prepared(
    walk: tuple[Engine, FlaskClient, str, int],
) -> None:
    """A browser walk (save, then the next page) must not make the server plan the survey's
    statements on every request: psycopg prepares a statement after a few runs but forgets them
    all at a ROLLBACK, which is how a read-only page used to end."""
    engine, client, token, _wave = walk
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (SQLite caches them in its driver)")
    arrive(client, token)
    for number in range(1, PAGES):
        csrf = page_csrf(client, number)
        data = {**section_answers(number, 3), "csrf_token": csrf, "nav": "next"}
        assert client.post(f"/s/page/{number}", data=data).status_code == 303
    with engine.connect() as connection:  # the pool's one connection the walk used
        prepared = connection.exec_driver_sql(
            "SELECT statement FROM pg_prepared_statements"
        ).scalars()
        texts = [" ".join(str(statement).split()) for statement in prepared]
    reads = [t for t in texts if "FROM invitations" in t and "drafts" in t]
    assert reads, texts
