"""The unlinkability attack: with every table and every log line, tie responses to submitters.

60 people of one unit submit in a known order with known answers. The attacker then holds every
table (with PostgreSQL's ``xmin`` and ``ctid`` or SQLite's ``rowid``), the order and times of the
moves out of the shuffle pool, and every log line of the run, and tries each joining strategy.
No response may be narrowed to fewer than ``POOL_K`` of the known submitters.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from app.models import Wave, WaveStatus
from app.services import responses
from app.services.tokens import hash_token
from tests.conftest import TEST_KEYS, make_test_app
from tests.survey.conftest import fresh_database
from tests.survey.helpers import (
    complete_over_http,
    decode_answers,
    distinct_answers,
    live_server,
    seed_wave,
)

PEOPLE = 60
POOL_K = 10


def _kendall_tau(pairs: list[tuple[int, int]]) -> float:
    concordant = discordant = 0
    for (a1, b1), (a2, b2) in itertools.combinations(pairs, 2):
        sign = (a1 - a2) * (b1 - b2)
        concordant += sign > 0
        discordant += sign < 0
    total = concordant + discordant
    return 0.0 if total == 0 else (concordant - discordant) / total


def _ctid(raw: str) -> tuple[int, int]:
    page, row = raw.strip("()").split(",")
    return int(page), int(row)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # urllib3 is the test's own browser (requests), not the server: its lines are not ours.
        if not record.name.startswith("urllib3"):
            self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def run(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Submit 60 known answer sets over HTTP, close the wave, and hand over everything."""
    tmp_path = tmp_path_factory.mktemp("unlinkability")
    collect = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    try:
        with fresh_database(database_url, tmp_path) as engine, pytest.MonkeyPatch.context() as mp:
            yield _attack_material(engine, tmp_path, mp, collect)
    finally:
        root.removeHandler(collect)
        root.setLevel(old_level)


def _attack_material(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, collect: _Collect
) -> dict[str, Any]:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    with Session(fresh_engine) as session:
        seeded = seed_wave(session, invitations=PEOPLE, pool_k=POOL_K)
    app = make_test_app(fresh_engine, tmp_path, POOL_K=POOL_K)
    moves: list[tuple[int, int]] = []  # (submits done when the batch moved, rows in the batch)
    state = {"submitted": 0}
    real_move_batch = responses._move_batch

    def observed_move_batch(*args: Any, **kwargs: Any) -> int:
        count = real_move_batch(*args, **kwargs)
        if count:
            moves.append((state["submitted"], count))
        return count

    monkeypatch.setattr(responses, "_move_batch", observed_move_batch)
    with live_server(app) as base:
        for index, token in enumerate(seeded.tokens):
            state["submitted"] = index + 1  # an in-process move runs after this submit commits
            answer = complete_over_http(
                base, token, answers=distinct_answers(index), comment=f"marker-{index:03d}"
            )
            assert answer.status_code == 303
    with Session(fresh_engine) as session:
        session.execute(
            update(Wave).where(Wave.id == seeded.wave_id).values(status=WaveStatus.CLOSED)
        )
        session.commit()
        responses.move_pool(session, seeded.wave_id, flush_all=True, keys=TEST_KEYS.mix)

    postgres = fresh_engine.dialect.name == "postgresql"
    position = "xmin::text::bigint AS xid, ctid::text AS pos" if postgres else "rowid AS pos"
    with fresh_engine.connect() as connection:
        tables = {
            name: [dict(row._mapping) for row in connection.execute(text(query))]
            for name, query in {
                "responses": f"SELECT {position}, id, answers FROM responses",
                "invitations": f"SELECT {position}, id, token_hash, completed FROM invitations",
                "daily_counts": f"SELECT {position}, day, submissions FROM daily_counts",
                "pending": "SELECT id FROM pending_responses",
            }.items()
        }
    for row in tables["responses"]:
        answers = row["answers"]
        row["truth"] = decode_answers(answers if isinstance(answers, dict) else _json(answers))
        row["pos"] = _ctid(row["pos"]) if postgres else row["pos"]
    return {
        "tables": tables,
        "moves": moves,
        "logs": list(collect.lines),
        "tokens": seeded.tokens,
        "postgres": postgres,
    }


def _json(raw: str) -> dict[str, int]:
    import json

    loaded: dict[str, int] = json.loads(raw)
    return loaded


