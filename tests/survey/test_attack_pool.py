"""The insider with a copy of the disk and every web-tier secret, while a wave is open.

People answer through the real web flow; some stop half-way (drafts), the others submit and wait
in the shuffle pool. The attacker then takes everything the web tier holds — ``SECRET_KEY``, the
mix and mailer PUBLIC keys — and a copy of the database: on PostgreSQL every table with
``xmin``/``ctid`` and every raw page (``pageinspect``, dead row versions and TOAST included), on
SQLite the main file, its ``-wal`` and ``-shm``. They join each pool entry to the invitation
flipped in the same transaction, then try every way the code of revision 0002 opened things.

What must hold: no waiting answer set and no draft opens, no answer or comment is anywhere in
plaintext, and every pool blob (and every draft) has one size. A control test runs the same
opener on rows stored in the 0002 format and opens them all — the attack is a real one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.services import drafts, responses
from tests.conftest import TEST_KEYS, TEST_SECRET, is_postgres, make_test_app
from tests.survey.helpers import (
    INSTRUMENT,
    PAGES,
    arrive,
    complete_survey,
    distinct_answers,
    page_csrf,
    section_answers,
    seed_wave,
)

SUBMITTERS = 9  # pool_k 10: nobody is moved, all nine wait in the pool
HALF_WAY = 3
WIDE = "𝔘"  # a 4-byte UTF-8 character
PURPOSES = ("shuffle-pool", "survey-link-tokens", "rate-limit-client", "survey-draft-key")


@dataclass
class Material:
    """What the attacker took, and (for the assertions only) the truth."""

    postgres: bool
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    raw: list[bytes] = field(default_factory=list)
    markers: list[bytes] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    draft_tokens: list[str] = field(default_factory=list)


def _engine(database_url: str, folder: Path) -> Iterator[tuple[Engine, Engine | None]]:
    if not is_postgres():
        engine = make_engine(f"sqlite:///{folder / 'survey.sqlite3'}")
        upgrade(engine)
        yield engine, None
        engine.dispose()
        return
    schema = f"pool_{uuid.uuid4().hex[:12]}"
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    yield engine, admin
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="module")
def taken(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Material]:
    folder = tmp_path_factory.mktemp("pool-attack")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSTANCE_PATH", str(folder / "instance"))
        generator = _engine(database_url, folder)
        engine, admin = next(generator)
        try:
            yield _play_and_take(engine, admin, folder)
        finally:
            next(generator, None)


def _play_and_take(engine: Engine, admin: Engine | None, folder: Path) -> Material:
    with Session(engine) as session:
        seeded = seed_wave(session, invitations=SUBMITTERS + HALF_WAY, pool_k=10)
    app = make_test_app(engine, folder)
    material = Material(postgres=admin is not None, tokens=list(seeded.tokens))
    for index, token in enumerate(seeded.tokens[:SUBMITTERS]):
        marker = f"marker-{index:03d}-{uuid.uuid4().hex[:6]}"
        material.markers.append(marker.encode())
        complete_survey(app.test_client(), token, answers=distinct_answers(index), comment=marker)
    for token in seeded.tokens[SUBMITTERS:]:
        client = app.test_client()
        arrive(client, token)
        for number in (1, 2):
            data = {**section_answers(number, 5), "csrf_token": page_csrf(client, number)}
            assert client.post(f"/s/page/{number}", data={**data, "nav": "next"}).status_code == 303
        material.draft_tokens.append(token)

    position = "xmin::text AS xmin, ctid::text AS ctid, " if material.postgres else "rowid, "
    with engine.connect() as connection:
        for table in ("invitations", "pending_responses", "drafts", "responses", "daily_counts"):
            material.tables[table] = [
                dict(row._mapping)
                for row in connection.execute(text(f"SELECT {position}* FROM {table}"))
            ]
        schema = connection.execute(text("SELECT current_schema()")).scalar() if admin else None
    if admin is not None:
        material.raw = _raw_pages(admin, str(schema))
    else:
        copy = folder / "copy"
        copy.mkdir()
        source = Path(str(engine.url.database))
        for suffix in ("", "-wal", "-shm"):  # `cp instance/survey.sqlite3*` while it runs
            path = source.with_name(source.name + suffix)
            if path.exists():
                shutil.copy(path, copy / path.name)
                material.raw.append((copy / path.name).read_bytes())
    return material


def _raw_pages(admin: Engine, schema: str) -> list[bytes]:
    """Every page of every table of the schema and of their TOAST tables, dead tuples included."""
    pages: list[bytes] = []
    with admin.connect() as connection:
        relations = connection.execute(
            text(
                "SELECT c.oid::regclass::text, pg_relation_size(c.oid) / 8192 FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema "
                "AND c.relkind = 'r' UNION ALL SELECT c.reltoastrelid::regclass::text, "
                "pg_relation_size(c.reltoastrelid) / 8192 FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r' "
                "AND c.reltoastrelid <> 0"
            ),
            {"schema": schema},
        ).all()
        for relation, count in relations:
            for page in range(int(count)):
                pages.append(
                    bytes(
                        connection.execute(
                            text("SELECT public.get_raw_page(:r, :p)"), {"r": relation, "p": page}
                        ).scalar_one()
                    )
                )
                # heap_page_items shows each tuple, live or dead, on the page just read.
                connection.execute(
                    text(
                        "SELECT count(*) FROM public.heap_page_items(public.get_raw_page(:r, :p))"
                    ),
                    {"r": relation, "p": page},
                )
    return pages


# --- the attacker's openers (what worked on revision 0002) -----------------------------------


def _hkdf(material: bytes, info: str, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info.encode()).derive(
        material
    )


def _candidate_keys() -> list[bytes]:
    """Every key the web tier's secrets give: SECRET_KEY through HKDF for every purpose the code
    ever used, the raw public keys, and each of those as an X25519 private key."""
    keys = [_hkdf(TEST_SECRET.encode(), purpose) for purpose in PURPOSES]
    keys += [TEST_KEYS.mix_public.raw, TEST_KEYS.mailer_public.raw]
    return keys


def _try_open(blob: bytes, associated: list[bytes]) -> bytes | None:
    for key in _candidate_keys():
        for start in (0, 8):  # with or without a key id in front
            body = blob[start:]
            for extra in [*associated, b""]:
                try:
                    return AESGCM(key).decrypt(body[:12], body[12:], extra)
                except (InvalidTag, ValueError):
                    pass
            try:
                return bytes(SealedBox(PrivateKey(key)).decrypt(body))
            except (CryptoError, ValueError, TypeError):
                pass
    return None


def _link_candidates(rows: list[dict[str, Any]]) -> list[str]:
    """Links the attacker can build: HMAC(SECRET_KEY) of every bytes value an invitation holds
    (the nonce, on revision 0002), and those values themselves."""
    link_key = _hkdf(TEST_SECRET.encode(), "survey-link-tokens")
    found: list[str] = []
    for row in rows:
        for value in row.values():
            if isinstance(value, bytes | memoryview):
                raw = bytes(value)
                mac = hmac.new(link_key, raw, hashlib.sha256).digest()
                found.append(base64.urlsafe_b64encode(mac).rstrip(b"=").decode())
                found.append(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
            elif isinstance(value, str):
                found.append(value)
    return found


def _joined_pool(material: Material) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each pool row with the invitation flipped in the same transaction (PostgreSQL: xmin)."""
    invitations = material.tables["invitations"]
    pairs = []
    for entry in material.tables["pending_responses"]:
        match = None
        if material.postgres:
            match = next((i for i in invitations if i["xmin"] == entry["xmin"]), None)
        pairs.append((entry, match))
    return pairs


