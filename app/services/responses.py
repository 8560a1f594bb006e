"""Answering and submitting a survey, and the shuffle pool (DESIGN.md, "The anonymity model").

``submit_response`` is the one transaction that flips an invitation to completed, counts the day's
submission and puts the answers, encrypted with a server key, into the pool. ``move_pool`` later
turns pooled answers into ``Response`` rows, in random order and a batch at a time, so nothing in
``responses`` (ids, storage order, PostgreSQL's ``xmin``/``ctid``, SQLite's ``rowid``) follows the
order in which people submitted.

The pool is kept per unit: ``Response.unit_id`` is visible, so a batch mixing units would expose
the one person of a unit in it. A batch leaves ``pool_k`` entries behind (moves happen once a
unit's pool holds ``2 * pool_k``), so even the last people to answer before a wave closes hide
among at least ``pool_k`` others when the rest is flushed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

import surveys
from app.models import DailyCount, Invitation, PendingResponse, Response, Wave, WaveStatus
from app.models import Instrument as InstrumentRow
from app.models.base import random_uuid, utcnow
from app.services import drafts
from app.services.instruments import definition_of
from app.services.tokens import derive_key, hash_token, looks_like_token

_POOL_PURPOSE = "shuffle-pool"
_shuffle = secrets.SystemRandom().shuffle


class SurveyError(Exception):
    """Base of the survey flow's domain errors."""


class InvalidToken(SurveyError):
    """No invitation has this token."""


class AlreadySubmitted(SurveyError):
    """The invitation's answers were already stored."""


class WaveClosed(SurveyError):
    """The wave no longer accepts answers."""

    def __init__(self, closed_on: datetime, timezone: str) -> None:
        super().__init__("the survey is closed")
        self.closed_on = closed_on
        self.timezone = timezone


class InvalidAnswers(SurveyError):
    """Answers that do not fit the instrument (a tampered form); nothing is stored."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Answers:
    """A complete answer set: item → raw 1..points, background → 1-based option, comment."""

    items: Mapping[str, int]
    background: Mapping[str, int]
    comment: str | None = None


@dataclass(frozen=True)
class Participation:
    """What the survey pages need to know about the invitation held in the session."""

    wave_id: int
    instrument: surveys.Instrument
    language: str
    closes_at: datetime
    timezone: str


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submit: whether the unit's pool now holds enough to move a batch."""

    wave_id: int
    pool_ready: bool


def _is_open(wave: Wave, now: datetime) -> bool:
    return wave.status == WaveStatus.OPEN and now < wave.closes_at


def _closed(wave: Wave) -> WaveClosed:
    return WaveClosed(wave.closed_at or wave.closes_at, wave.timezone)


def _sqlite_secure_delete(session: Session) -> None:
    # Deleted drafts and pool entries must not linger in SQLite's free pages.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))


def get_participation(
    session: Session, token: str, *, now: datetime | None = None
) -> Participation:
    """The open, unanswered invitation of ``token``.

    Raises InvalidToken, AlreadySubmitted or WaveClosed (closed is checked before answered: after
    the close nothing more is said about a link).
    """
    if not looks_like_token(token):
        raise InvalidToken
    row = session.execute(
        select(Invitation.completed, Invitation.language, Wave, InstrumentRow.checksum)
        .join(Wave, Invitation.wave_id == Wave.id)
        .join(InstrumentRow, Wave.instrument_id == InstrumentRow.id)
        .where(Invitation.token_hash == hash_token(token))
    ).one_or_none()
    if row is None:
        raise InvalidToken
    completed, language, wave, checksum = row
    if not _is_open(wave, now or utcnow()):
        raise _closed(wave)
    if completed:
        raise AlreadySubmitted
    return Participation(
        wave_id=wave.id,
        instrument=_instrument(session, wave.instrument_id, checksum),
        language=language,
        closes_at=wave.closes_at,
        timezone=wave.timezone,
    )


_INSTRUMENTS: dict[tuple[int, str], surveys.Instrument] = {}


def _instrument(session: Session, instrument_id: int, checksum: str) -> surveys.Instrument:
    """The parsed instrument; its (large) definition is read only once per process."""
    parsed = _INSTRUMENTS.get((instrument_id, checksum))
    if parsed is None:
        row = session.get(InstrumentRow, instrument_id)
        if row is None:  # pragma: no cover - a wave's instrument is a foreign key
            raise InvalidToken
        parsed = _INSTRUMENTS[(instrument_id, checksum)] = definition_of(row)
    return parsed