def test_every_answer_arrived_once(run: dict[str, Any]) -> None:
    truths = sorted(row["truth"] for row in run["tables"]["responses"])
    assert truths == list(range(PEOPLE))
    assert run["tables"]["pending"] == []
    assert all(row["completed"] for row in run["tables"]["invitations"])


def test_batch_windows_never_narrow_a_response_below_pool_k(run: dict[str, Any]) -> None:
    """The strongest timing attack: the attacker knows which submits came before every move."""
    rows = sorted(run["tables"]["responses"], key=lambda r: r["pos"])
    moves: list[tuple[int, int]] = run["moves"]
    assert sum(size for _, size in moves) == PEOPLE
    if run["postgres"]:
        # On PostgreSQL the batches and their times come from the data itself: one xmin per
        # move, compared with the invitations' xmins (transaction ids grow with time).
        by_xid: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            by_xid.setdefault(row["xid"], []).append(row)
        invitation_xids = sorted(r["xid"] for r in run["tables"]["invitations"])
        derived = [
            (sum(x < xid for x in invitation_xids), len(batch))
            for xid, batch in sorted(by_xid.items())
        ]
        assert derived == moves
        batches = [batch for _, batch in sorted(by_xid.items())]
    else:
        batches, start = [], 0
        for _, size in moves:
            batches.append(rows[start : start + size])
            start += size
    window_start, moved_so_far = 0, 0
    for (submitted_before, size), batch in zip(moves, batches, strict=True):
        assert size >= POOL_K
        candidates = set(range(window_start, submitted_before))
        assert len(candidates) >= POOL_K
        for row in batch:
            assert row["truth"] in candidates  # the attack model itself is sound
        moved_so_far += size
        if moved_so_far == submitted_before:  # the pool was emptied: later batches start anew
            window_start = submitted_before


def test_no_response_shares_a_transaction_with_an_invitation(run: dict[str, Any]) -> None:
    if not run["postgres"]:
        pytest.skip("xmin exists on PostgreSQL only; SQLite has one writer and no xids")
    response_xids = {row["xid"] for row in run["tables"]["responses"]}
    others = {row["xid"] for row in run["tables"]["invitations"] + run["tables"]["daily_counts"]}
    assert response_xids.isdisjoint(others)


@pytest.mark.parametrize("order", ["storage", "id"])
def test_storage_and_id_order_inside_batches_say_nothing(run: dict[str, Any], order: str) -> None:
    """Within the batches, rowid/ctid order and id order are unrelated to submit order."""
    rows = run["tables"]["responses"]
    key = (lambda r: r["pos"]) if order == "storage" else (lambda r: r["id"])
    if order == "id":
        ranked = sorted(rows, key=key)
        pairs = [(rank, row["truth"]) for rank, row in enumerate(ranked)]
        assert abs(_kendall_tau(pairs)) < 0.5  # random ids: no global order either
    by_storage = sorted(rows, key=lambda r: r["pos"])
    start, taus = 0, []
    for _, size in run["moves"]:
        batch = sorted(by_storage[start : start + size], key=key)
        taus.append(_kendall_tau([(rank, row["truth"]) for rank, row in enumerate(batch)]))
        start += size
    # Submit order kept inside a batch would give tau = 1; a shuffle gives about 0 (sd ~0.1).
    assert abs(sum(taus) / len(taus)) < 0.5


def test_exact_positions_match_no_better_than_chance(run: dict[str, Any]) -> None:
    ranked = sorted(run["tables"]["responses"], key=lambda r: r["pos"])
    hits = sum(row["truth"] == rank for rank, row in enumerate(ranked))
    assert hits < 20  # unshuffled storage would give 60; chance gives about 4


def test_daily_counts_do_not_order_anyone(run: dict[str, Any]) -> None:
    assert [row["submissions"] for row in run["tables"]["daily_counts"]] == [PEOPLE]


def test_log_lines_hold_no_token_address_or_answer(run: dict[str, Any]) -> None:
    logs: list[str] = run["logs"]
    assert any("POST /s/page/" in line for line in logs), "the request log was not captured"
    secrets_ = set(run["tokens"]) | {hash_token(t) for t in run["tokens"]}
    for line in logs:
        assert not any(secret in line for secret in secrets_), line
        assert "marker-" not in line, line
        if "/s/" in line or "/privacy" in line or "/static/" in line:
            assert "127.0.0.1" not in line, line
