"""Delivering invitations and reminders: claim, send, record — never twice for the same send.

The protocol, per invitation (never per batch):

1. **claim** with one conditional UPDATE: ``queued → sending`` only if the invitation is due, not
   answered, its wave is open and its wanted send (``send_wanted``) is not yet done
   (``send_done < send_wanted``); committed before anything is sent. Two workers holding the same
   batch therefore never both send: one UPDATE wins, the other changes no row and skips it.
2. **send** over SMTP.
3. **record** the outcome with a second UPDATE (``WHERE delivery_status = 'sending'``): ``sent``
   (``send_done`` = the claimed send), ``queued`` again with a later ``next_attempt_at`` (4xx, or
   nothing handed over: connection refused / lost before DATA), ``bounced`` (550/551/553), or
   ``failed`` (other 5xx, too many 4xx, or an unknown outcome).

For fewer commits a worker claims a small group (:data:`CLAIM_GROUP`) of invitations in one
committed UPDATE … RETURNING, then sends each claimed one and notes its outcome; the outcomes are
stored in the same commit as the next group's claim. Every invitation still goes claim (committed)
→ send → record on its own; what grows is the in-doubt window after a crash: up to one group,
not one message. Claims a batch did not get to use (unreachable server, error) are given back.

A worker killed between 1 and 3 leaves the invitation in ``sending``. It is **not** resent
automatically: once its claim is older than ``CLAIM_LEASE`` the periodic sweep marks it
``failed`` with :data:`INTERRUPTED`, and the dashboard lists it for an operator, whose
"retry failed" sends it again. So a crash can cost one person a message until someone confirms,
never give anyone a second copy. A connection lost *after* the body was handed over is treated
the same way (the server may have accepted the message).

A lost *database* connection (a restart, a fail-over) is not a crash: the batch keeps its
outcomes and unused claims in memory, waits for the database and stores them before it claims
anything else, so a restart leaves nobody in doubt. Storing them touches only rows still held
by the batch's own claim (the lease it wrote), never a later claim by another worker.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.db import RECONNECT_SECONDS, lost_connection, wait_for_database
from app.models import (
    DeliveryStatus,
    Invitation,
    Jurisdiction,
    JurisdictionMail,
    Wave,
    WaveStatus,
    utcnow,
)
from app.services import mail, sealing, tokens

log = logging.getLogger(__name__)

#: A claim older than this without an outcome belongs to a worker that died.
CLAIM_LEASE = timedelta(minutes=10)
#: Retries of 4xx replies: 1, 2, 4, … minutes, capped; then the invitation fails.
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)
#: When the server cannot be reached, try again after this long (no attempt is counted).
UNREACHABLE_DELAY = timedelta(seconds=30)
BATCH_SIZE = 200
#: Invitations claimed per commit: at most this many are in doubt after a crash.
CLAIM_GROUP = 10

INTERRUPTED = (
    "interrupted while sending (the worker stopped): the message may have arrived. "
    "Not resent automatically; use 'Retry failed' to send it again."
)
UNKNOWN_PREFIX = "outcome unknown: "

Q, SENDING, SENT = DeliveryStatus.QUEUED, DeliveryStatus.SENDING, DeliveryStatus.SENT
FAILED, BOUNCED = DeliveryStatus.FAILED, DeliveryStatus.BOUNCED


@dataclass(frozen=True)
class Claim:
    invitation_id: int
    wave_id: int
    email: str
    language: str
    sealed_token: bytes
    send: int
    #: Tries so far, this one included (the claim counts it).
    attempts: int = 1
    #: The lease this claim wrote (``next_attempt_at``): marks the row as held by this claim, so
    #: storing an outcome or giving the claim back never touches another worker's later claim.
    lease_until: datetime | None = None

    def held(self) -> list[ColumnElement[bool]]:
        """Conditions of the row still being this claim's."""
        held = [Invitation.id == self.invitation_id, Invitation.delivery_status == SENDING]
        if self.lease_until is not None:
            held.append(Invitation.next_attempt_at == self.lease_until)
        return held