def find_progress(session: Session, token: str) -> drafts.DraftState | None:
    """The person's saved draft, if any."""
    return drafts.find_draft(session, token)


def save_progress(
    session: Session, token: str, state: drafts.DraftState, *, now: datetime | None = None
) -> None:
    """Store the draft of an open, unanswered invitation (encrypted with the token's key)."""
    participation = get_participation(session, token, now=now)
    _check_draft(participation.instrument, state)
    drafts.put_draft(session, token, participation.wave_id, state)
    session.commit()


def check_answers(instrument: surveys.Instrument, answers: Answers) -> None:
    """Raise InvalidAnswers if anything falls outside the instrument."""
    problems: list[str] = []
    scales = {item.key: scale.response_scale for scale in instrument.scales for item in scale.items}
    for key, value in answers.items.items():
        scale = scales.get(key)
        if scale is None:
            problems.append(f"unknown item {key!r}")
        elif type(value) is not int or not 1 <= value <= scale.points:
            problems.append(f"{key}: {value!r} is outside 1..{scale.points}")
    options = {q.key: len(next(iter(q.options.values()))) for q in instrument.background}
    for key, value in answers.background.items():
        if key not in options:
            problems.append(f"unknown background question {key!r}")
        elif type(value) is not int or not 1 <= value <= options[key]:
            problems.append(f"{key}: {value!r} is outside 1..{options[key]}")
    if answers.comment is not None:
        if instrument.comment is None:
            problems.append("this instrument has no comment question")
        elif len(answers.comment) > instrument.comment.max_length:
            problems.append(f"comment longer than {instrument.comment.max_length} characters")
    if problems:
        raise InvalidAnswers(problems)


def _check_draft(instrument: surveys.Instrument, state: drafts.DraftState) -> None:
    items = {k: v for k, v in state.answers.items() if v != "na"}
    if any(type(v) is not int for v in items.values()):
        raise InvalidAnswers(["draft answers must be whole numbers or 'na'"])
    check_answers(instrument, Answers({k: int(v) for k, v in items.items()}, state.background))
    if not 1 <= state.page <= len(instrument.scales) + 1:
        raise InvalidAnswers([f"page {state.page} does not exist"])
    check_answers(instrument, Answers({}, {}, state.comment))


def pool_key(secret_key: str) -> bytes:
    """The AES-GCM key of the shuffle pool, derived from SECRET_KEY."""
    return derive_key(secret_key, _POOL_PURPOSE)


def _pool_associated(wave_id: int, unit_id: int) -> bytes:
    return f"pool:{wave_id}:{unit_id}".encode()


def _count_submission(session: Session, wave_id: int, unit_id: int, day: date) -> None:
    insert_ = drafts.dialect_insert(session)
    statement = insert_(DailyCount).values(wave_id=wave_id, unit_id=unit_id, day=day, submissions=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DailyCount.wave_id, DailyCount.unit_id, DailyCount.day],
            set_={"submissions": DailyCount.__table__.c.submissions + 1},
        )
    )


def submit_response(
    session: Session,
    token: str,
    answers: Answers,
    *,
    secret_key: str,
    now: datetime | None = None,
) -> Submitted:
    """Store ``answers`` for the invitation of ``token``: once, in one transaction.

    Raises InvalidToken, WaveClosed, AlreadySubmitted (nothing stored) or InvalidAnswers.
    """
    now = now or utcnow()
    if not looks_like_token(token):
        raise InvalidToken
    token_hash = hash_token(token)
    try:
        _sqlite_secure_delete(session)
        # FOR SHARE on the wave: closing the wave (an UPDATE of its row) waits for submits in
        # flight, so the final flush of the pool sees every one of them.
        row = session.execute(
            select(Invitation.unit_id, Wave, InstrumentRow.checksum)
            .join(Wave, Invitation.wave_id == Wave.id)
            .join(InstrumentRow, Wave.instrument_id == InstrumentRow.id)
            .where(Invitation.token_hash == token_hash)
            .with_for_update(read=True, of=Wave)
        ).one_or_none()
        if row is None:
            raise InvalidToken
        unit_id, wave, checksum = row
        if not _is_open(wave, now):
            raise _closed(wave)
        check_answers(_instrument(session, wave.instrument_id, checksum), answers)
        flipped = cast(
            "CursorResult[Any]",
            session.execute(
                update(Invitation)
                .where(Invitation.token_hash == token_hash, Invitation.completed.is_(False))
                .values(completed=True)
                .execution_options(synchronize_session=False)
            ),
        )
        if flipped.rowcount != 1:
            raise AlreadySubmitted
        _count_submission(session, wave.id, unit_id, now.astimezone(ZoneInfo(wave.timezone)).date())
        drafts.delete_draft(session, token)
        payload = json.dumps(
            {
                "answers": dict(answers.items),
                "background": dict(answers.background),
                "comment": answers.comment,
            },
            sort_keys=True,
        ).encode("utf-8")
        session.execute(
            insert(PendingResponse).values(
                id=random_uuid(),
                wave_id=wave.id,
                unit_id=unit_id,
                ciphertext=drafts.seal(
                    pool_key(secret_key), payload, _pool_associated(wave.id, unit_id)
                ),
            )
        )
        wave_id, pool_k = wave.id, wave.pool_k
        session.commit()
    except BaseException:
        session.rollback()
        raise
    pooled = session.scalar(
        select(func.count())
        .select_from(PendingResponse)
        .where(PendingResponse.wave_id == wave_id, PendingResponse.unit_id == unit_id)
    )
    session.commit()
    return Submitted(wave_id=wave_id, pool_ready=(pooled or 0) >= 2 * pool_k)


