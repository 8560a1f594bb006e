"""The attacker who copies the server's files: drafts, addresses, links and background answers.

A team of six gets its invitations the real way (roster → launch → mail job → outbox), each
person opens the link from their email, answers page by page (every saved draft version is
captured from the database while it exists), one of them is the team's supervisor and one answers
in Spanish, and everyone submits. The wave is closed and the mixer flushes the pool. The attacker
then reads every file under ``instance/`` byte by byte — on SQLite the database, its ``-wal`` and
``-shm``, the job queue's SQLite file, the outbox — and on PostgreSQL also the raw pages of the
tables (``pageinspect``'s ``get_raw_page``, which shows dead row versions too).
"""

from __future__ import annotations

import re
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import (
    BackgroundCount,
    Draft,
    Jurisdiction,
    LanguageHoldback,
    LanguageItemSums,
    OrgUnit,
    Response,
    RosterEntry,
    UnitKind,
)
from app.services import background, waves
from tests.conftest import TEST_KEYS, is_postgres, make_test_app
from tests.survey.helpers import INSTRUMENT, PAGES, arrive, decode_answers, distinct_answers

TEAM = 6
SUPERVISOR = 0  # person 0 answers "Supervisor" (option 2); the others "Caseworker" (option 1)
SPANISH = 5  # person 5 is the team's one Spanish speaker
LINK = re.compile(rb"/s/([A-Za-z0-9_-]{30,})")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def _chunks(blob: bytes, size: int = 48) -> list[bytes]:
    """Pieces of a blob to look for (a partial copy is as bad as a whole one)."""
    if len(blob) <= size:
        return [blob]
    step = max(size, (len(blob) - size) // 4)
    return [blob[i : i + size] for i in range(0, len(blob) - size + 1, step)]


def _holding(paths: list[Path], needles: list[bytes]) -> list[str]:
    found = []
    for path in paths:
        raw = path.read_bytes()
        if any(needle in raw for needle in needles):
            found.append(path.name)
    return found


class _Run:
    """What the attacker gets, and what the test knows about the people."""

    def __init__(self) -> None:
        self.emails: list[str] = []
        self.tokens: list[str] = []
        self.drafts: list[list[bytes]] = [[] for _ in range(TEAM)]
        #: Files under instance/ that held a byte of person i's drafts right after i submitted.
        self.after_submit: list[list[str]] = []
        self.outbox_before_close: int = 0
        self.instance = Path()
        self.engine: Engine | None = None
        self.admin: Engine | None = None
        self.wave_id = 0
        self.unit_id = 0


def _engine(database_url: str, instance: Path) -> Iterator[tuple[Engine, Engine | None]]:
    if not is_postgres():
        engine = make_engine(f"sqlite:///{instance / 'survey.sqlite3'}")
        yield engine, None
        engine.dispose()
        return
    schema = f"disk_{uuid.uuid4().hex[:12]}"
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    yield engine, admin
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _run_queue() -> None:
    """Execute what the web tier queued (a worker would), from the SQLite queue file."""
    from app import tasks

    while (task := tasks.huey.dequeue()) is not None:
        tasks.huey.execute(task)


@pytest.fixture(scope="module")
def run(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Run]:
    from app import tasks

    tmp = tmp_path_factory.mktemp("disk-attack")
    instance = tmp / "instance"
    result = _Run()
    result.instance = instance
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INSTANCE_PATH", str(instance))
        generator = _engine(database_url, instance)
        engine, admin = next(generator)
        result.engine, result.admin = engine, admin
        try:
            app = make_test_app(engine, tmp, HUEY_STORAGE=str(instance / "huey.sqlite3"))
            upgrade(engine)
            _play(app, engine, result)
            yield result
        finally:
            tasks.huey.immediate = True  # back to what the other tests expect
            next(generator, None)


def _play(app: Flask, engine: Engine, result: _Run) -> None:
    from app import tasks

    with Session(engine) as session:
        suffix = uuid.uuid4().hex[:8]
        jurisdiction = Jurisdiction(name=f"Disk County {suffix}", slug=f"disk-{suffix}")
        session.add(jurisdiction)
        session.flush()
        root = OrgUnit(
            jurisdiction_id=jurisdiction.id, name="Agency", path="", kind=UnitKind.AGENCY
        )
        session.add(root)
        session.flush()
        team = OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent_id=root.id,
            name="Team S",
            path="Team S",
            kind=UnitKind.TEAM,
        )
        session.add(team)
        session.flush()
        for index in range(TEAM):
            email = f"person{index}.{suffix}@staff.example.org"
            result.emails.append(email)
            session.add(
                RosterEntry(
                    jurisdiction_id=jurisdiction.id,
                    unit_id=team.id,
                    email=email,
                    language="es" if index == SPANISH else "en",
                    active=True,
                    imported_count=1,
                )
            )
        session.commit()
        today = datetime.now(UTC).date()
        wave = waves.create_wave(
            session,
            None,
            jurisdiction_id=jurisdiction.id,
            year=2026,
            instrument_key=INSTRUMENT.key,
            opens=today,
            closes=today + timedelta(days=20),
            min_report_n=5,
            pool_k=10,
        )
        result.wave_id, result.unit_id = wave.id, team.id
        waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    with app.app_context():
        tasks.dispatch(result.wave_id)
    _run_queue()

    outbox = result.instance / "outbox"
    messages = _files(outbox)
    result.outbox_before_close = len(messages)
    links: dict[str, str] = {}
    for path in messages:
        raw = path.read_bytes()
        match = LINK.search(raw)
        assert match, "no survey link in an outbox message"
        to = next(e for e in result.emails if e.encode() in raw)
        links[to] = match.group(1).decode()
    result.tokens = [links[email] for email in result.emails]

    for index, token in enumerate(result.tokens):
        _answer(app, engine, result, index, token)
        paths = _files(result.instance)
        needles = [chunk for blob in result.drafts[index] for chunk in _chunks(blob)]
        result.after_submit.append(_holding(paths, needles))
    _run_queue()

    with Session(engine) as session:
        waves.close_wave(session, None, result.wave_id, instance_path=result.instance)
        waves.finish_close(session, result.wave_id, mix_keys=TEST_KEYS.mix)
    _run_queue()


