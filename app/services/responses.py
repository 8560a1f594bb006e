"""Answering and submitting a survey, and the shuffle pool (DESIGN.md, "The anonymity model").

``submit_response`` is the one transaction that flips an invitation to completed, counts the day's
submission and puts the answers into the pool, **sealed to the mix public key** and **padded to
one fixed size** per instrument: the web tier can seal an entry but never open one, and every
entry of a wave has the same length, so joining a pool row to the invitation flipped in the same
transaction (PostgreSQL ``xmin``, SQLite page and WAL order) yields a blob nobody holding the web
tier's secrets can open or tell apart from another.

``move_pool`` — the mixer, run by the job that alone holds the mix private key — later opens
pooled answers and turns them into ``Response`` rows, in random order and a batch at a time, so
nothing in ``responses`` (ids, storage order, PostgreSQL's ``xmin``/``ctid``, SQLite's ``rowid``)
follows the order in which people submitted. Background answers and the response language go to
jurisdiction-wide counters (``app.services.background.record_batch``), never onto a row.

The pool is kept per unit: ``Response.unit_id`` is visible, so a batch mixing units would expose
the one person of a unit in it. A batch leaves ``pool_k`` entries behind (moves happen once a
unit's pool holds ``2 * pool_k``), so even the last people to answer before a wave closes hide
among at least ``pool_k`` others when the rest is flushed.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

import surveys
from app import db as app_db
from app.models import Instrument as InstrumentRow
from app.models import Invitation, PendingResponse, Response, Wave, WaveStatus
from app.models.base import Base, random_uuid, utcnow
from app.services import drafts, sealing
from app.services.instruments import definition_of
from app.services.tokens import hash_token, looks_like_token

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


class MixKeyMismatch(SurveyError):
    """The mix private key given to the mixer does not open the wave's pool; nothing moved."""


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
    #: The language the pages were answered in (counted per jurisdiction, never stored on a row).
    language: str | None = None


@dataclass(frozen=True)
class Participation:
    """What the survey pages need to know about the invitation held in the session."""

    wave_id: int
    instrument: surveys.Instrument
    language: str
    closes_at: datetime
    timezone: str
    #: The wave's own thresholds (frozen at launch), for what the pages promise.
    min_report_n: int = 5
    pool_k: int = 10


@dataclass(frozen=True)
class WaveTerms:
    """What the privacy page promises for one wave: its own thresholds."""

    min_report_n: int
    pool_k: int


_TERMS = (
    select(Wave.min_report_n, Wave.pool_k)
    .join(Invitation, Invitation.wave_id == Wave.id)
    .where(Invitation.token_hash == bindparam("token_hash"))
)


def find_wave_terms(session: Session, token: str) -> WaveTerms | None:
    """The thresholds of the wave of ``token`` (open, closed or answered), or None."""
    if not looks_like_token(token):
        return None
    row = session.execute(_TERMS, {"token_hash": hash_token(token)}).one_or_none()
    session.rollback()
    return None if row is None else WaveTerms(int(row.min_report_n), int(row.pool_k))


@dataclass(frozen=True)
class Submitted:
    """The outcome of a submit: whether the unit's pool now holds enough to move a batch."""

    wave_id: int
    pool_ready: bool


def _is_open(wave: Any, now: datetime) -> bool:
    # ``wave`` is a Wave or a row holding its status and closes_at.
    return bool(wave.status == WaveStatus.OPEN and now < wave.closes_at)


def _closed(wave: Any) -> WaveClosed:
    return WaveClosed(wave.closed_at or wave.closes_at, wave.timezone)


def _sqlite_secure_delete(session: Session) -> None:
    # Deleted drafts and pool entries must not linger in SQLite's free pages. The pragma holds
    # for the connection's life, so it is sent once per pooled connection.
    if session.get_bind().dialect.name == "sqlite":
        info = session.connection().info
        if not info.get("secure_delete"):
            session.execute(text("PRAGMA secure_delete = ON"))
            info["secure_delete"] = True


def _scrub(session: Session) -> None:
    """After a commit that deleted a draft or pool rows: no copy left in SQLite's WAL."""
    scrub = getattr(app_db, "scrub_journal", None)
    if scrub is not None:
        scrub(session)


