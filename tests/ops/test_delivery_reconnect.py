"""The mailer's batch through a lost database connection, in-process and fast: the same call
carries on after the database answers again, and no re-stored outcome or give-back touches a
row that is no longer the batch's own claim. (A real PostgreSQL restart under a worker process:
test_workers_postgres_redis.py.)"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.db import make_engine
from app.migrate import upgrade
from app.models import DeliveryStatus, Invitation, utcnow
from app.services import delivery, mail
from tests.admin.conftest import launch_lake
from tests.conftest import TEST_KEYS


class _Counting:
    """A mail connection that accepts everything and counts recipients."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def send(self, message: EmailMessage, wave_id: int | None = None) -> mail.SendResult:
        self.sent[str(message["To"])] += 1
        return mail.SendResult(mail.Outcome.SENT, "250 accepted")

    def close(self) -> None:
        pass


class _Mailer:
    def __init__(self) -> None:
        self.connection = _Counting()

    def connect(self) -> _Counting:
        return self.connection


def _dropped(statement: str) -> OperationalError:
    return OperationalError(
        statement, {}, ConnectionError("server closed the connection"), connection_invalidated=True
    )


def _launch(session: Session, people: int) -> list[int]:
    launch_lake(session, people)
    return list(session.scalars(select(Invitation.id).order_by(Invitation.id)))


@pytest.fixture
def launched(tmp_path: Path) -> tuple[Engine, list[int]]:
    """A file database of its own: the batch must own its engine to reconnect."""
    engine = make_engine(f"sqlite:///{tmp_path / 'mail.sqlite3'}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as session:
        ids = _launch(session, 35)
    return engine, ids


def _deliver(engine: Engine, ids: list[int], mailer: _Mailer) -> delivery.DeliveryReport:
    with Session(engine) as session:
        return delivery.deliver(
            session,
            ids,
            mailer,
            mailer_keys=TEST_KEYS.mailer,
            public_url="https://survey.example.org",
            mail_from="survey@example.org",
        )


def _states(engine: Engine) -> Counter[DeliveryStatus]:
    with Session(engine) as session:
        return Counter(session.scalars(select(Invitation.delivery_status)))


def test_a_connection_lost_mid_transaction_and_the_batch_carries_on(
    launched: tuple[Engine, list[int]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, ids = launched
    real_claim = delivery._claim_rows
    calls: list[int] = []

    def claim_then_drop(session: Session, chunk: Any, now: Any) -> list[delivery.Claim]:
        calls.append(len(chunk))
        claims = real_claim(session, chunk, now)
        if len(calls) == 2:  # the first group is sent, its outcomes are in this transaction
            raise _dropped("UPDATE invitations")
        return claims

    monkeypatch.setattr(delivery, "_claim_rows", claim_then_drop)
    mailer = _Mailer()
    with caplog.at_level(logging.WARNING, logger="app.services.delivery"):
        report = _deliver(engine, ids, mailer)
    assert "database connection lost while delivering a batch" in caplog.text
    assert "@" not in caplog.text, "a log line named an address"
    assert report.sent == len(ids) == 35
    assert set(mailer.connection.sent.values()) == {1} and len(mailer.connection.sent) == 35
    assert _states(engine) == {DeliveryStatus.SENT: 35}, "an invitation left in doubt"
    engine.dispose()


def test_a_commit_whose_fate_the_lost_connection_hid_is_not_sent_twice(
    launched: tuple[Engine, list[int]],
) -> None:
    engine, ids = launched
    commits: list[int] = []

    def drop_after_the_second_commit(session: Session) -> None:
        commits.append(1)
        if len(commits) == 2:  # committed (the second group's claims), then the answer is lost
            raise _dropped("COMMIT")

    event.listen(Session, "after_commit", drop_after_the_second_commit)
    try:
        mailer = _Mailer()
        report = _deliver(engine, ids, mailer)
    finally:
        event.remove(Session, "after_commit", drop_after_the_second_commit)
    assert max(mailer.connection.sent.values()) == 1 and len(mailer.connection.sent) == 35
    assert report.sent == 35
    assert _states(engine) == {DeliveryStatus.SENT: 35}
    engine.dispose()


def test_stored_again_an_outcome_or_give_back_never_touches_a_later_claim(
    session: Session,
) -> None:
    # The test database of the leg (SQLite or PostgreSQL): the lease must compare exactly.
    ids = _launch(session, 1)
    first_at = utcnow()
    (first,) = delivery._claim_rows(session, ids[:1], first_at)
    session.commit()
    delivery._release(session, [first])  # given back and committed …
    session.commit()
    # … and taken again by another worker, a moment later.
    (second,) = delivery._claim_rows(session, ids[:1], first_at + timedelta(seconds=1))
    session.commit()
    # The first batch, not knowing its give-back was committed, stores it (and an outcome)
    # again after reconnecting: neither may touch the second worker's claim.
    delivery._release(session, [first])
    delivery.record(session, first, mail.SendResult(mail.Outcome.SENT, "250"), utcnow())
    row = session.execute(
        select(Invitation.delivery_status, Invitation.next_attempt_at).where(
            Invitation.id == ids[0]
        )
    ).one()
    assert row == (DeliveryStatus.SENDING, second.lease_until)
    delivery.record(session, second, mail.SendResult(mail.Outcome.SENT, "250"), utcnow())
    status = session.scalar(select(Invitation.delivery_status).where(Invitation.id == ids[0]))
    assert status == DeliveryStatus.SENT
