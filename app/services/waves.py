"""Annual waves: create → launch (invitations, tokens) → reminders → close (erase, keep counts).

Dates are whole days in the wave's time zone: a wave opens at the start of its opening day and
closes at the end of its closing day. Launching opens it at once (the opening day is what the
emails and reports show). Anonymity settings (``min_report_n``, ``pool_k``) are frozen at launch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

import surveys
from app.db import scrub_journal, vacuum_tables
from app.i18n import lazy_message as _l
from app.i18n import value_label
from app.models import (
    DailyCount,
    DeliveryStatus,
    Draft,
    Invitation,
    Jurisdiction,
    OrgUnit,
    RosterEntry,
    User,
    Wave,
    WaveStatus,
    utcnow,
)
from app.services import audit, delivery, history, mail, sealing, tokens
from app.services.access import (
    can_manage_jurisdiction,
    can_see_jurisdiction_totals,
    is_national,
    require,
)
from app.services.instruments import definition_of, ensure_instrument
from app.services.jurisdictions import NotFound

MIN_REPORT_N_FLOOR = 3


class WaveError(Exception):
    """Invalid wave data (one line)."""


class WaveStateError(WaveError):
    """The wave is not in a state that allows this (e.g. a second launch)."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WaveError(
            _l("timezone: unknown time zone %(name)s (e.g. America/Chicago)", name=repr(name))
        ) from None