# Statements built once (values bound per call): building and cache-keying a select costs more
# CPU than running it. Core tables, not ORM entities: nothing here needs an ORM object, and a
# Core statement skips the ORM's compile and loading steps on every page of every person.
_TABLES = Base.metadata.tables
_invitations, _waves, _instruments = (
    _TABLES["invitations"],
    _TABLES["waves"],
    _TABLES["instruments"],
)
_drafts, _pool, _daily = _TABLES["drafts"], _TABLES["pending_responses"], _TABLES["daily_counts"]
_WAVE_COLUMNS = (
    _waves.c.id.label("wave_id"),
    _waves.c.status,
    _waves.c.closes_at,
    _waves.c.closed_at,
    _waves.c.timezone,
    _waves.c.instrument_id,
    _waves.c.pool_k,
    _waves.c.min_report_n,
    _instruments.c.checksum,
)
_PARTICIPATION = (
    select(_invitations.c.completed, _invitations.c.language, *_WAVE_COLUMNS)
    .join(_waves, _invitations.c.wave_id == _waves.c.id)
    .join(_instruments, _waves.c.instrument_id == _instruments.c.id)
    .where(_invitations.c.token_hash == bindparam("token_hash"))
)
# The same row and, in the same round trip, the draft (found by its own lookup, which is derived
# from the token and not from anything stored with the invitation).
_PROGRESS = _PARTICIPATION.add_columns(_drafts.c.ciphertext).outerjoin(
    _drafts, _drafts.c.lookup == bindparam("draft_lookup")
)
# FOR SHARE on the wave: closing the wave (an UPDATE of its row) waits for submits in flight, so
# the final flush of the pool sees every one of them.
_SUBMIT_ROW = (
    select(_invitations.c.unit_id, _invitations.c.language, *_WAVE_COLUMNS)
    .join(_waves, _invitations.c.wave_id == _waves.c.id)
    .join(_instruments, _waves.c.instrument_id == _instruments.c.id)
    .where(_invitations.c.token_hash == bindparam("token_hash"))
    .with_for_update(read=True, of=_waves)
)
# The last page's POST: the progress row and the submit's lock in one statement, so the submit
# that follows in the same transaction need not read the invitation again.
_SUBMIT_PROGRESS = _PROGRESS.add_columns(_invitations.c.unit_id).with_for_update(
    read=True, of=_waves
)
_FLIP = (
    update(_invitations)
    .where(_invitations.c.token_hash == bindparam("flip_hash"), _invitations.c.completed.is_(False))
    .values(completed=True)
)
_POOL_SIZE = (
    select(func.count())
    .select_from(_pool)
    .where(_pool.c.wave_id == bindparam("pool_wave"), _pool.c.unit_id == bindparam("pool_unit"))
)
_POOL_INSERT = insert(_pool)
_COUNT_UPSERTS: dict[str, Any] = {}


def _participation(session: Session, row: Any, now: datetime | None) -> Participation:
    if row is None:
        raise InvalidToken
    if not _is_open(row, now or utcnow()):
        raise _closed(row)
    if row.completed:
        raise AlreadySubmitted
    return Participation(
        wave_id=row.wave_id,
        instrument=_instrument(session, row.instrument_id, row.checksum),
        language=row.language,
        closes_at=row.closes_at,
        timezone=row.timezone,
        min_report_n=row.min_report_n,
        pool_k=row.pool_k,
    )


def get_participation(
    session: Session, token: str, *, now: datetime | None = None
) -> Participation:
    """The open, unanswered invitation of ``token``.

    Raises InvalidToken, AlreadySubmitted or WaveClosed (closed is checked before answered: after
    the close nothing more is said about a link).
    """
    if not looks_like_token(token):
        raise InvalidToken
    row = session.execute(_PARTICIPATION, {"token_hash": hash_token(token)}).one_or_none()
    return _participation(session, row, now)


@dataclass(frozen=True)
class Progress:
    """The invitation held in the session, its saved draft and the draft's keys (one request)."""

    participation: Participation
    draft: drafts.DraftState | None
    keys: drafts.DraftKeys
    #: The invitation's unit, read with the submit's lock (``for_submit``); None otherwise.
    locked_unit: int | None = None


def get_progress(
    session: Session, token: str, *, now: datetime | None = None, for_submit: bool = False
) -> Progress:
    """``get_participation`` and ``find_progress`` in one query; raises as get_participation.

    ``for_submit``: the row is read with the lock ``submit_response`` takes (FOR SHARE on the
    wave), so a submit later in the same transaction, given this progress, reads nothing again.
    """
    if not looks_like_token(token):
        raise InvalidToken
    keys = drafts.DraftKeys.of(token)
    # Core statements run on the session's connection: the ORM's execute adds nothing for them.
    row = (
        session.connection()
        .execute(
            _SUBMIT_PROGRESS if for_submit else _PROGRESS,
            {"token_hash": hash_token(token), "draft_lookup": keys.lookup},
        )
        .one_or_none()
    )
    participation = _participation(session, row, now)
    assert row is not None  # _participation raised otherwise
    draft = drafts.open_draft(keys, row.ciphertext)
    return Progress(participation, draft, keys, row.unit_id if for_submit else None)