# --- what must hold -------------------------------------------------------------------------


def test_the_join_works_and_still_no_waiting_answer_set_opens(taken: Material) -> None:
    pairs = _joined_pool(taken)
    assert len(pairs) == SUBMITTERS
    if taken.postgres:
        # The attack model is real: each waiting entry is tied to one person's invitation.
        assert all(invitation is not None for _, invitation in pairs)
        assert len({inv["id"] for _, inv in pairs if inv}) == SUBMITTERS
    for entry, _ in pairs:
        associated = [f"pool:{entry['wave_id']}:{entry['unit_id']}".encode()]
        assert _try_open(bytes(entry["ciphertext"]), associated) is None


def test_every_waiting_blob_has_one_size(taken: Material) -> None:
    sizes = {len(bytes(e["ciphertext"])) for e in taken.tables["pending_responses"]}
    assert sizes == {responses.pool_entry_size(INSTRUMENT) + 56}


def test_no_answer_comment_or_link_is_anywhere_in_plaintext(taken: Material) -> None:
    assert taken.raw, "the attacker took no file or page"
    # Control: what was read is where the pool lives (each blob's first bytes are in it).
    for entry in taken.tables["pending_responses"]:
        head = bytes(entry["ciphertext"])[:32]
        assert any(head in raw for raw in taken.raw)
    needles = [*taken.markers, *(t.encode() for t in taken.tokens)]
    for raw in taken.raw:
        for needle in needles:
            assert needle not in raw


def test_no_draft_opens_with_the_database_and_secret_key(taken: Material) -> None:
    rows = taken.tables["drafts"]
    assert len(rows) == HALF_WAY
    candidates = [*_link_candidates(taken.tables["invitations"]), TEST_SECRET]
    for row in rows:
        blob, lookup = bytes(row["ciphertext"]), str(row["lookup"])
        for candidate in candidates:
            keys = drafts.DraftKeys.of(candidate)
            assert drafts.open_draft(keys, blob) is None
        assert _try_open(blob, [lookup.encode()]) is None
    # Control: the person's own link does open their draft (the opener above is the real one).
    opened = [
        drafts.open_draft(drafts.DraftKeys.of(token), bytes(row["ciphertext"]))
        for token in taken.draft_tokens
        for row in rows
    ]
    assert sum(state is not None for state in opened) == HALF_WAY