def day_bounds(opens: date, closes: date, timezone: str) -> tuple[datetime, datetime]:
    """Start of the opening day and end of the closing day in ``timezone``, as UTC."""
    zone = _zone(timezone)
    if closes < opens:
        raise WaveError(
            _l(
                "dates: the wave closes (%(closes)s) before it opens (%(opens)s)",
                closes=closes.isoformat(),
                opens=opens.isoformat(),
            )
        )
    start = datetime.combine(opens, time.min, zone).astimezone(UTC)
    end = datetime.combine(closes + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


def parse_instrument_ref(ref: str) -> tuple[str, str | None]:
    """``KEY`` or ``KEY@VERSION``."""
    key, _, version = ref.partition("@")
    return key.strip(), (version.strip() or None)


def create_wave(
    session: Session,
    actor: User | None,
    *,
    jurisdiction_id: int,
    year: int,
    instrument_key: str,
    instrument_version: str | None = None,
    opens: date,
    closes: date,
    timezone: str = "UTC",
    reminder_max: int = 2,
    reminder_min_days: int = 7,
    min_report_n: int = 5,
    pool_k: int = 10,
) -> Wave:
    """A draft wave; nothing is sent until it is launched."""
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's waves"))
    if session.get(Jurisdiction, jurisdiction_id) is None:
        raise NotFound(_l("no jurisdiction %(id)s", id=jurisdiction_id))
    if not 2000 <= year <= 2100:
        raise WaveError(_l("year: %(year)s is not a plausible survey year", year=year))
    if not 0 <= reminder_max <= 10:
        raise WaveError(_l("reminders: between 0 and 10"))
    if not 0 <= reminder_min_days <= 60:
        raise WaveError(_l("reminder spacing: between 0 and 60 days"))
    _check_anonymity(min_report_n, pool_k)
    opens_at, closes_at = day_bounds(opens, closes, timezone)
    instrument = surveys.find_instrument(instrument_key, instrument_version)
    if instrument is None:
        wanted = instrument_key + (f"@{instrument_version}" if instrument_version else "")
        raise WaveError(_l("instrument: no instrument %(name)s is defined", name=repr(wanted)))
    if session.scalars(
        select(Wave).where(Wave.jurisdiction_id == jurisdiction_id, Wave.year == year)
    ).first():
        raise WaveError(_l("year: this jurisdiction already has a wave for %(year)s", year=year))
    row = ensure_instrument(session, instrument)
    wave = Wave(
        jurisdiction_id=jurisdiction_id,
        instrument_id=row.id,
        year=year,
        opens_at=opens_at,
        closes_at=closes_at,
        timezone=timezone,
        status=WaveStatus.DRAFT,
        min_report_n=min_report_n,
        pool_k=pool_k,
        reminder_max=reminder_max,
        reminder_min_days=reminder_min_days,
        reminders_sent=0,
    )
    session.add(wave)
    session.flush()
    audit.record(
        session,
        actor,
        "wave.create",
        f"wave {wave.id} ({year})",
        jurisdiction_id=jurisdiction_id,
        instrument=f"{instrument.key}@{instrument.version}",
    )
    session.commit()
    return wave


def _check_anonymity(min_report_n: int, pool_k: int) -> None:
    if min_report_n < MIN_REPORT_N_FLOOR:
        raise WaveError(_l("minimum group size: at least %(n)s", n=MIN_REPORT_N_FLOOR))
    if pool_k < 2:
        raise WaveError(_l("shuffle pool size: at least 2"))


def update_wave(
    session: Session,
    actor: User | None,
    wave_id: int,
    *,
    opens: date | None = None,
    closes: date | None = None,
    timezone: str | None = None,
    reminder_max: int | None = None,
    reminder_min_days: int | None = None,
    min_report_n: int | None = None,
    pool_k: int | None = None,
) -> Wave:
    """Change a wave's settings. Anonymity settings and the opening day freeze at launch."""
    wave = get_wave(session, actor, wave_id)
    if wave.status == WaveStatus.CLOSED:
        raise WaveStateError(_l("the wave is closed"))
    launched = wave.status != WaveStatus.DRAFT
    if launched and (
        (min_report_n is not None and min_report_n != wave.min_report_n)
        or (pool_k is not None and pool_k != wave.pool_k)
    ):
        raise WaveStateError(_l("anonymity settings cannot change once the wave is launched"))
    if min_report_n is not None or pool_k is not None:
        _check_anonymity(min_report_n or wave.min_report_n, pool_k or wave.pool_k)
        wave.min_report_n = min_report_n or wave.min_report_n
        wave.pool_k = pool_k or wave.pool_k
    if opens or closes or timezone:
        zone = timezone or wave.timezone
        old_opens = wave.opens_at.astimezone(_zone(wave.timezone)).date()
        old_closes = (wave.closes_at.astimezone(_zone(wave.timezone)) - timedelta(seconds=1)).date()
        if launched and opens is not None and opens != old_opens:
            raise WaveStateError(_l("the opening day cannot change once the wave is launched"))
        opens_at, closes_at = day_bounds(opens or old_opens, closes or old_closes, zone)
        if closes is not None and closes != old_closes and closes_at <= utcnow():
            raise WaveError(
                _l(
                    "dates: the closing day (%(closes)s) has already passed",
                    closes=closes.isoformat(),
                )
            )
        wave.opens_at, wave.closes_at = opens_at, closes_at
        wave.timezone = zone
    if reminder_max is not None:
        wave.reminder_max = reminder_max
    if reminder_min_days is not None:
        wave.reminder_min_days = reminder_min_days
    audit.record(
        session, actor, "wave.update", f"wave {wave.id}", jurisdiction_id=wave.jurisdiction_id
    )
    session.commit()
    return wave


def get_wave(session: Session, actor: User | None, wave_id: int, *, manage: bool = True) -> Wave:
    """A wave the actor may manage (or, with ``manage=False``, see totals of)."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    if actor is not None:
        allowed = (
            can_manage_jurisdiction(actor, wave.jurisdiction_id)
            if manage
            else can_see_jurisdiction_totals(actor, wave.jurisdiction_id)
        )
        require(allowed, _l("this wave"))
    return wave


def list_waves(
    session: Session, actor: User | None, jurisdiction_id: int | None = None
) -> Sequence[Wave]:
    query = select(Wave).order_by(Wave.year.desc(), Wave.id.desc())
    if jurisdiction_id is not None:
        query = query.where(Wave.jurisdiction_id == jurisdiction_id)
    if actor is not None and not is_national(actor):
        require(
            actor.jurisdiction_id is not None
            and (jurisdiction_id in (None, actor.jurisdiction_id))
            and can_manage_jurisdiction(actor, actor.jurisdiction_id),
            _l("these waves"),
        )
        query = query.where(Wave.jurisdiction_id == actor.jurisdiction_id)
    return session.scalars(query).all()


def launch_wave(
    session: Session,
    actor: User | None,
    wave_id: int,
    *,
    mailer_public: sealing.PublicKey,
    now: datetime | None = None,
) -> int:
    """Open a draft wave: one invitation per active roster entry, emails queued. Returns the count.

    Each token is random; the database keeps its SHA-256 and the token sealed to
    ``mailer_public`` (for the mail job). The caller dispatches delivery jobs after this returns
    (the invitations are committed).
    """
    now = now or utcnow()
    wave = get_wave(session, actor, wave_id)
    if wave.status != WaveStatus.DRAFT:
        raise WaveStateError(
            _l(
                "wave %(id)s was already launched (%(status)s)",
                id=wave.id,
                status=value_label(wave.status),
            )
        )
    if wave.closes_at <= now:
        raise WaveStateError(_l("the closing day has passed; change the dates first"))
    try:
        definition_of(wave.instrument)
    except surveys.InstrumentError as error:
        raise WaveError(
            _l(
                "instrument: the stored definition is invalid (%(problem)s)",
                problem=error.errors[0],
            )
        ) from None
    entries = session.execute(
        select(RosterEntry.unit_id, RosterEntry.email, RosterEntry.language)
        .join(OrgUnit, RosterEntry.unit_id == OrgUnit.id)
        .where(
            RosterEntry.jurisdiction_id == wave.jurisdiction_id,
            RosterEntry.active.is_(True),
        )
        .order_by(RosterEntry.email)
    ).all()
    if not entries:
        raise WaveError(_l("the roster is empty: import the staff list before launching"))
    rows = []
    for unit_id, email, language in entries:
        token = tokens.new_token()
        rows.append(
            {
                "wave_id": wave.id,
                "unit_id": unit_id,
                "email": email,
                "language": language,
                "token_hash": tokens.hash_token(token),
                "token_sealed": tokens.seal_token(mailer_public, token),
                "completed": False,
                "delivery_status": DeliveryStatus.QUEUED,
                "send_wanted": 0,
                "send_done": -1,
                "attempts": 0,
            }
        )
    changed = session.execute(
        update(Wave)
        .where(Wave.id == wave.id, Wave.status == WaveStatus.DRAFT)
        .values(status=WaveStatus.OPEN, launched_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:  # a concurrent launch won
        session.rollback()
        raise WaveStateError(_l("wave %(id)s was already launched", id=wave.id))
    wave.status, wave.launched_at = WaveStatus.OPEN, now
    for start in range(0, len(rows), 5000):
        session.execute(insert(Invitation), rows[start : start + 5000])
    # The tree and counts of this moment are the wave's for good: a later roster import
    # (new units, a team that became an office) must not change its reports.
    history.freeze_tree(session, wave.id, wave.jurisdiction_id, [u for u, _, _ in entries])
    audit.record(
        session,
        actor,
        "wave.launch",
        f"wave {wave.id} ({wave.year})",
        jurisdiction_id=wave.jurisdiction_id,
        invitations=len(rows),
    )
    session.commit()
    return len(rows)


def remind_wave(
    session: Session, actor: User | None, wave_id: int, *, now: datetime | None = None
) -> int:
    """Ask for one more send to everyone who has not answered and did not bounce.

    Who gets it is decided when it is sent as well: the claim skips anyone who answered since.
    Refused when the reminder plan is used up or the last reminder was too recent.
    """
    now = now or utcnow()
    wave = get_wave(session, actor, wave_id)
    if wave.status != WaveStatus.OPEN:
        raise WaveStateError(_l("wave %(id)s is not open", id=wave.id))
    if wave.reminders_sent >= wave.reminder_max:
        raise WaveStateError(
            _l("all %(n)s planned reminders were already sent", n=wave.reminder_max)
        )
    if wave.last_reminder_at is not None and now < wave.last_reminder_at + timedelta(
        days=wave.reminder_min_days
    ):
        next_day = (wave.last_reminder_at + timedelta(days=wave.reminder_min_days)).date()
        raise WaveStateError(
            _l(
                "reminders must be %(days)s days apart (next: %(next)s)",
                days=wave.reminder_min_days,
                next=next_day.isoformat(),
            )
        )
    number = wave.reminders_sent + 1
    result = session.execute(
        update(Invitation)
        .where(
            Invitation.wave_id == wave.id,
            Invitation.completed.is_(False),
            Invitation.email.is_not(None),
            Invitation.delivery_status != DeliveryStatus.BOUNCED,
        )
        .values(
            send_wanted=number,
            attempts=case(
                (Invitation.delivery_status == DeliveryStatus.SENDING, Invitation.attempts),
                else_=0,
            ),
            next_attempt_at=case(
                (Invitation.delivery_status == DeliveryStatus.SENDING, Invitation.next_attempt_at),
                else_=None,
            ),
            delivery_status=case(
                (Invitation.delivery_status == DeliveryStatus.SENDING, DeliveryStatus.SENDING),
                else_=DeliveryStatus.QUEUED,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    wave.reminders_sent = number
    wave.last_reminder_at = now
    audit.record(
        session,
        actor,
        "wave.remind",
        f"wave {wave.id} ({wave.year})",
        jurisdiction_id=wave.jurisdiction_id,
        reminder=number,
        queued=count,
    )
    session.commit()
    return count


def close_wave(
    session: Session,
    actor: User | str | None,
    wave_id: int,
    *,
    instance_path: str | Path | None = None,
    now: datetime | None = None,
) -> Wave:
    """Close an open wave: links stop working, emails and sealed link tokens are erased.

    Counts (invited, delivery states, answered) are kept. What still waits in the shuffle pool
    is moved by :func:`finish_close`, which runs in the mixer job (the only holder of the mix
    private key); the caller queues it (``tasks.mix_wave``).
    """
    now = now or utcnow()
    wave = get_wave(session, actor if isinstance(actor, User) else None, wave_id)
    if wave.status != WaveStatus.OPEN:
        raise WaveStateError(
            _l("wave %(id)s is not open (%(status)s)", id=wave.id, status=value_label(wave.status))
        )
    changed = session.execute(
        update(Wave)
        .where(Wave.id == wave.id, Wave.status == WaveStatus.OPEN)
        .values(status=WaveStatus.CLOSED, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) != 1:
        session.rollback()
        raise WaveStateError(_l("wave %(id)s is already closed", id=wave.id))
    wave.status, wave.closed_at = WaveStatus.CLOSED, now
    session.execute(
        update(Invitation)
        .where(Invitation.wave_id == wave.id)
        .values(
            email=None,
            token_sealed=None,
            next_attempt_at=None,
            delivery_status=case(
                (
                    Invitation.delivery_status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
                    DeliveryStatus.FAILED,
                ),
                else_=Invitation.delivery_status,
            ),
            delivery_detail=case(
                (
                    Invitation.delivery_status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
                    "not sent: the wave closed first",
                ),
                else_=Invitation.delivery_detail,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(Draft).where(Draft.wave_id == wave.id))
    audit.record(
        session,
        actor,
        "wave.close",
        f"wave {wave.id} ({wave.year})",
        jurisdiction_id=wave.jurisdiction_id,
        automatic=not isinstance(actor, User) and actor == "system",
    )
    session.commit()
    # The erased addresses, sealed links and deleted drafts leave SQLite's WAL now, not only
    # after the mixer's final flush (which may wait for a worker).
    scrub_journal(session)
    if instance_path is not None:
        mail.purge_outbox(instance_path, wave.id)
    return wave


def finish_close(session: Session, wave_id: int, *, mix_keys: sealing.Keyring) -> int:
    """After a close: move everything still pooled into responses (the mixer job runs this).

    Returns how many answer sets moved. Safe to run again (nothing left: 0).
    """
    from app.services import responses

    moved = responses.move_pool(session, wave_id, flush_all=True, keys=mix_keys)
    scrub_after_close(session, wave_id)
    return moved


#: Tables whose dead row versions could still hold what a close erased or the mixer moved.
SCRUBBED_TABLES = ("pending_responses", "drafts", "invitations", "language_holdbacks")


def scrub_after_close(session: Session, wave_id: int) -> None:
    """No copy of erased addresses, tokens, drafts or pool rows left in dead tuples or the WAL.

    Answer sets still held back for a language too small to add to the per-language sums are
    deleted first. Then SQLite's WAL is checkpointed and truncated, and PostgreSQL's pool, drafts
    and invitations are rewritten (VACUUM FULL, outside any transaction). A session bound to one
    connection (a caller's own transaction, as in most tests) skips that step: VACUUM cannot run
    inside a transaction, and a checkpoint would wait for it.
    """
    from app.services import background

    background.discard_held(session, wave_id)
    session.commit()
    bind = session.get_bind()
    if isinstance(bind, Engine):
        vacuum_tables(bind, SCRUBBED_TABLES)


def waves_to_mix(session: Session) -> list[tuple[int, bool]]:
    """Waves whose pool holds anything: (wave id, closed) — what the periodic mixer looks at."""
    from app.models import PendingResponse

    rows = session.execute(
        select(Wave.id, Wave.status)
        .where(Wave.id.in_(select(PendingResponse.wave_id).distinct()))
        .order_by(Wave.id)
    ).all()
    session.rollback()
    return [(int(wave_id), status == WaveStatus.CLOSED) for wave_id, status in rows]


def close_due_waves(
    session: Session, *, instance_path: str | Path | None = None, now: datetime | None = None
) -> list[int]:
    """Close every open wave whose closing time has passed (the periodic task)."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Wave.id).where(Wave.status == WaveStatus.OPEN, Wave.closes_at <= now)
        )
    )
    session.rollback()
    closed = []
    for wave_id in due:
        try:
            close_wave(session, "system", wave_id, instance_path=instance_path, now=now)
        except WaveStateError:
            continue  # closed by someone else meanwhile
        closed.append(wave_id)
    return closed


