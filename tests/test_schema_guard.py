"""Guards of the anonymity model in the schema itself (DESIGN.md, "The anonymity model").

If someone adds a column that could time, order or link a response, these tests fail.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import Engine, inspect

import surveys
from app.models import Response, Wave
from app.models.base import random_uuid

#: Tables that hold answers and must never be linkable to a person, an invitation or a time.
ANSWER_TABLES = ("responses", "pending_responses", "drafts")
FORBIDDEN_WORDS = {
    "at",
    "on",
    "time",
    "timestamp",
    "ts",
    "date",
    "day",
    "created",
    "updated",
    "modified",
    "submitted",
    "ip",
    "addr",
    "address",
    "agent",
    "ua",
    "invitation",
    "token",
    "email",
    "user",
    "seq",
    "sequence",
    "order",
    "position",
    "rank",
    "session",
    "client",
    "host",
}


def _suspicious(column: str) -> bool:
    words = set(column.lower().split("_"))
    return bool(words & FORBIDDEN_WORDS) or "time" in column.lower()


@pytest.mark.parametrize("table", ANSWER_TABLES)
def test_answer_tables_have_no_link_to_invitations_or_users(engine: Engine, table: str) -> None:
    foreign = {fk["referred_table"] for fk in inspect(engine).get_foreign_keys(table)}
    assert foreign <= {"waves", "org_units"}, f"{table} references {foreign}"


@pytest.mark.parametrize("table", ANSWER_TABLES)
def test_answer_tables_have_no_time_ip_agent_or_link_columns(engine: Engine, table: str) -> None:
    columns = [c["name"] for c in inspect(engine).get_columns(table)]
    suspicious = [c for c in columns if _suspicious(c)]
    assert suspicious == [], f"{table} has columns that could time or link an answer: {suspicious}"


def test_response_columns_are_exactly_the_anonymous_set(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("responses")}
    assert columns == {"id", "wave_id", "unit_id", "answers", "comment"}


#: Who someone is, besides their answers: next to a unit, each of these picks a person out.
BACKGROUND_WORDS = {"background", "role", "tenure", "language", "lang", "locale", "demographic"}


def _background_words() -> set[str]:
    """The fixed words and every background question key of every shipped instrument."""
    keys = {q.key for instrument in surveys.list_instruments() for q in instrument.background}
    return BACKGROUND_WORDS | keys


@pytest.mark.parametrize("table", ANSWER_TABLES)
def test_answer_tables_have_no_background_or_language_column(engine: Engine, table: str) -> None:
    words = _background_words()
    columns = [c["name"] for c in inspect(engine).get_columns(table)]
    found = [c for c in columns if set(c.lower().split("_")) & words or c.lower() in words]
    assert found == [], f"{table} has columns that could single a person out: {found}"


@pytest.mark.parametrize("table", ["background_counts", "language_item_sums", "language_holdbacks"])
def test_background_aggregates_have_no_unit(engine: Engine, table: str) -> None:
    """Background answers are kept per jurisdiction only: no unit column, no link to a unit."""
    columns = {c["name"] for c in inspect(engine).get_columns(table)}
    assert not any("unit" in c for c in columns), columns
    foreign = {fk["referred_table"] for fk in inspect(engine).get_foreign_keys(table)}
    assert foreign <= {"waves", "jurisdictions"}, f"{table} references {foreign}"


def test_response_ids_are_random_uuids_not_sequences(engine: Engine) -> None:
    column = next(c for c in inspect(engine).get_columns("responses") if c["name"] == "id")
    assert not column.get("autoincrement") or column["autoincrement"] == "auto"
    assert "String" in type(Response.__table__.c.id.type).__name__ or "VARCHAR" in str(
        column["type"]
    )
    ids = {random_uuid() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(uuid.UUID(i).version == 4 for i in ids)
    assert Response.__table__.c.id.default is not None


def test_invitations_record_no_completion_time(engine: Engine) -> None:
    columns = {c["name"] for c in inspect(engine).get_columns("invitations")}
    assert "completed" in columns
    assert not any(re.search(r"complet\w*_(at|time|on)|answered_at|submitted", c) for c in columns)
    assert "token" not in columns, "only the token's SHA-256 may be stored"


def test_wave_keeps_its_anonymity_settings() -> None:
    assert {"min_report_n", "pool_k"} <= set(Wave.__table__.c.keys())