def _answer(app: Flask, engine: Engine, result: _Run, index: int, token: str) -> None:
    """Person ``index`` walks the survey like a browser, saving each page; drafts are captured."""
    client = app.test_client()
    if index == SPANISH:  # a browser set to Spanish: the pages, and the answers, are in Spanish
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    arrive(client, token)
    answers = distinct_answers(index)
    for number in range(1, PAGES):
        page = client.get(f"/s/page/{number}").get_data(as_text=True)
        csrf = _CSRF.search(page)
        assert csrf
        scale = INSTRUMENT.scales[number - 1]
        data = {k: str(v) for k, v in answers.items() if k in scale.item_keys}
        saved = client.post(
            f"/s/page/{number}", data={**data, "csrf_token": csrf.group(1), "nav": "next"}
        )
        assert saved.status_code == 303, saved.get_data(as_text=True)[:500]
        with Session(engine) as session:
            result.drafts[index].extend(
                bytes(blob)
                for blob in session.scalars(
                    select(Draft.ciphertext).where(Draft.wave_id == result.wave_id)
                )
            )
    page = client.get(f"/s/page/{PAGES}").get_data(as_text=True)
    csrf = _CSRF.search(page)
    assert csrf
    role = 2 if index == SUPERVISOR else 1
    submitted = client.post(
        f"/s/page/{PAGES}",
        data={
            "role": str(role),
            "tenure": str(1 + index % 4),
            "comment": "",
            "csrf_token": csrf.group(1),
            "nav": "submit",
        },
    )
    assert submitted.status_code == 303, submitted.get_data(as_text=True)[:500]
    assert submitted.headers["Location"].endswith("/s/thanks")


def _raw_pages(run: _Run, table: str) -> list[bytes]:
    """Every page of the table and of its TOAST table (where long values such as padded
    drafts are kept), dead row versions included."""
    assert run.engine is not None and run.admin is not None
    with run.engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        toast = connection.execute(
            text(
                "SELECT reltoastrelid::regclass::text FROM pg_class "
                "WHERE oid = CAST(:t AS regclass)"
            ),
            {"t": table},
        ).scalar_one()
    relations = [f"{schema}.{table}"] + ([toast] if toast and toast != "-" else [])
    found = []
    with run.admin.connect() as connection:
        for relation in relations:
            pages = connection.execute(
                text("SELECT pg_relation_size(:r) / current_setting('block_size')::int"),
                {"r": relation},
            ).scalar_one()
            found.extend(
                bytes(
                    connection.execute(
                        text("SELECT public.get_raw_page(:rel, :page)"),
                        {"rel": relation, "page": page},
                    ).scalar_one()
                )
                for page in range(int(pages))
            )
    return found


# --- drafts --------------------------------------------------------------------------------------


def test_the_walk_saved_draft_versions_the_attacker_could_look_for(run: _Run) -> None:
    assert all(len(versions) >= PAGES - 1 for versions in run.drafts)
    assert len({v for versions in run.drafts for v in versions}) >= TEAM * (PAGES - 1)


def test_after_a_submit_no_byte_of_any_version_of_that_draft_is_in_any_file(run: _Run) -> None:
    """SQLite: main file, -wal and -shm read raw right after each submit (no file holds them)."""
    assert run.after_submit == [[] for _ in range(TEAM)]


def test_after_the_close_no_draft_byte_is_in_any_file_or_raw_page(run: _Run) -> None:
    needles = [chunk for versions in run.drafts for blob in versions for chunk in _chunks(blob)]
    assert _holding(_files(run.instance), needles) == []
    if run.admin is not None:
        for table in ("drafts", "pending_responses", "invitations", "responses"):
            assert not any(n in page for page in _raw_pages(run, table) for n in needles), table