def retry_failed(session: Session, actor: User | None, wave_id: int) -> int:
    """Queue the wave's failed deliveries again (bounced addresses stay bounced)."""
    wave = get_wave(session, actor, wave_id)
    if wave.status != WaveStatus.OPEN:
        raise WaveStateError(_l("wave %(id)s is not open", id=wave.id))
    count = delivery.retry_failed(session, wave.id)
    audit.record(
        session,
        actor,
        "wave.retry_failed",
        f"wave {wave.id} ({wave.year})",
        jurisdiction_id=wave.jurisdiction_id,
        queued=count,
    )
    session.commit()
    return count


# --- the dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRow:
    path: str
    depth: int
    invited: int
    delivered: int
    #: None where the answered count is not shown (see ``dashboard``), with why.
    answered: int | None
    #: "too_few" (fewer than the minimum answered) or "protects_smaller" when hidden.
    hidden_reason: str | None = None
    #: Whether a unit above it is listed (so "counted above" is true).
    counted_above: bool = False

    @property
    def rate(self) -> float | None:
        if self.answered is None or not self.invited:
            return None
        return self.answered / self.invited


@dataclass(frozen=True)
class Dashboard:
    wave: Wave
    status: delivery.StatusCounts
    units: list[UnitRow]
    hidden_units: int
    daily: list[tuple[date, int]]
    failure_reasons: Sequence[tuple[str, int]]