def read_progress(session: Session, token: str, *, now: datetime | None = None) -> Progress:
    """``get_progress`` for a page that only reads, ending its transaction with a COMMIT.

    Closing the session would end it with a ROLLBACK, and after a ROLLBACK psycopg forgets every
    statement it had prepared on that connection: with link and page views among the saves, the
    server planned the survey's statements afresh on nearly every request (measured: the
    invitation-and-draft read took twice the server's CPU after a ROLLBACK as after a COMMIT).
    A link that is unknown, answered or closed raises as ``get_progress`` (and rolls back).
    """
    progress = get_progress(session, token, now=now)
    session.commit()
    return progress


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
    session: Session,
    token: str,
    state: drafts.DraftState,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> None:
    """Store the draft of an open, unanswered invitation (encrypted with the token's key).

    ``progress``, from ``get_progress`` earlier in the same transaction, saves looking the
    invitation up again.
    """
    if progress is None:
        participation, keys = get_participation(session, token, now=now), None
    else:
        participation, keys = progress.participation, progress.keys
    _check_draft(participation.instrument, state)
    try:
        drafts.put_draft(
            session,
            token,
            participation.wave_id,
            state,
            size=drafts.draft_size(participation.instrument),
            keys=keys,
        )
    except sealing.PaddingError:
        raise InvalidAnswers(["the draft is larger than any legal answer set"]) from None
    session.commit()


#: By the parsed instrument object itself (the survey keeps one per instrument and process).
_RANGES: dict[int, tuple[surveys.Instrument, dict[str, int], dict[str, int]]] = {}


def _answer_ranges(instrument: surveys.Instrument) -> tuple[dict[str, int], dict[str, int]]:
    """Highest answer of each item and of each background question (worked out once per parsed
    instrument: every saved page is checked against them)."""
    cached = _RANGES.get(id(instrument))
    if cached is None or cached[0] is not instrument:
        points = {
            item.key: scale.response_scale.points
            for scale in instrument.scales
            for item in scale.items
        }
        options = {q.key: len(next(iter(q.options.values()))) for q in instrument.background}
        if len(_RANGES) >= 64:
            _RANGES.clear()
        cached = _RANGES[id(instrument)] = (instrument, points, options)
    return cached[1], cached[2]


def check_answers(instrument: surveys.Instrument, answers: Answers) -> None:
    """Raise InvalidAnswers if anything falls outside the instrument."""
    problems: list[str] = []
    points, options = _answer_ranges(instrument)
    for key, value in answers.items.items():
        highest = points.get(key)
        if highest is None:
            problems.append(f"unknown item {key!r}")
        elif type(value) is not int or not 1 <= value <= highest:
            problems.append(f"{key}: {value!r} is outside 1..{highest}")
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
        else:
            try:
                answers.comment.encode("utf-8")
            except UnicodeEncodeError:
                problems.append("the comment holds characters that are not text")
    if answers.language is not None and answers.language not in instrument.languages:
        problems.append(f"language {answers.language!r} is not one of the instrument's")
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


def _pool_meta(answers: Answers, language: str) -> dict[str, Any]:
    return {
        "answers": dict(answers.items),
        "background": dict(answers.background),
        "language": language,
    }


_POOL_SIZES: dict[tuple[str, str], int] = {}


def _pool_size_of(instrument: surveys.Instrument) -> int:
    cached = _POOL_SIZES.get((instrument.key, instrument.version))
    if cached is None:
        cached = _POOL_SIZES[(instrument.key, instrument.version)] = _largest_pool(instrument)
    return cached


def _largest_pool(instrument: surveys.Instrument) -> int:
    largest = Answers(
        items={
            item.key: scale.response_scale.points
            for scale in instrument.scales
            for item in scale.items
        },
        background={q.key: len(next(iter(q.options.values()))) for q in instrument.background},
    )
    language = max(instrument.languages, key=len)
    comment = instrument.comment.max_length if instrument.comment else 0
    return sealing.padded_size(sealing.packed_bound(_pool_meta(largest, language), comment))


