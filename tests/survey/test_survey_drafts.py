"""Drafts: a database dump taken mid-survey holds no answer in readable form."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.models import Draft
from app.services import drafts
from app.services.tokens import hash_token
from tests.conftest import make_test_app
from tests.survey.helpers import PAGES, arrive, page_csrf, seed_wave

MARKER = "kumquat-orchard-7781"


def _dump(engine: Engine) -> bytes:
    """Everything the database holds: SQL text of every table, and the raw files on SQLite."""
    if engine.dialect.name == "sqlite":
        path = Path(str(engine.url.database))
        with sqlite3.connect(path) as connection:
            text_dump = "\n".join(connection.iterdump()).encode()
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        return text_dump + raw
    parts = []
    with engine.connect() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).scalars()
        for table in list(tables):
            for row in connection.execute(text(f'SELECT t::text FROM "{table}" t')):
                parts.append(str(row[0]))
    return "\n".join(parts).encode()


def test_a_dump_taken_mid_survey_holds_no_readable_answer(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    with Session(fresh_engine) as session:
        seeded = seed_wave(session)
    token = seeded.tokens[0]
    client = make_test_app(fresh_engine, tmp_path).test_client()
    arrive(client, token)
    csrf = page_csrf(client, 1)
    answers = {"ps1": "4", "ps2": "2", "ps3": "na"}
    assert (
        client.post("/s/page/1", data={**answers, "csrf_token": csrf, "nav": "next"}).status_code
        == 303
    )
    csrf = page_csrf(client, PAGES)
    form = {"comment": MARKER, "role": "3", "csrf_token": csrf, "nav": "back"}
    assert client.post(f"/s/page/{PAGES}", data=form).status_code == 303

    dump = _dump(fresh_engine)
    assert MARKER.encode() not in dump
    # Item keys are in the stored instrument definition; an answer would be a key with a value.
    for readable in (b'"ps1": 4', b'"ps1":4', b'"ps3":"na"', b'"ps3": "na"', b'"role": 3'):
        assert readable not in dump, readable
    assert b'"answers"' not in dump
    assert token.encode() not in dump
    with Session(fresh_engine) as session:
        draft = session.scalars(select(Draft)).one()
        assert draft.lookup != hash_token(token)
        assert draft.lookup == drafts.draft_lookup(token)
        state = drafts.find_draft(session, token)  # ...and the token opens it
        assert state is not None and state.comment == MARKER
        assert state.answers == {"ps1": 4, "ps2": 2, "ps3": "na"}
        assert state.page == PAGES - 1


def test_a_draft_cannot_be_opened_with_another_token(session: Session) -> None:
    seeded = seed_wave(session, invitations=2)
    mine, other = seeded.tokens
    drafts.put_draft(
        session, mine, seeded.wave_id, drafts.DraftState(page=2, comment="hello"), size=4096
    )
    session.commit()
    assert drafts.find_draft(session, other) is None
    stored = session.scalars(select(Draft.ciphertext)).one()
    with pytest.raises(InvalidTag):
        drafts.unseal(drafts.draft_key(other), stored, drafts.draft_lookup(mine).encode())