def dashboard(session: Session, actor: User | None, wave_id: int) -> Dashboard:
    """Counts per unit of the wave's launch tree (small units only inside their parents).

    Which units are listed is decided by ``scoring.disclosure.suppress`` on invitee counts, so
    a hidden unit cannot be recovered by subtracting its shown siblings from their parent. A
    unit's answered count is shown only where the wave's publication shows its responses and
    the same rule on answered counts allows it ("how many answered" in a small group is itself
    something the threshold protects).
    """
    from scoring.disclosure import suppress

    wave = get_wave(session, actor, wave_id)
    tree_units = _wave_units(session, wave)
    direct: dict[int, list[int]] = {}
    for unit_id, invited, delivered, answered in session.execute(
        select(
            Invitation.unit_id,
            func.count(),
            func.coalesce(func.sum(case((Invitation.send_done >= 0, 1), else_=0)), 0),
            func.coalesce(func.sum(case((Invitation.completed.is_(True), 1), else_=0)), 0),
        )
        .where(Invitation.wave_id == wave.id)
        .group_by(Invitation.unit_id)
    ).all():
        if unit_id in tree_units:
            direct[unit_id] = [int(invited), int(delivered), int(answered)]
    totals: dict[int, list[int]] = {}
    for unit_id, counts in direct.items():
        node: int | None = unit_id
        while node is not None:
            acc = totals.setdefault(node, [0, 0, 0])
            for i in range(3):
                acc[i] += counts[i]
            node = tree_units[node][2]
    tree = {
        str(uid): (str(tree_units[uid][2]) if tree_units[uid][2] is not None else None)
        for uid in totals
    }
    min_n = max(wave.min_report_n, 3)
    hidden = suppress(tree, {str(k): v[0] for k, v in direct.items()}, min_n)
    quiet = suppress(tree, {str(k): v[2] for k, v in direct.items()}, min_n)
    published = _published_responses(session, wave.id)
    rows = []
    for uid in totals:
        if str(uid) in hidden:
            continue
        path, depth, parent = tree_units[uid]
        shown_answered: int | None = totals[uid][2]
        reason = None
        if str(uid) in quiet or (published is not None and not published.get(uid, False)):
            shown_answered = None
            reason = "too_few" if totals[uid][2] < min_n else "protects_smaller"
        above = parent is not None and str(parent) not in hidden
        rows.append(
            UnitRow(path, depth, totals[uid][0], totals[uid][1], shown_answered, reason, above)
        )
    rows.sort(key=lambda r: r.path)
    grand = sum(v[2] for v in direct.values())
    daily: list[tuple[date, int]] = []
    if grand >= wave.min_report_n:
        daily = [
            (day, int(n))
            for day, n in session.execute(
                select(DailyCount.day, func.sum(DailyCount.submissions))
                .where(DailyCount.wave_id == wave.id)
                .group_by(DailyCount.day)
                .order_by(DailyCount.day)
            ).all()
        ]
    return Dashboard(
        wave=wave,
        status=delivery.status_counts(session, wave.id),
        units=rows,
        hidden_units=len([uid for uid in totals if str(uid) in hidden]),
        daily=daily,
        failure_reasons=delivery.failed_details(session, wave.id),
    )


