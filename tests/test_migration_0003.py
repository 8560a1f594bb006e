"""Upgrading with a wave open (revision 0003): every link, draft and pooled answer survives.

The database is built at revision 0002 and filled the way the code of that time stored things
(tokens HMAC'd from SECRET_KEY and a nonce, the pool under a SECRET_KEY-derived AES key, unpadded
drafts) — written here from the old format, not with today's code. Then it is upgraded the way an
operator does, and used through the web flow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session

import surveys
from app.migrate import upgrade
from app.models import Draft, Invitation, PendingResponse, Response
from app.services import drafts, responses, tokens
from tests.conftest import TEST_KEYS, TEST_SECRET, empty_database, make_test_app
from tests.survey.helpers import INSTRUMENT, arrive, complete_survey, distinct_answers

PEOPLE = 8
POOLED = 3  # the first three answered before the upgrade
WITH_DRAFT = (3, 4)  # these two were half-way through


@pytest.fixture
def old_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """An empty database of the suite's kind, migrated to 0002 only."""
    with empty_database(database_url, tmp_path, "up") as (engine, _admin):
        upgrade(engine, "0002")
        yield engine


# --- the format of revision 0002, written out independently ----------------------------------


def _hkdf(material: bytes, info: str, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode()).derive(
        material
    )