# --- addresses and links after the close ----------------------------------------------------------


def test_the_mail_went_through_the_outbox_and_is_gone_after_the_close(run: _Run) -> None:
    assert run.outbox_before_close == TEAM
    assert list((run.instance / "outbox").rglob("*.eml")) == []


def test_after_the_close_no_link_is_in_any_file_or_raw_page(run: _Run) -> None:
    tokens = [t.encode() for t in run.tokens]
    assert _holding(_files(run.instance), tokens) == []
    if run.admin is not None:
        for table in ("invitations", "drafts", "pending_responses", "audit_events"):
            assert not any(t in page for page in _raw_pages(run, table) for t in tokens), table


def test_after_the_close_addresses_are_only_where_the_staff_list_keeps_them(run: _Run) -> None:
    """The roster (the agency's own list) holds each address in its row and its unique index:
    on SQLite that is 2 copies in the main file, none in any other file; on PostgreSQL none under
    instance/, and none in the invitations' raw pages (dead versions included)."""
    for path in _files(run.instance):
        raw = path.read_bytes()
        allowed = 2 if path.name == "survey.sqlite3" else 0
        for email in run.emails:
            assert raw.count(email.encode()) <= allowed, (path.name, email)
    if run.admin is not None:
        for table in ("invitations", "audit_events"):
            pages = _raw_pages(run, table)
            assert not any(e.encode() in page for page in pages for e in run.emails), table


def test_every_file_under_instance_is_0600_and_every_folder_0700(run: _Run) -> None:
    names = {p.name for p in _files(run.instance)}
    if run.admin is None:
        assert {"survey.sqlite3", "huey.sqlite3"} <= names
    assert stat.S_IMODE(run.instance.stat().st_mode) == 0o700
    for path in run.instance.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path.name, oct(mode))


# --- background answers ----------------------------------------------------------------------


def _rows(run: _Run, table: str) -> list[dict[str, Any]]:
    assert run.engine is not None
    with run.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(text(f"SELECT * FROM {table}"))]


def test_every_answer_arrived_and_the_supervisors_is_among_them(run: _Run) -> None:
    import json

    rows = _rows(run, "responses")
    decoded = sorted(
        decode_answers(r["answers"] if isinstance(r["answers"], dict) else json.loads(r["answers"]))
        for r in rows
    )
    assert decoded == list(range(TEAM))


def test_no_column_of_a_response_row_tells_the_supervisors_apart(run: _Run) -> None:
    """Besides the answers themselves (which the attacker does not know) and a random id, every
    stored column is the same for all six: nothing says which row is the supervisor's."""
    rows = _rows(run, "responses")
    assert len(rows) == TEAM
    for column in rows[0]:
        if column in {"id", "answers", "comment"}:
            continue
        assert len({str(r[column]) for r in rows}) == 1, column


def test_no_stored_row_puts_a_background_answer_or_a_language_next_to_the_team(run: _Run) -> None:
    """Every table with a unit column, read whole: none holds a role, tenure or language."""
    assert run.engine is not None
    with run.engine.connect() as connection:
        tables = [
            name
            for (name,) in connection.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    if run.admin is None
                    else "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema()"
                )
            )
        ]
    for table in tables:
        rows = _rows(run, table)
        if not rows or "unit_id" not in rows[0]:
            continue
        if table in ("roster_entries", "invitations"):
            # The staff list and the invitations made from it: who is on which team and which
            # language their email is in, known to the agency anyway; no answer is on them.
            continue
        for row in rows:
            text_of_row = " ".join(f"{k}={v}" for k, v in row.items()).lower()
            for word in ("role", "tenure", "language", "background", '"es"'):
                assert word not in text_of_row, (table, row)


def test_the_counters_know_one_supervisor_but_not_which_answers_and_publish_nothing(
    run: _Run,
) -> None:
    with Session(run.engine) as session:
        stored = {
            (c.question, c.option): c.count
            for c in session.scalars(
                select(BackgroundCount).where(BackgroundCount.wave_id == run.wave_id)
            )
        }
        assert stored[("role", 2)] == 1 and stored[("role", 1)] == TEAM - 1
        tables = {t.question: t for t in background.background_tables(session, run.wave_id)}
        assert tables["role"].counts is None  # 1 supervisor < 5: the question is hidden
        assert tables[background.LANGUAGE_QUESTION].counts is None  # 1 Spanish speaker
        # The lone Spanish speaker's answers are in no per-language sum, and nothing waits.
        spanish = session.scalars(
            select(LanguageItemSums.item_a).where(
                LanguageItemSums.wave_id == run.wave_id, LanguageItemSums.language == "es"
            )
        ).all()
        assert spanish == []
        assert session.scalars(select(LanguageHoldback.id)).all() == []
        assert session.scalars(select(Response.id)).all()
