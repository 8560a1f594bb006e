"""Revision 0016 drops jurisdictions.shares_benchmarks and keeps every row that points at one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, inspect, text

from app.migrate import downgrade, upgrade
from tests.conftest import empty_database


@pytest.fixture
def engine_at_0015(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A database of the suite's kind migrated to 0015, the revision before the drop."""
    with empty_database(database_url, tmp_path, "m16") as (engine, _admin):
        upgrade(engine, "0015")
        yield engine


def _columns(engine: Engine, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table)}


def _seed(engine: Engine) -> None:
    """Two jurisdictions, one not sharing, each with an agency and a team below it."""
    tables = MetaData()
    tables.reflect(engine)
    jurisdictions, units = tables.tables["jurisdictions"], tables.tables["org_units"]
    now = datetime(2026, 11, 20, 12, 0)
    with engine.begin() as connection:
        for slug, shares in (("lake", True), ("hill", False)):
            jid = connection.execute(
                jurisdictions.insert()
                .values(name=slug.title(), slug=slug, shares_benchmarks=shares, created_at=now)
                .returning(jurisdictions.c.id)
            ).scalar_one()
            agency = connection.execute(
                units.insert()
                .values(jurisdiction_id=jid, name=slug, path="", kind="agency", active=True)
                .returning(units.c.id)
            ).scalar_one()
            connection.execute(
                units.insert().values(
                    jurisdiction_id=jid,
                    parent_id=agency,
                    name="Team 1",
                    path="Team 1",
                    kind="team",
                    active=True,
                )
            )


def _rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [
            (row[0], row[1])
            for row in connection.execute(
                text(
                    "SELECT j.slug, u.path FROM org_units u "
                    "JOIN jurisdictions j ON j.id = u.jurisdiction_id ORDER BY j.slug, u.path"
                )
            )
        ]


def test_dropping_the_flag_keeps_jurisdictions_and_their_units(engine_at_0015: Engine) -> None:
    _seed(engine_at_0015)
    before = _rows(engine_at_0015)
    assert len(before) == 4
    upgrade(engine_at_0015, "0016")
    assert "shares_benchmarks" not in _columns(engine_at_0015, "jurisdictions")
    assert _rows(engine_at_0015) == before


def test_going_back_restores_the_flag_as_true_and_keeps_the_units(engine_at_0015: Engine) -> None:
    _seed(engine_at_0015)
    before = _rows(engine_at_0015)
    upgrade(engine_at_0015, "0016")
    downgrade(engine_at_0015, "0015")
    assert _rows(engine_at_0015) == before
    with engine_at_0015.connect() as connection:
        flags = connection.execute(
            text("SELECT slug, shares_benchmarks FROM jurisdictions ORDER BY slug")
        ).all()
    # The choice made before 0016 is gone with the column; every jurisdiction gets the default.
    assert [(slug, bool(flag)) for slug, flag in flags] == [("hill", True), ("lake", True)]
    nullable = {
        c["name"]: c["nullable"] for c in inspect(engine_at_0015).get_columns("jurisdictions")
    }
    assert nullable["shares_benchmarks"] is False