def _old_token(nonce: bytes) -> str:
    key = _hkdf(TEST_SECRET.encode(), "survey-link-tokens")
    mac = hmac.new(key, nonce, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _aes(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


_DRAFT_SALT = b"safety-culture-survey/drafts/v1"


def _seed_old(engine: Engine) -> dict[str, Any]:
    now = datetime.now(UTC)
    meta = sa.MetaData()
    meta.reflect(engine)
    t = meta.tables
    old_tokens: list[str] = []
    pooled: list[dict[str, int]] = []
    draft_states: dict[str, dict[str, Any]] = {}
    with engine.begin() as connection:
        instrument_id = connection.execute(
            t["instruments"]
            .insert()
            .values(
                key=INSTRUMENT.key,
                version=INSTRUMENT.version,
                definition=surveys.instrument_to_dict(INSTRUMENT),
                checksum=INSTRUMENT.checksum,
                created_at=now,
            )
            .returning(t["instruments"].c.id)
        ).scalar_one()
        jurisdiction_id = connection.execute(
            t["jurisdictions"]
            .insert()
            .values(name="Old County", slug="old", shares_benchmarks=True, created_at=now)
            .returning(t["jurisdictions"].c.id)
        ).scalar_one()
        agency = connection.execute(
            t["org_units"]
            .insert()
            .values(
                jurisdiction_id=jurisdiction_id,
                name="Old County",
                path="",
                kind="agency",
                active=True,
            )
            .returning(t["org_units"].c.id)
        ).scalar_one()
        team = connection.execute(
            t["org_units"]
            .insert()
            .values(
                jurisdiction_id=jurisdiction_id,
                parent_id=agency,
                name="Team A",
                path="Team A",
                kind="team",
                active=True,
            )
            .returning(t["org_units"].c.id)
        ).scalar_one()
        wave_id = connection.execute(
            t["waves"]
            .insert()
            .values(
                jurisdiction_id=jurisdiction_id,
                instrument_id=instrument_id,
                year=2026,
                opens_at=now - timedelta(days=3),
                closes_at=now + timedelta(days=10),
                timezone="UTC",
                status="open",
                min_report_n=5,
                pool_k=10,
                reminder_max=2,
                reminder_min_days=7,
                reminders_sent=0,
                launched_at=now - timedelta(days=3),
                created_at=now,
            )
            .returning(t["waves"].c.id)
        ).scalar_one()
        for index in range(PEOPLE):
            nonce = os.urandom(32)
            token = _old_token(nonce)
            old_tokens.append(token)
            connection.execute(
                t["invitations"]
                .insert()
                .values(
                    wave_id=wave_id,
                    unit_id=team,
                    email=f"person{index}@example.org",
                    language="en",
                    token_hash=hashlib.sha256(token.encode()).hexdigest(),
                    token_nonce=nonce,
                    completed=index < POOLED,
                    delivery_status="sent",
                    send_wanted=0,
                    send_done=0,
                    attempts=1,
                )
            )
        pool_key = _hkdf(TEST_SECRET.encode(), "shuffle-pool")
        for index in range(POOLED):
            answers = distinct_answers(100 + index)
            pooled.append(answers)
            payload = json.dumps(
                {"answers": answers, "background": {"role": 2}, "comment": f"before-{index}"},
                sort_keys=True,
            ).encode()
            connection.execute(
                t["pending_responses"]
                .insert()
                .values(
                    id=str(uuid.uuid4()),
                    wave_id=wave_id,
                    unit_id=team,
                    ciphertext=_aes(pool_key, payload, f"pool:{wave_id}:{team}".encode()),
                )
            )
        first_scale = INSTRUMENT.scales[0]
        for index in WITH_DRAFT:
            token = old_tokens[index]
            state = {
                "page": 2,
                "answers": {item.key: 4 for item in first_scale.items},
                "background": {},
                "comment": None,
            }
            draft_states[token] = state
            lookup = hashlib.sha256(_hkdf(token.encode(), "survey-draft-lookup", _DRAFT_SALT))
            connection.execute(
                t["drafts"]
                .insert()
                .values(
                    lookup=lookup.hexdigest(),
                    wave_id=wave_id,
                    ciphertext=_aes(
                        _hkdf(token.encode(), "survey-draft-key", _DRAFT_SALT),
                        json.dumps(state, sort_keys=True, separators=(",", ":")).encode(),
                        lookup.hexdigest().encode(),
                    ),
                )
            )
    return {"wave_id": wave_id, "tokens": old_tokens, "pooled": pooled, "drafts": draft_states}


def _settings(**extra: str) -> dict[str, str]:
    return {"SECRET_KEY": TEST_SECRET, **TEST_KEYS.settings(), **extra}


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


# --- the tests ------------------------------------------------------------------------------


def test_upgrading_mid_wave_keeps_every_link_draft_and_pooled_answer(
    old_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _seed_old(old_engine)
    upgrade(old_engine, settings=_settings())
    assert "token_nonce" not in _columns(old_engine, "invitations")

    with Session(old_engine) as session:
        # The same links: hash unchanged, and the mailer key opens each sealed copy to it.
        rows = session.execute(select(Invitation.token_hash, Invitation.token_sealed)).all()
        assert len(rows) == PEOPLE
        opened = {tokens.open_token(TEST_KEYS.mailer, bytes(sealed)) for _, sealed in rows}
        assert opened == set(old["tokens"])
        assert {h for h, _ in rows} == {tokens.hash_token(t) for t in old["tokens"]}
        # Drafts padded to the one size; pool entries sealed to the mix key, one size.
        draft_blobs = list(session.scalars(select(Draft.ciphertext)))
        assert len(draft_blobs) == len(WITH_DRAFT)
        assert {len(b) for b in draft_blobs} == {12 + drafts.draft_size(INSTRUMENT) + 16}
        pool_blobs = list(session.scalars(select(PendingResponse.ciphertext)))
        assert len(pool_blobs) == POOLED
        assert {len(b) for b in pool_blobs} == {responses.pool_entry_size(INSTRUMENT) + 56}
        assert all(TEST_KEYS.mix.holds(bytes(b)) for b in pool_blobs)

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_test_app(old_engine, tmp_path)
    # A person half-way through resumes where they stopped, with their answers.
    for index in WITH_DRAFT:
        client = app.test_client()
        arrive(client, old["tokens"][index])
        resumed = client.get("/s/")
        assert resumed.status_code == 302 and resumed.headers["Location"].endswith("/s/page/2")
        html = client.get("/s/page/1").get_data(as_text=True)
        assert html.count(" checked") == len(INSTRUMENT.scales[0].items)
    # Someone who had answered is told so; everyone else answers now, with the same old link.
    done = app.test_client()
    arrive_answered = done.get(f"/s/{old['tokens'][0]}")
    assert arrive_answered.status_code == 200
    for index in range(POOLED, PEOPLE):
        complete_survey(app.test_client(), old["tokens"][index], answers=distinct_answers(index))

    with Session(old_engine) as session:
        moved = responses.move_pool(session, old["wave_id"], flush_all=True, keys=TEST_KEYS.mix)
        assert moved == PEOPLE
        stored = session.execute(select(Response.answers, Response.comment)).all()
    before = sorted(json.dumps(a, sort_keys=True) for a in old["pooled"])
    found = sorted(
        json.dumps(a, sort_keys=True) for a, c in stored if c and c.startswith("before-")
    )
    assert found == before
    assert len(stored) == PEOPLE


def test_upgrade_without_the_secrets_stops_with_one_line_and_changes_nothing(
    old_engine: Engine,
) -> None:
    _seed_old(old_engine)
    with pytest.raises(RuntimeError) as caught:
        upgrade(old_engine, settings={"MIX_PUBLIC_KEY_FILE": "/nowhere/mix.pub"})
    message = str(caught.value)
    assert "SECRET_KEY" in message and "MIX_PUBLIC_KEY_FILE" in message
    assert "MAILER_PUBLIC_KEY_FILE" in message
    assert "\n" not in message
    assert "token_nonce" in _columns(old_engine, "invitations")
    assert "token_sealed" not in _columns(old_engine, "invitations")
    with old_engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0002"


def test_upgrade_with_another_secret_key_changes_nothing(old_engine: Engine) -> None:
    _seed_old(old_engine)
    with pytest.raises(RuntimeError, match="SECRET_KEY: it does not rebuild the stored links"):
        upgrade(old_engine, settings=_settings(SECRET_KEY="another-key-" + "y" * 40))
    assert "token_nonce" in _columns(old_engine, "invitations")
    with old_engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0002"
        nonces = connection.scalar(
            text("SELECT count(*) FROM invitations WHERE token_nonce IS NOT NULL")
        )
    assert nonces == PEOPLE


def test_an_empty_database_upgrades_without_any_secret(old_engine: Engine) -> None:
    upgrade(old_engine, settings={})
    assert "token_sealed" in _columns(old_engine, "invitations")
    with Session(old_engine) as session:
        assert session.scalar(select(func.count()).select_from(Invitation)) == 0