def pool_entry_size(instrument: surveys.Instrument) -> int:
    """The one plaintext size of every pool entry of ``instrument``: the largest legal answer set
    (every item at its highest value, every background question, the longest comment in 4-byte
    UTF-8 characters) fits; anything else is padded up to it."""
    return _pool_size_of(instrument)


def seal_pool_entry(
    public: sealing.PublicKey, instrument: surveys.Instrument, answers: Answers, language: str
) -> bytes:
    """Answers packed, padded to the instrument's one size and sealed to the mix public key."""
    packed = sealing.pack(_pool_meta(answers, language), answers.comment)
    try:
        padded = sealing.pad(packed, pool_entry_size(instrument))
    except sealing.PaddingError:
        raise InvalidAnswers(["the answers are larger than any legal answer set"]) from None
    return public.seal(padded)


def open_pool_entry(keys: sealing.Keyring, sealed: bytes) -> tuple[Answers, str]:
    """The mixer's side of :func:`seal_pool_entry`: the answers and their language."""
    meta, comment = sealing.unpack(sealing.unpad(keys.open(sealed)))
    answers = Answers(
        items={str(k): int(v) for k, v in meta["answers"].items()},
        background={str(k): int(v) for k, v in meta["background"].items()},
        comment=comment,
        language=str(meta["language"]),
    )
    return answers, answers.language or "en"


def _count_submission(session: Session, wave_id: int, unit_id: int, day: date) -> None:
    name = session.get_bind().dialect.name
    statement = _COUNT_UPSERTS.get(name)
    if statement is None:
        values = drafts.dialect_insert(session)(_daily).values(
            wave_id=bindparam("count_wave"),
            unit_id=bindparam("count_unit"),
            day=bindparam("count_day"),
            submissions=1,
        )
        statement = _COUNT_UPSERTS[name] = values.on_conflict_do_update(
            index_elements=[_daily.c.wave_id, _daily.c.unit_id, _daily.c.day],
            set_={"submissions": _daily.c.submissions + 1},
        )
    session.connection().execute(
        statement, {"count_wave": wave_id, "count_unit": unit_id, "count_day": day}
    )


def submit_response(
    session: Session,
    token: str,
    answers: Answers,
    *,
    mix_public: sealing.PublicKey,
    now: datetime | None = None,
    keys: drafts.DraftKeys | None = None,
    progress: Progress | None = None,
) -> Submitted:
    """Store ``answers`` for the invitation of ``token``: once, in one transaction.

    Raises InvalidToken, WaveClosed, AlreadySubmitted (nothing stored) or InvalidAnswers.
    ``keys`` are the token's draft keys if the caller already derived them in this request;
    ``progress``, from ``get_progress(..., for_submit=True)`` earlier in the same transaction,
    saves reading the invitation again (its lock is already held).
    """
    now = now or utcnow()
    if not looks_like_token(token):
        raise InvalidToken
    token_hash = hash_token(token)
    try:
        _sqlite_secure_delete(session)
        connection = session.connection()
        if progress is not None and progress.locked_unit is not None:
            held = progress.participation
            if not now < held.closes_at:
                raise WaveClosed(held.closes_at, held.timezone)
            unit_id, wave_id, pool_k = progress.locked_unit, held.wave_id, held.pool_k
            instrument, timezone, language = held.instrument, held.timezone, held.language
            keys = progress.keys
        else:
            row = connection.execute(_SUBMIT_ROW, {"token_hash": token_hash}).one_or_none()
            if row is None:
                raise InvalidToken
            if not _is_open(row, now):
                raise _closed(row)
            unit_id, wave_id, pool_k = row.unit_id, row.wave_id, row.pool_k
            instrument = _instrument(session, row.instrument_id, row.checksum)
            timezone, language = row.timezone, row.language
        check_answers(instrument, answers)
        # Sealed before anything is written: an answer set that cannot be stored changes nothing.
        sealed = seal_pool_entry(mix_public, instrument, answers, answers.language or language)
        flipped = connection.execute(_FLIP, {"flip_hash": token_hash})
        if flipped.rowcount != 1:
            raise AlreadySubmitted
        _count_submission(session, wave_id, unit_id, now.astimezone(ZoneInfo(timezone)).date())
        drafts.delete_draft(session, token, keys=keys)
        connection.execute(
            _POOL_INSERT,
            {"id": random_uuid(), "wave_id": wave_id, "unit_id": unit_id, "ciphertext": sealed},
        )
        # Counted before the commit (same figure as after it, one transaction fewer): only a
        # hint for the mixer job, which counts again under its own locks.
        pooled = connection.scalar(_POOL_SIZE, {"pool_wave": wave_id, "pool_unit": unit_id})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _scrub(session)
    return Submitted(wave_id=wave_id, pool_ready=(pooled or 0) >= 2 * pool_k)


