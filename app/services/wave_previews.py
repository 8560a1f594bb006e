"""What launching or closing a wave will do, in numbers, for the confirmation pages.

Both actions cannot be undone (a launch sends thousands of emails; a close erases every address
and link), so the administration shows these figures and asks again before doing either.
Figures are counts over the whole wave, the same totals the wave page already shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.i18n import lazy_message as _l
from app.i18n import value_label
from app.models import DeliveryStatus, Invitation, RosterEntry, User, Wave, WaveStatus
from app.services.waves import WaveStateError, get_wave


@dataclass(frozen=True)
class LaunchPreview:
    """What a launch will send."""

    wave: Wave
    invitations: int
    by_language: tuple[tuple[str, int], ...]
    units: int


@dataclass(frozen=True)
class ClosePreview:
    """What a close will stop and erase."""

    wave: Wave
    invited: int
    answered: int
    never_sent: int


def launch_preview(session: Session, actor: User | None, wave_id: int) -> LaunchPreview:
    """How many people a launch of this draft wave invites, by email language."""
    wave = get_wave(session, actor, wave_id)
    if wave.status != WaveStatus.DRAFT:
        raise WaveStateError(
            _l(
                "wave %(id)s was already launched (%(status)s)",
                id=wave.id,
                status=value_label(wave.status),
            )
        )
    active = (
        RosterEntry.jurisdiction_id == wave.jurisdiction_id,
        RosterEntry.active.is_(True),
    )
    languages = session.execute(
        select(RosterEntry.language, func.count())
        .where(*active)
        .group_by(RosterEntry.language)
        .order_by(RosterEntry.language)
    ).all()
    units = session.scalar(select(func.count(func.distinct(RosterEntry.unit_id))).where(*active))
    return LaunchPreview(
        wave=wave,
        invitations=sum(int(n) for _, n in languages),
        by_language=tuple((str(language), int(n)) for language, n in languages),
        units=int(units or 0),
    )


def close_preview(session: Session, actor: User | None, wave_id: int) -> ClosePreview:
    """How many were invited, have answered, and would never get their email if closed now."""
    wave = get_wave(session, actor, wave_id)
    if wave.status != WaveStatus.OPEN:
        raise WaveStateError(
            _l(
                "wave %(id)s is not open (%(status)s)",
                id=wave.id,
                status=value_label(wave.status),
            )
        )
    invited, answered, never_sent = session.execute(
        select(
            func.count(),
            func.count().filter(Invitation.completed.is_(True)),
            func.count().filter(
                Invitation.delivery_status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING])
            ),
        ).where(Invitation.wave_id == wave.id)
    ).one()
    return ClosePreview(
        wave=wave, invited=int(invited), answered=int(answered), never_sent=int(never_sent)
    )


def next_wave_year(session: Session, jurisdiction_id: int, *, today: datetime | None = None) -> int:
    """The year a new wave most likely is: this year, or the one after the latest wave."""
    this_year = (today or datetime.now(UTC)).year
    latest = session.scalar(
        select(func.max(Wave.year)).where(Wave.jurisdiction_id == jurisdiction_id)
    )
    return max(this_year, int(latest) + 1) if latest is not None else this_year


@dataclass(frozen=True)
class EditValues:
    """A wave's settings as the edit form shows them: whole days in the wave's time zone."""

    opens: date
    closes: date
    timezone: str
    reminder_max: int
    reminder_min_days: int
    min_report_n: int
    pool_k: int


def edit_values(wave: Wave) -> EditValues:
    """The opening and closing day as the administrator chose them (the end is exclusive)."""
    zone = ZoneInfo(wave.timezone)
    opens = wave.opens_at.astimezone(zone).date()
    closes = (wave.closes_at.astimezone(zone) - timedelta(seconds=1)).date()
    return EditValues(
        opens=opens,
        closes=closes,
        timezone=wave.timezone,
        reminder_max=wave.reminder_max,
        reminder_min_days=wave.reminder_min_days,
        min_report_n=wave.min_report_n,
        pool_k=wave.pool_k,
    )