@dataclass
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    bounced: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    details: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` tries ended in a 4xx reply."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        Invitation.delivery_status == Q,
        Invitation.completed.is_(False),
        Invitation.email.is_not(None),
        Invitation.token_sealed.is_not(None),
        Invitation.send_done < Invitation.send_wanted,
        or_(Invitation.next_attempt_at.is_(None), Invitation.next_attempt_at <= now),
        Invitation.wave_id.in_(select(Wave.id).where(Wave.status == WaveStatus.OPEN)),
    ]


def claim(session: Session, invitation_id: int, now: datetime) -> Claim | None:
    """Step 1: take one due invitation for sending, committed; None if not due or taken."""
    claims = _claim_rows(session, [invitation_id], now)
    session.commit()
    return claims[0] if claims else None


def _claim_rows(session: Session, invitation_ids: Sequence[int], now: datetime) -> list[Claim]:
    """One conditional UPDATE … RETURNING for a few invitations, in their given order; each row
    is taken or not on its own (the caller commits before sending any of them)."""
    lease_until = now + CLAIM_LEASE
    rows = session.execute(
        update(Invitation)
        .where(Invitation.id.in_(invitation_ids), *_due(now))
        .values(
            delivery_status=SENDING,
            attempts=Invitation.attempts + 1,
            next_attempt_at=lease_until,
        )
        .returning(
            Invitation.id,
            Invitation.wave_id,
            Invitation.email,
            Invitation.language,
            Invitation.token_sealed,
            Invitation.send_wanted,
            Invitation.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    position = {invitation_id: i for i, invitation_id in enumerate(invitation_ids)}
    claims = [
        Claim(
            int(r[0]),
            int(r[1]),
            str(r[2]),
            str(r[3]),
            bytes(r[4] or b""),
            int(r[5]),
            int(r[6]),
            lease_until,
        )
        for r in rows
    ]
    claims.sort(key=lambda c: position[c.invitation_id])
    return claims


def record(
    session: Session,
    claimed: Claim,
    result: mail.SendResult,
    now: datetime,
    *,
    commit: bool = True,
) -> None:
    """Step 3: store the outcome of a claimed send (``commit=False``: the caller commits it,
    before it claims anything else). Idempotent: only a row still ``sending`` changes."""
    values: dict[str, object]
    outcome = result.outcome
    if outcome == mail.Outcome.SENT:
        values = {
            # A reminder asked for while this was being sent stays queued.
            "delivery_status": case((Invitation.send_wanted > claimed.send, Q), else_=SENT),
            "send_done": claimed.send,
            "next_attempt_at": None,
            "delivery_detail": result.detail,
        }
    elif outcome == mail.Outcome.UNREACHABLE:
        values = {
            "delivery_status": Q,
            "attempts": Invitation.attempts - 1,
            "next_attempt_at": now + UNREACHABLE_DELAY,
            "delivery_detail": result.detail,
        }
    elif outcome == mail.Outcome.RETRY:
        values = {
            "delivery_status": case((Invitation.attempts >= MAX_ATTEMPTS, FAILED), else_=Q),
            # The row is ours while it is 'sending': its attempts are those of the claim.
            "next_attempt_at": now + backoff(claimed.attempts),
            "delivery_detail": result.detail,
        }
    elif outcome == mail.Outcome.BOUNCED:
        values = {
            "delivery_status": BOUNCED,
            "next_attempt_at": None,
            "delivery_detail": result.detail,
        }
    elif outcome == mail.Outcome.UNKNOWN:
        values = {
            "delivery_status": FAILED,
            "next_attempt_at": None,
            "delivery_detail": UNKNOWN_PREFIX + result.detail,
        }
    else:
        values = {
            "delivery_status": FAILED,
            "next_attempt_at": None,
            "delivery_detail": result.detail,
        }
    session.execute(
        update(Invitation)
        .where(*claimed.held())
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if commit:
        session.commit()


def _release(session: Session, claims: Sequence[Claim]) -> None:
    """Give back claims whose message was never built nor sent (not committed here)."""
    for claimed in claims:
        session.execute(
            update(Invitation)
            .where(*claimed.held())
            .values(delivery_status=Q, attempts=Invitation.attempts - 1, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class _WaveInfo:
    closes_at: datetime
    timezone: str
    jurisdiction: str
    min_n: int
    sender_name: str | None = None
    reply_to: str | None = None
    intros: tuple[tuple[str, str | None], ...] = ()

    def intro(self, language: str) -> str | None:
        return dict(self.intros).get(language)


def deliver(
    session: Session,
    invitation_ids: Iterable[int],
    mailer: mail.Mailer,
    *,
    mailer_keys: sealing.Keyring,
    public_url: str,
    mail_from: str,
    clock: Callable[[], datetime] = utcnow,
    group: int = CLAIM_GROUP,
    reconnect_seconds: float = RECONNECT_SECONDS,
) -> DeliveryReport:
    """Claim, send and record each due invitation of a batch over one SMTP connection and one
    database connection.

    Invitations are claimed ``group`` at a time (one committed UPDATE … RETURNING); each claimed
    one is then built, sent and its outcome noted, and the outcomes are stored in the same commit
    as the next group's claim (or the last commit). A worker that dies leaves at most one group
    in ``sending`` — the in-doubt window is ``group`` invitations, not one — and the sweep hands
    those to an operator; nothing is sent twice. Stops at the first unreachable server: the rest
    stay queued (claims not yet used are given back) for the next sweep.

    A database connection lost in the middle (a restart, a fail-over) does not end the batch:
    the worker keeps what it knows in memory (outcomes of sent messages, claims not yet used),
    waits up to ``reconnect_seconds`` for the database, stores them on a new connection and
    carries on where it stopped. Outcomes and give-backs only touch rows still held by this
    batch's own claim (:attr:`Claim.lease_until`), so storing them twice, or after a commit
    whose fate the lost connection hid, changes nothing that is not ours.
    """
    bind = session.get_bind()
    batch = _Batch(list(invitation_ids), group)
    if not isinstance(bind, Engine):
        # Already bound to one connection (e.g. inside a caller's transaction): use it as is.
        with mail.closing_connection(mailer) as smtp:
            _deliver(session, batch, smtp, mailer_keys, public_url, mail_from, clock)
        return batch.report
    # An engine-bound session would check a connection out of the pool (and ping it) for every
    # transaction; hold one for the whole batch instead. What the caller left pending is
    # committed first, as the first claim always did.
    session.commit()
    with mail.closing_connection(mailer) as smtp:
        while True:
            try:
                with (
                    bind.connect() as connection,
                    Session(connection, expire_on_commit=False) as held,
                ):
                    _deliver(held, batch, smtp, mailer_keys, public_url, mail_from, clock)
                return batch.report
            except DBAPIError as error:
                if not lost_connection(error) or batch.reconnects >= MAX_RECONNECTS:
                    raise
                batch.reconnects += 1
                waited = wait_for_database(bind, reconnect_seconds)
                log.warning(
                    "database connection lost while delivering a batch (%s); back after %.1f s: "
                    "carrying on with %s of its %s invitations not yet claimed",
                    type(error.orig).__name__,
                    waited,
                    max(len(batch.ids) - batch.position, 0),
                    len(batch.ids),
                )


#: Lost database connections one batch survives (each followed by a wait for the database).
MAX_RECONNECTS = 5


@dataclass
class _Batch:
    """Where a batch stands, kept across a lost database connection."""

    ids: list[int]
    group: int
    #: Index in ``ids`` of the next group to claim.
    position: int = 0
    #: Sent, outcome not yet stored (stored with the next claim, before anything else is sent).
    done: list[tuple[Claim, mail.SendResult, datetime]] = field(default_factory=list)
    #: Claimed (perhaps committed), not yet built nor sent: given back if the batch stops early.
    unsent: list[Claim] = field(default_factory=list)
    waves: dict[int, _WaveInfo] = field(default_factory=dict)
    report: DeliveryReport = field(default_factory=DeliveryReport)
    reconnects: int = 0


def _deliver(
    session: Session,
    batch: _Batch,
    connection: mail.Connection,
    mailer_keys: sealing.Keyring,
    public_url: str,
    mail_from: str,
    clock: Callable[[], datetime],
) -> None:
    report, ids = batch.report, batch.ids
    link_prefix = f"{public_url.rstrip('/')}/s/"
    try:
        if batch.done or batch.unsent:  # left by a lost connection: stored before anything else
            _record_all(session, batch.done)
            _release(session, batch.unsent)
            session.commit()
            batch.done.clear()
            batch.unsent.clear()
        stopped = False
        while batch.position < len(ids):
            chunk = ids[batch.position : batch.position + batch.group]
            _record_all(session, batch.done)
            claims = _claim_rows(session, chunk, clock())
            # From here the claims may be committed (a lost connection can hide whether the
            # commit happened): kept, in sending order, to be given back if never sent.
            batch.unsent = claims[::-1]
            for wave_id in {c.wave_id for c in claims} - batch.waves.keys():
                batch.waves[wave_id] = _wave_info(session, wave_id)
            session.commit()  # the claims (and the previous outcomes) before any send
            batch.done.clear()
            batch.position += batch.group
            report.skipped += len(chunk) - len(claims)
            while batch.unsent:
                claimed = batch.unsent.pop()  # from here on it may be sent: never given back
                info = batch.waves[claimed.wave_id]
                message = mail.build_message(
                    mail.Invite(
                        to=claimed.email,
                        language=claimed.language,
                        reminder=claimed.send > 0,
                        link=link_prefix + tokens.open_token(mailer_keys, claimed.sealed_token),
                        closes_at=info.closes_at,
                        timezone=info.timezone,
                        jurisdiction=info.jurisdiction,
                        min_n=info.min_n,
                        sender_name=info.sender_name,
                        reply_to=info.reply_to,
                        intro=info.intro(claimed.language),
                        privacy_url=f"{public_url.rstrip('/')}/privacy",
                    ),
                    mail_from,
                )
                result = connection.send(message, claimed.wave_id)
                batch.done.append((claimed, result, clock()))
                _count(report, result)
                if result.outcome == mail.Outcome.UNREACHABLE:
                    stopped = True
                    break
            if stopped:
                batch.position = len(ids)  # the rest stays queued, also after a reconnect
                break
        _record_all(session, batch.done)
        _release(session, batch.unsent)
        session.commit()
        batch.done.clear()
        batch.unsent.clear()
    except DBAPIError as error:
        if lost_connection(error):
            raise  # the caller reconnects and stores what the batch holds
        _keep_what_is_known(session, batch)
        raise
    except BaseException:
        _keep_what_is_known(session, batch)
        raise


def _keep_what_is_known(session: Session, batch: _Batch) -> None:
    """After an error: store the outcomes of sent messages and give back claims never used.
    (The one being built or sent when it happened stays 'sending', for the sweep.)"""
    with contextlib.suppress(Exception):
        session.rollback()
        _record_all(session, batch.done)
        _release(session, batch.unsent)
        session.commit()


def _record_all(session: Session, done: Sequence[tuple[Claim, mail.SendResult, datetime]]) -> None:
    for claimed, result, at in done:
        record(session, claimed, result, at, commit=False)


def _count(report: DeliveryReport, result: mail.SendResult) -> None:
    name = {
        mail.Outcome.SENT: "sent",
        mail.Outcome.RETRY: "retry",
        mail.Outcome.BOUNCED: "bounced",
        mail.Outcome.UNREACHABLE: "unreachable",
    }.get(result.outcome, "failed")
    setattr(report, name, getattr(report, name) + 1)
    if result.outcome != mail.Outcome.SENT and len(report.details) < 20:
        report.details.append(result.detail)


def _wave_info(session: Session, wave_id: int) -> _WaveInfo:
    row = session.execute(
        select(
            Wave.closes_at, Wave.timezone, Jurisdiction.name, Wave.min_report_n, JurisdictionMail
        )
        .join(Jurisdiction, Wave.jurisdiction_id == Jurisdiction.id)
        .outerjoin(JurisdictionMail, JurisdictionMail.jurisdiction_id == Jurisdiction.id)
        .where(Wave.id == wave_id)
    ).one()
    own: JurisdictionMail | None = row[4]
    if own is None:
        return _WaveInfo(row[0], row[1], row[2], row[3])
    return _WaveInfo(
        row[0],
        row[1],
        row[2],
        row[3],
        sender_name=own.sender_name,
        reply_to=own.reply_to,
        intros=(("en", own.intro_en), ("es", own.intro_es)),
    )


def due_batches(
    session: Session,
    now: datetime,
    *,
    wave_id: int | None = None,
    batch_size: int = BATCH_SIZE,
) -> list[list[int]]:
    """Ids of invitations due for sending, in batches (one job per batch)."""
    query = select(Invitation.id).where(*_due(now)).order_by(Invitation.id)
    if wave_id is not None:
        query = query.where(Invitation.wave_id == wave_id)
    ids = list(session.scalars(query))
    session.rollback()
    return [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]


def recover_interrupted(session: Session, now: datetime) -> int:
    """Claims whose lease ran out (their worker died): mark them failed for an operator."""
    result = session.execute(
        update(Invitation)
        .where(Invitation.delivery_status == SENDING, Invitation.next_attempt_at < now)
        .values(delivery_status=FAILED, next_attempt_at=None, delivery_detail=INTERRUPTED)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def retry_failed(session: Session, wave_id: int) -> int:
    """Queue failed (not bounced) invitations of a wave again; the caller commits."""
    result = session.execute(
        update(Invitation)
        .where(
            Invitation.wave_id == wave_id,
            Invitation.delivery_status == FAILED,
            Invitation.completed.is_(False),
            Invitation.email.is_not(None),
        )
        .values(
            delivery_status=Q,
            attempts=0,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class StatusCounts:
    invited: int
    queued: int
    sending: int
    sent: int
    failed: int
    bounced: int
    delivered: int
    answered: int
    needs_confirmation: int


def status_counts(session: Session, wave_id: int) -> StatusCounts:
    """Delivery states of a wave's invitations (counts only)."""
    status = Invitation.delivery_status

    def count_where(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((and_(*conditions), 1), else_=0)), 0)

    row = session.execute(
        select(
            func.count(),
            count_where(status == Q),
            count_where(status == SENDING),
            count_where(status == SENT),
            count_where(status == FAILED),
            count_where(status == BOUNCED),
            count_where(Invitation.send_done >= 0),
            count_where(Invitation.completed.is_(True)),
            count_where(
                status == FAILED,
                or_(
                    Invitation.delivery_detail == INTERRUPTED,
                    Invitation.delivery_detail.startswith(UNKNOWN_PREFIX),
                ),
            ),
        ).where(Invitation.wave_id == wave_id)
    ).one()
    return StatusCounts(*(int(v or 0) for v in row))


def failed_details(session: Session, wave_id: int, limit: int = 50) -> Sequence[tuple[str, int]]:
    """The reasons of failed and bounced deliveries with how often each occurred (no addresses)."""
    rows = session.execute(
        select(Invitation.delivery_detail, func.count())
        .where(
            Invitation.wave_id == wave_id,
            Invitation.delivery_status.in_([FAILED, BOUNCED]),
        )
        .group_by(Invitation.delivery_detail)
        .order_by(func.count().desc())
        .limit(limit)
    ).all()
    return [(str(detail or ""), int(n)) for detail, n in rows]