def test_drafts_have_one_size(taken: Material) -> None:
    sizes = {len(bytes(r["ciphertext"])) for r in taken.tables["drafts"]}
    assert sizes == {12 + drafts.draft_size(INSTRUMENT) + 16}


# --- sizes of the extremes, through the web flow ------------------------------------------


def _everything() -> dict[str, int]:
    """Every item answered with its highest value."""
    return {i.key: s.response_scale.points for s in INSTRUMENT.scales for i in s.items}


def test_full_empty_and_typical_answer_sets_make_one_pool_size_and_one_draft_size(
    session: Session, app: Any
) -> None:
    seeded = seed_wave(session, invitations=6, pool_k=10)
    longest = INSTRUMENT.comment.max_length if INSTRUMENT.comment else 0
    background = {q.key: len(next(iter(q.options.values()))) for q in INSTRUMENT.background}
    full = {"answers": _everything(), "background": background, "comment": WIDE * longest}
    typical = {"answers": distinct_answers(7), "background": {}, "comment": "More time."}
    empty: dict[str, Any] = {"answers": {}, "background": {}, "comment": ""}
    for token, kind in zip(seeded.tokens[:3], (full, empty, typical), strict=True):
        complete_survey(
            app.test_client(),
            token,
            answers=kind["answers"],
            background=kind["background"],
            comment=kind["comment"],
        )
    blobs = [
        bytes(b)
        for b in session.execute(text("SELECT ciphertext FROM pending_responses")).scalars()
    ]
    assert len(blobs) == 3
    assert len({len(b) for b in blobs}) == 1
    # The same three as drafts: saved from the last page with "back".
    for token, kind in zip(seeded.tokens[3:], (full, empty, typical), strict=True):
        client = app.test_client()
        arrive(client, token)
        for number in range(1, PAGES):
            scale = INSTRUMENT.scales[number - 1]
            data = {k: str(v) for k, v in kind["answers"].items() if k in scale.item_keys}
            data.update(csrf_token=page_csrf(client, number), nav="next")
            assert client.post(f"/s/page/{number}", data=data).status_code == 303
        data = {k: str(v) for k, v in kind["background"].items()}
        data.update(comment=kind["comment"], csrf_token=page_csrf(client, PAGES), nav="back")
        assert client.post(f"/s/page/{PAGES}", data=data).status_code == 303
    sizes = {
        len(bytes(b)) for b in session.execute(text("SELECT ciphertext FROM drafts")).scalars()
    }
    assert len(sizes) == 1


def test_what_cannot_fit_the_fixed_size_is_refused_with_a_clear_error() -> None:
    too_long = responses.Answers(items={}, background={}, comment=WIDE * 10_000)
    with pytest.raises(responses.InvalidAnswers, match="larger than any legal answer set"):
        responses.seal_pool_entry(TEST_KEYS.mix_public, INSTRUMENT, too_long, "en")


# --- the control: the same attack on what revision 0002 stored -----------------------------


def test_the_same_opener_opens_every_entry_and_draft_stored_the_old_way() -> None:
    pool_key = _hkdf(TEST_SECRET.encode(), "shuffle-pool")
    payload = json.dumps({"answers": {"ps1": 4}, "background": {}, "comment": "x"}).encode()
    associated = b"pool:1:2"
    nonce = b"\x01" * 12
    old_entry = nonce + AESGCM(pool_key).encrypt(nonce, payload, associated)
    assert _try_open(old_entry, [associated]) == payload
    nonce_column = b"\x02" * 32
    link = _link_candidates([{"token_nonce": nonce_column}])[0]
    keys = drafts.DraftKeys.of(link)
    old_draft = drafts.seal(keys.key, b"{}", keys.lookup.encode())
    assert _try_open(old_draft, [keys.lookup.encode()]) is None  # token-keyed: needs the link
    assert drafts.unseal(keys.key, old_draft, keys.lookup.encode()) == b"{}"  # which 0002 gave


def test_the_close_erases_every_sealed_link_so_the_mailer_key_rebuilds_none(
    session: Session,
) -> None:
    from app.models import Invitation
    from app.services import tokens, waves

    seeded = seed_wave(session, invitations=4)
    sealed = [bytes(b) for b in session.scalars(select(Invitation.token_sealed))]
    assert {tokens.open_token(TEST_KEYS.mailer, b) for b in sealed} == set(seeded.tokens)
    waves.close_wave(session, None, seeded.wave_id)
    left = session.execute(select(Invitation.token_sealed, Invitation.email)).all()
    assert len(left) == 4
    assert all(token is None and email is None for token, email in left)