def move_pool(
    session: Session, wave_id: int, *, flush_all: bool = False, secret_key: str | None = None
) -> int:
    """Move pooled answers of a wave into ``Response`` rows; returns how many moved.

    Per unit, while its pool holds ``2 * pool_k`` entries, a random ``pool_k`` of them move in one
    transaction, inserted in random order. ``flush_all`` (the wave closes) moves everything.
    Safe to run twice at once: rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
    under SQLite's write lock, deleted with ``DELETE … RETURNING`` and only the deleted ones are
    inserted; a batch that dies rolls back whole and stays in the pool.

    ``secret_key`` defaults to the current Flask app's SECRET_KEY.
    """
    if secret_key is None:
        from flask import current_app

        secret_key = str(current_app.config["SECRET_KEY"])
    key = pool_key(secret_key)
    pool_k = session.scalar(select(Wave.pool_k).where(Wave.id == wave_id))
    if pool_k is None:
        session.rollback()
        return 0
    units = session.scalars(
        select(PendingResponse.unit_id).where(PendingResponse.wave_id == wave_id).distinct()
    ).all()
    session.commit()
    moved = 0
    for unit_id in sorted(units):
        while True:
            count = _move_batch(session, wave_id, unit_id, pool_k, key, flush_all=flush_all)
            moved += count
            if count == 0 or flush_all:
                break
    return moved


def _move_batch(
    session: Session, wave_id: int, unit_id: int, pool_k: int, key: bytes, *, flush_all: bool
) -> int:
    try:
        _sqlite_secure_delete(session)
        in_pool = (PendingResponse.wave_id == wave_id, PendingResponse.unit_id == unit_id)
        available = session.scalar(
            select(func.count()).select_from(PendingResponse).where(*in_pool)
        )
        if not available or (not flush_all and available < 2 * pool_k):
            session.rollback()
            return 0
        claim = (
            select(PendingResponse.id)
            .where(*in_pool)
            .order_by(func.random())
            .with_for_update(skip_locked=True)
        )
        if not flush_all:
            claim = claim.limit(pool_k)
        ids = list(session.scalars(claim))
        if not ids:
            session.rollback()
            return 0
        taken = session.execute(
            delete(PendingResponse)
            .where(PendingResponse.id.in_(ids), *in_pool)
            .returning(PendingResponse.ciphertext)
            .execution_options(synchronize_session=False)
        ).all()
        if not flush_all and len(taken) < pool_k:
            session.rollback()  # another mover got part of it: never publish a short batch
            return 0
        associated = _pool_associated(wave_id, unit_id)
        rows = []
        for (sealed,) in taken:
            data = json.loads(drafts.unseal(key, sealed, associated))
            rows.append(
                {
                    "id": random_uuid(),
                    "wave_id": wave_id,
                    "unit_id": unit_id,
                    "answers": data["answers"],
                    "background": data["background"],
                    "comment": data["comment"],
                }
            )
        _shuffle(rows)
        for row in rows:
            # One INSERT per row, in shuffled order: storage order then follows the shuffle.
            session.execute(insert(Response).values(**row))
        session.commit()
        return len(rows)
    except BaseException:
        session.rollback()
        raise


def close_pool_after_submit(session: Session, submitted: Submitted, *, secret_key: str) -> None:
    """Move a batch if the submit filled a unit's pool (the admin job queue will take this over)."""
    if submitted.pool_ready:
        move_pool(session, submitted.wave_id, secret_key=secret_key)
