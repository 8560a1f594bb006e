"""Invitations and reminders over a real SMTP server on loopback: once each, faults included."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import tasks
from app.db import get_database
from app.models import DeliveryStatus, Invitation, Jurisdiction, Wave, utcnow
from app.services import delivery, mail, roster, tokens, waves
from tests.conftest import TEST_KEYS, make_test_app

from .conftest import roster_csv
from .smtp_server import ScriptedHandler, SmtpServer, html_of, text_of, token_of

TODAY = date.today()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def smtp_app(engine, session_factory, tmp_path: Path, port: int) -> Flask:  # type: ignore[no-untyped-def]
    app = _make(engine, tmp_path, port)
    get_database(app).sessions = session_factory
    return app


def _make(engine, tmp_path: Path, port: int) -> Flask:  # type: ignore[no-untyped-def]
    return make_test_app(
        engine,
        tmp_path,
        MAIL_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
        MAIL_RATE_PER_MINUTE=1_000_000,
        PUBLIC_URL="https://survey.example.org",
    )


def open_wave(
    session: Session,
    jurisdiction: Jurisdiction,
    people: list[tuple[str, str, str]],
    **settings: int,
) -> Wave:
    roster.import_roster(session, None, jurisdiction.id, roster_csv(people))
    wave = waves.create_wave(
        session,
        None,
        jurisdiction_id=jurisdiction.id,
        year=TODAY.year,
        instrument_key="team-safety-culture",
        opens=TODAY,
        closes=TODAY + timedelta(days=21),
        timezone="America/Chicago",
        **settings,
    )
    waves.launch_wave(session, None, wave.id, mailer_public=TEST_KEYS.mailer_public)
    return wave


def people(n: int, unit: str = "Region 1 / Team A") -> list[tuple[str, str, str]]:
    return [(f"person{i}@lake.example", unit, "es" if i % 4 == 0 else "en") for i in range(n)]


def test_each_invitation_gets_one_message_with_a_working_distinct_link(
    engine, session_factory, session: Session, lake: Jurisdiction, tmp_path: Path, smtp: SmtpServer
) -> None:
    app = smtp_app(engine, session_factory, tmp_path, smtp.port)
    wave = open_wave(session, lake, people(12))
    with app.app_context():
        tasks.init_app(app)
        assert tasks.dispatch(wave.id) == 1
        tasks.dispatch(wave.id)  # a second dispatch finds nothing due
    assert smtp.handler.recipients() == {f"person{i}@lake.example": 1 for i in range(12)}
    hashes = set(
        session.scalars(select(Invitation.token_hash).where(Invitation.wave_id == wave.id))
    )
    links = [token_of(m) for m in smtp.handler.messages]
    assert len(set(links)) == 12
    assert {tokens.hash_token(t) for t in links} == hashes
    for message in smtp.handler.messages:
        assert f"https://survey.example.org/s/{token_of(message)}" in html_of(message)
    statuses = set(
        session.scalars(select(Invitation.delivery_status).where(Invitation.wave_id == wave.id))
    )
    assert statuses == {DeliveryStatus.SENT}


def test_messages_are_in_the_person_language_with_closing_day_and_privacy_promise(
    engine, session_factory, session: Session, lake: Jurisdiction, tmp_path: Path, smtp: SmtpServer
) -> None:
    app = smtp_app(engine, session_factory, tmp_path, smtp.port)
    open_wave(session, lake, [("ana@x.org", "T", "es"), ("bob@x.org", "T", "en")])
    with app.app_context():
        tasks.init_app(app)
        tasks.dispatch()
    by_to = {str(m["To"]): m for m in smtp.handler.messages}
    closing = TODAY + timedelta(days=21)
    spanish = text_of(by_to["ana@x.org"])
    assert "Su enlace personal" in spanish and "privacidad" in spanish
    assert f"{closing.day} de " in spanish and str(closing.year) in spanish
    english = text_of(by_to["bob@x.org"])
    assert "Your privacy" in english and closing.strftime("%B") in english
    assert "Reminder" not in str(by_to["bob@x.org"]["Subject"])


def test_messages_carry_date_message_id_and_a_sender_name_spam_filters_expect(
    engine, session_factory, session: Session, lake: Jurisdiction, tmp_path: Path, smtp: SmtpServer
) -> None:
    app = smtp_app(engine, session_factory, tmp_path, smtp.port)
    open_wave(session, lake, [("ana@x.org", "T", "es"), ("bob@x.org", "T", "en")])
    before = datetime.now(UTC) - timedelta(minutes=1)
    with app.app_context():
        tasks.init_app(app)
        tasks.dispatch()
    by_to = {str(m["To"]): m for m in smtp.handler.messages}
    assert set(by_to) == {"ana@x.org", "bob@x.org"}
    ids = set()
    for message in by_to.values():
        sent = parsedate_to_datetime(str(message["Date"]))
        assert before <= sent <= datetime.now(UTC) + timedelta(minutes=1)
        ids.add(str(message["Message-ID"]))
        name, address = parseaddr(str(message["From"]))
        assert address == app.config["MAIL_FROM"] and "Lake County" in name
    assert len(ids) == 2 and all(i.startswith("<") and i.endswith(">") for i in ids)
    assert "Encuesta" in parseaddr(str(by_to["ana@x.org"]["From"]))[0]


def test_second_reminder_reaches_only_those_who_had_not_answered_by_then(
    engine, session_factory, session: Session, lake: Jurisdiction, tmp_path: Path, smtp: SmtpServer
) -> None:
    app = smtp_app(engine, session_factory, tmp_path, smtp.port)
    wave = open_wave(session, lake, people(10), reminder_max=2, reminder_min_days=3)

    def answer(*numbers: int) -> None:
        session.execute(
            update(Invitation)
            .where(Invitation.email.in_([f"person{i}@lake.example" for i in numbers]))
            .values(completed=True)
        )
        session.commit()

    with app.app_context():
        tasks.init_app(app)
        tasks.dispatch()
        answer(0, 1, 2)
        assert waves.remind_wave(session, None, wave.id) == 7
        with pytest.raises(waves.WaveStateError, match="3 days apart"):
            waves.remind_wave(session, None, wave.id)
        answer(3)  # answers after the reminder was asked for, before it is sent
        tasks.dispatch()
        first = smtp.handler.recipients()
        answer(4, 5)
        later = utcnow() + timedelta(days=4)
        assert waves.remind_wave(session, None, wave.id, now=later) == 4
        tasks.dispatch()
        with pytest.raises(waves.WaveStateError, match="2 planned reminders"):
            waves.remind_wave(session, None, wave.id, now=later + timedelta(days=9))
    total = smtp.handler.recipients()
    second = total - first
    assert set(first - Counter_of(range(10))) == {f"person{i}@lake.example" for i in range(4, 10)}
    assert second == Counter_of(range(6, 10))
    reminders = [
        m
        for m in smtp.handler.messages
        if "Reminder" in str(m["Subject"]) or "Recordatorio" in str(m["Subject"])
    ]
    assert len(reminders) == 6 + 4


def Counter_of(numbers: range) -> Counter[str]:
    return Counter(f"person{i}@lake.example" for i in numbers)


def test_refused_connections_then_451_and_550_end_with_each_sent_once_and_550_bounced(
    engine, session_factory, session: Session, lake: Jurisdiction, tmp_path: Path
) -> None:
    handler = ScriptedHandler()
    server = SmtpServer(handler)  # not started: connections are refused
    app = smtp_app(engine, session_factory, tmp_path, server.port)
    everyone = people(40)
    wave = open_wave(session, lake, everyone)
    retry_later = {f"person{i}@lake.example" for i in range(0, 40, 5)}
    refused = {f"person{i}@lake.example" for i in range(3, 40, 7)}
    for address in retry_later:
        handler.script[address] = ["451 4.7.1 Greylisted, try again later"] * 2
    for address in refused:
        handler.always[address] = f"550 5.1.1 <{address}>: Recipient address rejected"
    now = utcnow()
    clock = [now]
    with app.app_context():
        tasks.init_app(app)
        report = _deliver_due(session, app, clock[0])
        assert report.unreachable == 1 and report.sent == 0
        rows = session.scalars(
            select(Invitation).where(Invitation.wave_id == wave.id).order_by(Invitation.id)
        ).all()
        assert {r.delivery_status for r in rows} == {DeliveryStatus.QUEUED}
        assert all(r.attempts == 0 for r in rows)
        assert "server not reachable" in (rows[0].delivery_detail or "")

        server.start()
        try:
            for _ in range(20):
                clock[0] += timedelta(minutes=10)
                _deliver_due(session, app, clock[0])
                if not delivery.due_batches(session, clock[0] + timedelta(hours=2)):
                    break
        finally:
            server.stop()
    deliverable = {a for a, _, _ in everyone} - refused
    assert handler.recipients() == {a: 1 for a in deliverable}
    session.expire_all()
    status = dict(
        session.execute(
            select(Invitation.email, Invitation.delivery_status).where(
                Invitation.wave_id == wave.id
            )
        ).all()
    )
    assert {a for a, s in status.items() if s == DeliveryStatus.BOUNCED} == refused
    assert {a for a, s in status.items() if s == DeliveryStatus.SENT} == deliverable
    details = dict(delivery.failed_details(session, wave.id))
    assert details == {"550 5.1.1 <address>: Recipient address rejected": len(refused)}


def _deliver_due(session: Session, app: Flask, now: datetime) -> delivery.DeliveryReport:
    total = delivery.DeliveryReport()
    for batch in delivery.due_batches(session, now):
        report = delivery.deliver(
            session,
            batch,
            mail.mailer_from_config(app.config, app.instance_path),
            mailer_keys=TEST_KEYS.mailer,
            public_url=app.config["PUBLIC_URL"],
            mail_from=app.config["MAIL_FROM"],
            clock=lambda: now,
        )
        for name in ("sent", "retry", "bounced", "failed", "unreachable", "skipped"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
    return total


class _FakeConnection:
    def __init__(self, results: list[mail.SendResult]) -> None:
        self.results = results
        self.sent: list[str] = []

    def send(self, message: object, wave_id: int) -> mail.SendResult:
        self.sent.append(str(message["To"]))  # type: ignore[index]
        return self.results.pop(0) if self.results else mail.SendResult(mail.Outcome.SENT, "250")

    def close(self) -> None:
        pass


class _FakeMailer:
    def __init__(self, results: list[mail.SendResult]) -> None:
        self.connection = _FakeConnection(results)

    def connect(self) -> _FakeConnection:
        return self.connection


def _fake_deliver(session: Session, ids: list[int], mailer: _FakeMailer, now: datetime) -> None:
    delivery.deliver(
        session,
        ids,
        mailer,
        mailer_keys=TEST_KEYS.mailer,
        public_url="https://x",
        mail_from="s@x",
        clock=lambda: now,
    )


def test_a_claim_is_taken_once_even_by_two_workers(session: Session, lake: Jurisdiction) -> None:
    wave = open_wave(session, lake, people(1))
    invitation_id = session.scalars(
        select(Invitation.id).where(Invitation.wave_id == wave.id)
    ).one()
    now = utcnow()
    assert delivery.claim(session, invitation_id, now) is not None
    assert delivery.claim(session, invitation_id, now) is None


def test_interrupted_send_is_flagged_for_an_operator_never_resent_automatically(
    session: Session, lake: Jurisdiction
) -> None:
    wave = open_wave(session, lake, people(3))
    ids = list(session.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)))
    now = utcnow()
    assert delivery.claim(session, ids[0], now) is not None  # the worker dies here
    mailer = _FakeMailer([])
    _fake_deliver(session, ids, mailer, now)
    assert len(mailer.connection.sent) == 2
    later = now + delivery.CLAIM_LEASE + timedelta(seconds=1)
    assert delivery.due_batches(session, later) == []
    assert delivery.recover_interrupted(session, later) == 1
    assert delivery.due_batches(session, later) == []
    counts = delivery.status_counts(session, wave.id)
    assert (counts.sent, counts.failed, counts.needs_confirmation) == (2, 1, 1)
    assert waves.retry_failed(session, None, wave.id) == 1
    _fake_deliver(session, ids, mailer, later)
    assert len(mailer.connection.sent) == 3
    assert delivery.status_counts(session, wave.id).sent == 3


def test_unknown_outcome_is_failed_not_retried(session: Session, lake: Jurisdiction) -> None:
    wave = open_wave(session, lake, people(1))
    ids = list(session.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)))
    mailer = _FakeMailer([mail.SendResult(mail.Outcome.UNKNOWN, "connection lost")])
    now = utcnow()
    _fake_deliver(session, ids, mailer, now)
    assert delivery.due_batches(session, now + timedelta(days=1)) == []
    assert delivery.status_counts(session, wave.id).needs_confirmation == 1


def test_4xx_is_retried_with_growing_delays_then_fails(
    session: Session, lake: Jurisdiction
) -> None:
    wave = open_wave(session, lake, people(1))
    ids = list(session.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)))
    mailer = _FakeMailer([mail.SendResult(mail.Outcome.RETRY, "452 full")] * delivery.MAX_ATTEMPTS)
    now = utcnow()
    delays = []
    for _ in range(delivery.MAX_ATTEMPTS):
        _fake_deliver(session, ids, mailer, now)
        row = session.get(Invitation, ids[0])
        session.refresh(row)
        assert row is not None
        if row.next_attempt_at is not None:
            delays.append(row.next_attempt_at - now)
            assert delivery.due_batches(session, now) == []
            now = row.next_attempt_at
    assert delays == sorted(delays) and delays[0] == timedelta(minutes=1)
    assert row.delivery_status == DeliveryStatus.FAILED
    assert len(mailer.connection.sent) == delivery.MAX_ATTEMPTS


def test_classify_smtp_replies() -> None:
    assert mail.classify(250, b"ok").outcome == mail.Outcome.SENT
    assert mail.classify(451, b"later").outcome == mail.Outcome.RETRY
    assert mail.classify(550, b"no such user <a@b.org>").outcome == mail.Outcome.BOUNCED
    assert mail.classify(550, b"no such user <a@b.org>").detail == "550 no such user <address>"
    assert mail.classify(554, b"policy").outcome == mail.Outcome.FAILED


def test_outbox_backend_writes_one_eml_per_message(
    client, app: Flask, session: Session, lake: Jurisdiction
) -> None:
    open_wave(session, lake, people(3))
    with app.app_context():
        tasks.init_app(app)
        tasks.dispatch()
    files = sorted((Path(app.instance_path) / "outbox").glob("wave-*/*.eml"))
    assert len(files) == 3
    assert b"/s/" in files[0].read_bytes()


class _Crash(Exception):
    pass


def test_a_crash_mid_group_leaves_only_the_message_in_flight_in_doubt(
    session: Session, lake: Jurisdiction
) -> None:
    wave = open_wave(session, lake, people(5))
    ids = list(session.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)))
    mailer = _FakeMailer([])
    sent = mailer.connection.sent

    def send(message: object, wave_id: int) -> mail.SendResult:
        if len(sent) == 2:
            raise _Crash
        sent.append(str(message["To"]))  # type: ignore[index]
        return mail.SendResult(mail.Outcome.SENT, "250")

    mailer.connection.send = send  # type: ignore[method-assign]
    with pytest.raises(_Crash):
        _fake_deliver(session, ids, mailer, utcnow())
    session.expire_all()
    rows = session.scalars(select(Invitation).where(Invitation.id.in_(ids))).all()
    status = {r.id: (r.delivery_status, r.attempts) for r in rows}
    # Sent ones recorded, the one being sent in doubt, the claims never used given back.
    assert [status[i] for i in ids] == [
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.SENT, 1),
        (DeliveryStatus.SENDING, 1),
        (DeliveryStatus.QUEUED, 0),
        (DeliveryStatus.QUEUED, 0),
    ]
