"""Upgrading keeps every row: no migration may lose data that points at the table it alters.

On SQLite, Alembic's batch mode may copy a table to alter it; dropping the old copy then cascades
into every table with a foreign key to it (``ON DELETE CASCADE``) and silently empties them. A
database at 0010 (the release before the data-steward column) with a leader assigned to two units
is upgraded to the head: every assignment must still be there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, func, select, text

from app.db import make_engine
from app.migrate import upgrade
from tests.conftest import is_postgres


@pytest.fixture
def engine_at_0010(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    if not is_postgres():
        engine = make_engine(f"sqlite:///{tmp_path / 'at-0010.sqlite3'}")
        upgrade(engine, "0010")
        yield engine
        engine.dispose()
        return
    schema = f"keep_{uuid.uuid4().hex[:12]}"
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine, "0010")
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _counts(engine: Engine) -> dict[str, int]:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in tables.tables.items()
            if name != "alembic_version"
        }


def test_upgrading_from_0010_keeps_every_row(engine_at_0010: Engine) -> None:
    tables = MetaData()
    tables.reflect(engine_at_0010)
    t = tables.tables
    now = datetime(2026, 11, 20, 12, 0)
    with engine_at_0010.begin() as connection:
        jid = connection.execute(
            t["jurisdictions"]
            .insert()
            .values(name="Lake", slug="lake", shares_benchmarks=True, created_at=now)
            .returning(t["jurisdictions"].c.id)
        ).scalar_one()
        units = [
            connection.execute(
                t["org_units"]
                .insert()
                .values(jurisdiction_id=jid, name=name, path=path, kind=kind, active=True)
                .returning(t["org_units"].c.id)
            ).scalar_one()
            for name, path, kind in (("Lake", "", "agency"), ("Team 1", "Team 1", "team"))
        ]
        uid = connection.execute(
            t["users"]
            .insert()
            .values(
                email="leader@lake.example",
                password_hash="x",
                role="leader",
                jurisdiction_id=jid,
                active=True,
                failed_logins=0,
                created_at=now,
            )
            .returning(t["users"].c.id)
        ).scalar_one()
        for unit in units:
            connection.execute(t["user_units"].insert().values(user_id=uid, unit_id=unit))
    before = _counts(engine_at_0010)
    assert before["user_units"] == 2
    upgrade(engine_at_0010)
    after = _counts(engine_at_0010)
    assert {name: after[name] for name in before} == before


def test_downgrading_to_0005_keeps_every_leaders_units(engine_at_0010: Engine) -> None:
    """The way back keeps them too (an operator undoing a release must not lose assignments)."""
    from app.migrate import downgrade

    upgrade(engine_at_0010)
    tables = MetaData()
    tables.reflect(engine_at_0010)
    t = tables.tables
    now = datetime(2026, 11, 20, 12, 0)
    with engine_at_0010.begin() as connection:
        jid = connection.execute(
            t["jurisdictions"]
            .insert()
            .values(name="Lake", slug="lake", created_at=now)
            .returning(t["jurisdictions"].c.id)
        ).scalar_one()
        unit = connection.execute(
            t["org_units"]
            .insert()
            .values(jurisdiction_id=jid, name="Lake", path="", kind="agency", active=True)
            .returning(t["org_units"].c.id)
        ).scalar_one()
        uid = connection.execute(
            t["users"]
            .insert()
            .values(
                email="leader@lake.example",
                password_hash="x",
                role="leader",
                jurisdiction_id=jid,
                active=True,
                failed_logins=0,
                created_at=now,
            )
            .returning(t["users"].c.id)
        ).scalar_one()
        connection.execute(t["user_units"].insert().values(user_id=uid, unit_id=unit))
    downgrade(engine_at_0010, "0005")
    assert _counts(engine_at_0010)["user_units"] == 1