def move_pool(
    session: Session, wave_id: int, *, keys: sealing.Keyring, flush_all: bool = False
) -> int:
    """The mixer: move pooled answers of a wave into ``Response`` rows; returns how many moved.

    ``keys`` is the mix private keyring (only the mixer job holds it). Before anything moves,
    every entry of the wave must be sealed to one of its keys; otherwise MixKeyMismatch is raised
    and nothing is moved (nothing lost, nothing half-moved).

    Per unit, while its pool holds ``2 * pool_k`` entries, a random ``pool_k`` of them move in one
    transaction, inserted in random order. ``flush_all`` (the wave closes) moves everything.
    Safe to run twice at once: rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
    under SQLite's write lock, deleted with ``DELETE … RETURNING`` and only the deleted ones are
    inserted; a batch that dies rolls back whole and stays in the pool.
    """
    wave = session.execute(
        select(Wave.pool_k, Wave.jurisdiction_id, Wave.instrument_id, InstrumentRow.checksum)
        .join(InstrumentRow, Wave.instrument_id == InstrumentRow.id)
        .where(Wave.id == wave_id)
    ).one_or_none()
    if wave is None:
        session.rollback()
        return 0
    instrument = _instrument(session, wave.instrument_id, wave.checksum)
    sealed_to = {
        bytes(prefix)
        for prefix in session.scalars(
            select(func.substr(PendingResponse.ciphertext, 1, sealing.KEY_ID_BYTES))
            .where(PendingResponse.wave_id == wave_id)
            .distinct()
        )
    }
    unknown = sealed_to - keys.ids()
    if unknown:
        session.rollback()
        held = ", ".join(sorted(k.hex() for k in keys.ids()))
        wanted = ", ".join(sorted(k.hex() for k in unknown))
        raise MixKeyMismatch(
            f"MIX_PRIVATE_KEY_FILE: the mix key(s) given ({held}) do not open wave {wave_id}'s "
            f"pool, whose entries are sealed to {wanted}; nothing was moved"
        )
    units = session.scalars(
        select(PendingResponse.unit_id).where(PendingResponse.wave_id == wave_id).distinct()
    ).all()
    session.commit()
    batch = _Batch(wave_id, wave.jurisdiction_id, wave.pool_k, instrument, keys)
    moved = 0
    for unit_id in sorted(units):
        while True:
            count = _move_batch(session, batch, unit_id, flush_all=flush_all)
            moved += count
            if count == 0 or flush_all:
                break
    return moved


@dataclass(frozen=True)
class _Batch:
    wave_id: int
    jurisdiction_id: int
    pool_k: int
    instrument: surveys.Instrument
    keys: sealing.Keyring


def _record_background(session: Session, batch: _Batch, opened: list[tuple[Answers, str]]) -> None:
    """Background answers and languages of a moved batch, counted per jurisdiction (9B)."""
    from app.services import background

    instrument = batch.instrument
    entries: list[dict[str, Any]] = [
        {
            "background": {q.key: answers.background.get(q.key) for q in instrument.background},
            "language": language,
            "items": {key: answers.items.get(key) for key in instrument.item_keys},
        }
        for answers, language in opened
    ]
    background.record_batch(
        session, batch.wave_id, batch.jurisdiction_id, entries, mix_keys=batch.keys
    )


def _move_batch(session: Session, batch: _Batch, unit_id: int, *, flush_all: bool) -> int:
    wave_id, pool_k = batch.wave_id, batch.pool_k
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
        try:
            opened = [open_pool_entry(batch.keys, bytes(sealed)) for (sealed,) in taken]
        except (sealing.KeyMismatch, sealing.CannotOpen, sealing.PaddingError) as error:
            raise MixKeyMismatch(
                f"MIX_PRIVATE_KEY_FILE: an entry of wave {wave_id} does not open ({error}); "
                "this batch was not moved"
            ) from None
        _shuffle(opened)
        for answers, _language in opened:
            # One INSERT per row, in shuffled order: storage order then follows the shuffle.
            session.execute(
                insert(Response).values(
                    id=random_uuid(),
                    wave_id=wave_id,
                    unit_id=unit_id,
                    answers=dict(answers.items),
                    comment=answers.comment,
                )
            )
        _record_background(session, batch, opened)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _scrub(session)
    return len(opened)
