"""Concurrency: one response per link under simultaneous submits; the pool moves each answer once.

These tests need real, separate connections, so each builds a fresh database (a SQLite file or a
PostgreSQL schema) instead of using the rolled-back ``session`` fixture.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from app.models import DailyCount, Invitation, PendingResponse, Response, Wave, WaveStatus
from app.services import responses
from tests.conftest import TEST_KEYS, make_test_app
from tests.survey.helpers import (
    PAGES,
    arrive,
    decode_answers,
    distinct_answers,
    page_csrf,
    seed_wave,
)

THREADS = 20


def test_twenty_simultaneous_submits_of_one_link_store_one_response(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    with Session(fresh_engine) as session:
        seeded = seed_wave(session, invitations=2, pool_k=2)
    token = seeded.tokens[0]
    app = make_test_app(fresh_engine, tmp_path)
    clients = [app.test_client() for _ in range(THREADS)]
    forms = []
    for client in clients:  # two tabs, two devices... twenty of them, all on the last page
        arrive(client, token)
        forms.append({"csrf_token": page_csrf(client, PAGES), "nav": "submit", "comment": "x"})
    start = threading.Barrier(THREADS)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def submit(index: int) -> None:
        start.wait()
        response = clients[index].post(f"/s/page/{PAGES}", data=forms[index])
        with lock:
            outcomes.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == THREADS
    codes = Counter(code for code, _ in outcomes)
    assert codes == {303: 1, 200: THREADS - 1}, codes
    assert all("already answered" in html for code, html in outcomes if code == 200)

    with Session(fresh_engine) as session:
        responses.move_pool(session, seeded.wave_id, flush_all=True, keys=TEST_KEYS.mix)
        assert session.scalar(select(func.count()).select_from(Response)) == 1
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0
        completed = session.scalar(
            select(func.count()).select_from(Invitation).where(Invitation.completed.is_(True))
        )
        assert completed == 1
        assert session.scalar(select(func.sum(DailyCount.submissions))) == 1


def _fill_pool(engine: Engine, count: int, pool_k: int) -> tuple[int, list[dict[str, int]]]:
    with Session(engine) as session:
        seeded = seed_wave(session, invitations=count, pool_k=pool_k)
        sent = []
        for index, token in enumerate(seeded.tokens):
            answers = distinct_answers(index)
            sent.append(answers)
            responses.submit_response(
                session, token, responses.Answers(answers, {}), mix_public=TEST_KEYS.mix_public
            )
    return seeded.wave_id, sent


def _assert_each_answer_once(engine: Engine, wave_id: int, sent: list[dict[str, int]]) -> None:
    with Session(engine) as session:
        stored = session.scalars(select(Response.answers).where(Response.wave_id == wave_id))
        indexes = Counter(decode_answers(answers) for answers in stored)
        assert indexes == Counter(range(len(sent)))
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 0


def test_two_movers_at_once_move_every_answer_exactly_once(fresh_engine: Engine) -> None:
    wave_id, sent = _fill_pool(fresh_engine, 53, pool_k=4)
    start = threading.Barrier(4)
    moved: list[int] = []
    errors: list[BaseException] = []

    def mover(flush_all: bool) -> None:
        start.wait()
        try:
            with Session(fresh_engine) as session:
                moved.append(
                    responses.move_pool(session, wave_id, flush_all=flush_all, keys=TEST_KEYS.mix)
                )
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [
        threading.Thread(target=mover, args=(flush,)) for flush in (False, False, False, True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with Session(fresh_engine) as session:
        responses.move_pool(session, wave_id, flush_all=True, keys=TEST_KEYS.mix)
    _assert_each_answer_once(fresh_engine, wave_id, sent)


def test_a_mover_that_dies_half_way_loses_and_duplicates_nothing(
    fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    wave_id, sent = _fill_pool(fresh_engine, 30, pool_k=5)
    real_open = responses.open_pool_entry
    calls = {"n": 0}

    def dying_open(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the worker died")
        return real_open(*args)

    monkeypatch.setattr(responses, "open_pool_entry", dying_open)
    with Session(fresh_engine) as session, pytest.raises(RuntimeError):
        responses.move_pool(session, wave_id, flush_all=True, keys=TEST_KEYS.mix)
    with Session(fresh_engine) as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0
        assert session.scalar(select(func.count()).select_from(PendingResponse)) == 30
    monkeypatch.setattr(responses, "open_pool_entry", real_open)
    with Session(fresh_engine) as session:
        assert responses.move_pool(session, wave_id, keys=TEST_KEYS.mix) == 25
        assert responses.move_pool(session, wave_id, flush_all=True, keys=TEST_KEYS.mix) == 5
    _assert_each_answer_once(fresh_engine, wave_id, sent)


def test_batches_leave_pool_k_behind_until_the_wave_closes(fresh_engine: Engine) -> None:
    wave_id, sent = _fill_pool(fresh_engine, 19, pool_k=10)
    with Session(fresh_engine) as session:
        assert responses.move_pool(session, wave_id, keys=TEST_KEYS.mix) == 0
        session.execute(update(Wave).where(Wave.id == wave_id).values(status=WaveStatus.CLOSED))
        session.commit()
        assert responses.move_pool(session, wave_id, flush_all=True, keys=TEST_KEYS.mix) == 19
    _assert_each_answer_once(fresh_engine, wave_id, sent)


def test_units_are_pooled_apart(fresh_engine: Engine) -> None:
    with Session(fresh_engine) as session:
        seeded = seed_wave(session, invitations=12, units=2, pool_k=3)
        for token in seeded.tokens[:7] + seeded.tokens[12:14]:  # 7 in unit A, 2 in unit B
            responses.submit_response(
                session, token, responses.Answers({"ps1": 3}, {}), mix_public=TEST_KEYS.mix_public
            )
        moved = responses.move_pool(session, seeded.wave_id, keys=TEST_KEYS.mix)
        assert moved == 3  # unit A: 7 >= 2*3, one batch of 3 leaves 4; unit B: 2 wait
        by_unit = Counter(session.scalars(select(Response.unit_id)))
        assert by_unit == {seeded.unit_ids[0]: 3}
