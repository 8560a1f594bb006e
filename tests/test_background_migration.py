"""Migration 0004 on a database holding responses with background answers (SQLite, PostgreSQL).

An installation upgraded mid-wave keeps every response and every background answer (now as
counters), and no copy of the dropped column's values stays in the database's files.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, insert, inspect, select, text
from sqlalchemy.orm import Session

import surveys
from app.migrate import alembic_config, upgrade
from app.models import LANGUAGE_QUESTION, BackgroundCount, Response
from app.services import background
from surveys.loader import instrument_to_dict
from tests.conftest import empty_database

MARKER = "zzbackgroundmarker"


@pytest.fixture
def database(database_url: str, tmp_path: Path) -> Iterator[tuple[Engine, Engine | None]]:
    """An empty database of the suite's kind (and, on PostgreSQL, an admin engine)."""
    with empty_database(database_url, tmp_path, "bgmig", extensions=("pageinspect",)) as found:
        yield found


def _before_0004(engine: Engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine))
    down = script.get_revision("0004").down_revision
    assert isinstance(down, str)
    return down


#: (role, tenure) of each stored response of the one team: one supervisor (role 2).
ANSWERS = [(1, 1), (1, 2), (2, 4), (1, 2), (None, 3), (1, None)]


def _seed_old_schema(engine: Engine) -> int:
    instrument = surveys.load_default()
    tables = MetaData()
    tables.reflect(engine)
    now = datetime(2026, 11, 20, 12, 0)
    with engine.begin() as connection:
        jurisdiction = connection.execute(
            insert(tables.tables["jurisdictions"]).returning(tables.tables["jurisdictions"].c.id),
            {
                "name": "Upgrade County",
                "slug": "upgrade",
                "shares_benchmarks": True,
                "created_at": now,
            },
        ).scalar_one()
        instrument_id = connection.execute(
            insert(tables.tables["instruments"]).returning(tables.tables["instruments"].c.id),
            {
                "key": instrument.key,
                "version": instrument.version,
                "definition": instrument_to_dict(instrument),
                "checksum": instrument.checksum,
                "created_at": now,
            },
        ).scalar_one()
        unit = connection.execute(
            insert(tables.tables["org_units"]).returning(tables.tables["org_units"].c.id),
            {
                "jurisdiction_id": jurisdiction,
                "name": "Team 1",
                "path": "Team 1",
                "kind": "team",
                "active": True,
            },
        ).scalar_one()
        wave = connection.execute(
            insert(tables.tables["waves"]).returning(tables.tables["waves"].c.id),
            {
                "jurisdiction_id": jurisdiction,
                "instrument_id": instrument_id,
                "year": 2026,
                "opens_at": now - timedelta(days=3),
                "closes_at": now + timedelta(days=20),
                "timezone": "UTC",
                "status": "open",
                "min_report_n": 3,
                "pool_k": 10,
                "reminder_max": 2,
                "reminder_min_days": 7,
                "reminders_sent": 0,
                "created_at": now,
            },
        ).scalar_one()
        rows = []
        for index, (role, tenure) in enumerate(ANSWERS):
            answers = {"role": role, "tenure": tenure, MARKER: index}
            rows.append(
                {
                    "id": str(uuid.uuid4()),
                    "wave_id": wave,
                    "unit_id": unit,
                    "answers": {"ps1": 1 + index % 5},
                    "background": {k: v for k, v in answers.items() if v is not None},
                    "comment": None,
                }
            )
        connection.execute(insert(tables.tables["responses"]), rows)
    return int(wave)


def _raw_files_hold(engine: Engine, needle: bytes) -> list[str]:
    database = Path(str(engine.url.database))
    return [
        path.name
        for path in database.parent.glob(database.name + "*")
        if needle in path.read_bytes()
    ]


def _raw_pages_hold(engine: Engine, admin: Engine, table: str, needle: bytes) -> int:
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
        pages = connection.execute(
            text(f"SELECT pg_relation_size('{table}') / current_setting('block_size')::int")
        ).scalar_one()
    found = 0
    with admin.connect() as connection:
        for page in range(int(pages)):
            raw = connection.execute(
                text("SELECT public.get_raw_page(:rel, :page)"),
                {"rel": f"{schema}.{table}", "page": page},
            ).scalar_one()
            found += needle in bytes(raw)
    return found


def test_upgrade_moves_background_answers_into_counters_and_leaves_no_copy(
    database: tuple[Engine, Engine | None],
) -> None:
    engine, admin = database
    upgrade(engine, _before_0004(engine))
    wave_id = _seed_old_schema(engine)
    needle = MARKER.encode()
    if admin is None:
        assert _raw_files_hold(engine, needle), "the seeded rows are not where the test looks"
    else:
        assert _raw_pages_hold(engine, admin, "responses", needle) > 0

    upgrade(engine)

    assert "background" not in {c["name"] for c in inspect(engine).get_columns("responses")}
    with Session(engine) as session:
        assert len(session.scalars(select(Response.id)).all()) == len(ANSWERS)
        counts = {
            (row.question, row.option): row.count
            for row in session.scalars(
                select(BackgroundCount).where(BackgroundCount.wave_id == wave_id)
            )
        }
        # Counted by hand from ANSWERS: roles 1,1,2,1,-,1 and tenures 1,2,4,2,3,-.
        assert counts == {
            ("role", 0): 1,
            ("role", 1): 4,
            ("role", 2): 1,
            ("tenure", 0): 1,
            ("tenure", 1): 1,
            ("tenure", 2): 2,
            ("tenure", 3): 1,
            ("tenure", 4): 1,
            (LANGUAGE_QUESTION, 0): 6,
        }
        # min_report_n 3: the role (1 supervisor) and tenure (cells of 1 and 2) stay hidden.
        tables = {t.question: t for t in background.background_tables(session, wave_id)}
        assert not tables["role"].shown and tables["role"].counts is None
        assert not tables["tenure"].shown
    if admin is None:
        assert _raw_files_hold(engine, needle) == []
    else:
        assert _raw_pages_hold(engine, admin, "responses", needle) == 0