def _wave_units(session: Session, wave: Wave) -> dict[int, tuple[str, int, int | None]]:
    """unit id → (path, depth, parent id) of the wave's launch tree (current tree if none)."""
    frozen = history.find_frozen_tree(session, wave.id)
    if frozen is not None:
        parents = {u.id: u.parent_id for u in frozen}
        paths = {u.id: u.path for u in frozen}
    else:
        current = session.execute(
            select(OrgUnit.id, OrgUnit.parent_id, OrgUnit.path).where(
                OrgUnit.jurisdiction_id == wave.jurisdiction_id
            )
        ).all()
        parents = {r.id: r.parent_id for r in current}
        paths = {r.id: r.path for r in current}

    def depth(unit_id: int) -> int:
        d, up = 0, parents[unit_id]
        while up is not None:
            d, up = d + 1, parents.get(up)
        return d

    return {u: (paths[u], depth(u), parents[u]) for u in parents}


def _published_responses(session: Session, wave_id: int) -> dict[int, bool] | None:
    """Per unit, whether the wave's publication gives it a report with its response count
    (None: no responses stored yet, so there is no publication and the answered-count rule
    alone decides)."""
    from app.services import reports

    try:
        results = reports.wave_results(session, wave_id)
    except reports.NoResponses:
        return None
    return {uid: results.shown(uid) for uid in results.units}


def wave_totals(session: Session, actor: User | None, wave_id: int) -> delivery.StatusCounts:
    """Whole-wave counts (national may read these; no unit breakdown)."""
    wave = get_wave(session, actor, wave_id, manage=False)
    return delivery.status_counts(session, wave.id)
