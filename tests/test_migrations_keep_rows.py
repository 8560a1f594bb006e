"""Upgrading keeps every row: no migration may lose data that points at the table it alters.

On SQLite, Alembic's batch mode may copy a table to alter it; dropping the old copy then cascades
into every table with a foreign key to it (``ON DELETE CASCADE``) and silently empties them. A
database at 0010 (the release before the data-steward column) with a leader assigned to two units
is upgraded to the head: every assignment must still be there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, func, select

from app.migrate import downgrade, upgrade
from tests.conftest import empty_database


@pytest.fixture
def engine_at_0010(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    with empty_database(database_url, tmp_path, "keep") as (engine, _admin):
        upgrade(engine, "0010")
        yield engine


def _counts(engine: Engine) -> dict[str, int]:
    tables = MetaData()
    tables.reflect(engine)
    with engine.connect() as connection:
        return {
            name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in tables.tables.items()
            if name != "alembic_version"
        }


def _leader_with_units(engine: Engine, **jurisdiction: object) -> None:
    """A jurisdiction with an agency and a team, and a leader assigned to both (at whatever
    revision the database is: ``jurisdiction`` gives the columns that revision requires)."""
    tables = MetaData()
    tables.reflect(engine)
    t = tables.tables
    now = datetime(2026, 11, 20, 12, 0)
    with engine.begin() as connection:
        jid = connection.execute(
            t["jurisdictions"]
            .insert()
            .values(name="Lake", slug="lake", created_at=now, **jurisdiction)
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


def test_upgrading_from_0010_keeps_every_row(engine_at_0010: Engine) -> None:
    _leader_with_units(engine_at_0010, shares_benchmarks=True)  # a column 0016 drops
    before = _counts(engine_at_0010)
    assert before["user_units"] == 2
    upgrade(engine_at_0010)
    after = _counts(engine_at_0010)
    assert {name: after[name] for name in before} == before


def test_downgrading_to_0005_keeps_every_leaders_units(engine_at_0010: Engine) -> None:
    """The way back keeps them too (an operator undoing a release must not lose assignments)."""
    upgrade(engine_at_0010)
    _leader_with_units(engine_at_0010)
    downgrade(engine_at_0010, "0005")
    assert _counts(engine_at_0010)["user_units"] == 2
