"""Data-sharing agreements: per jurisdiction and wave, what may leave it, with full history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import N_
from app.i18n import lazy_message as _l
from app.models import (
    Jurisdiction,
    ReceivedContribution,
    SharingAgreement,
    SharingLevel,
    User,
    Wave,
    utcnow,
)
from app.services import audit
from app.services.access import can_manage_jurisdiction, is_national, require
from app.services.jurisdictions import NotFound

#: What each level means, for the admin page and the contribution preview (English msgids: the
#: templates translate them when they show them).
LEVEL_MEANING = {
    SharingLevel.NONE: N_("Nothing leaves this jurisdiction."),
    SharingLevel.BENCHMARK: N_("The published figures of units its reports show, for benchmarks."),
    SharingLevel.PSYCHOMETRIC: N_(
        "Benchmark figures and summary statistics (means, covariances, counts, answer "
        "distributions): no respondent's row."
    ),
    SharingLevel.RESEARCH_EXTRACT: N_(
        "All of the above and a de-identified respondent-level extract for research."
    ),
}


class SharingError(Exception):
    """An agreement change that cannot be made (one line saying why)."""


@dataclass(frozen=True)
class AgreementRow:
    """One recorded decision, as the admin page lists it."""

    level: SharingLevel
    reference: str
    set_by: str
    set_at: datetime
    withdrawal: bool


@dataclass(frozen=True)
class WaveSharing:
    """A wave's level in force and (for its own administrators) the decisions that led there."""

    wave_id: int
    year: int
    jurisdiction_id: int
    jurisdiction_name: str
    level: SharingLevel
    reference: str
    history: tuple[AgreementRow, ...]


def current_agreement(session: Session, wave_id: int) -> SharingAgreement | None:
    """The decision in force for a wave (None: never decided, which shares nothing)."""
    return session.scalars(
        select(SharingAgreement)
        .where(SharingAgreement.wave_id == wave_id)
        .order_by(SharingAgreement.id.desc())
        .limit(1)
    ).first()


def current_level(session: Session, wave_id: int) -> SharingLevel:
    agreement = current_agreement(session, wave_id)
    return agreement.level if agreement is not None else SharingLevel.NONE


def _history(session: Session, wave_id: int) -> tuple[AgreementRow, ...]:
    rows = session.scalars(
        select(SharingAgreement)
        .where(SharingAgreement.wave_id == wave_id)
        .order_by(SharingAgreement.id)
    ).all()
    out: list[AgreementRow] = []
    previous = SharingLevel.NONE
    for row in rows:
        out.append(
            AgreementRow(
                row.level, row.reference, row.set_by, row.set_at, row.level.rank < previous.rank
            )
        )
        previous = row.level
    return tuple(reversed(out))


def list_sharing(session: Session, actor: User | None) -> list[WaveSharing]:
    """Every wave the actor may see with its level: national all, an administrator its own.

    Only a jurisdiction's own administrators (and the CLI) get the history of decisions.
    """
    query = select(Wave, Jurisdiction).join(Jurisdiction, Wave.jurisdiction_id == Jurisdiction.id)
    if actor is not None and not is_national(actor):
        require(
            actor.jurisdiction_id is not None
            and can_manage_jurisdiction(actor, actor.jurisdiction_id),
            _l("data-sharing agreements"),
        )
        query = query.where(Wave.jurisdiction_id == actor.jurisdiction_id)
    out = []
    for wave, jurisdiction in session.execute(
        query.order_by(Jurisdiction.name, Wave.year.desc())
    ).all():
        agreement = current_agreement(session, wave.id)
        own = actor is None or can_manage_jurisdiction(actor, wave.jurisdiction_id)
        out.append(
            WaveSharing(
                wave_id=wave.id,
                year=wave.year,
                jurisdiction_id=jurisdiction.id,
                jurisdiction_name=jurisdiction.name,
                level=agreement.level if agreement else SharingLevel.NONE,
                reference=agreement.reference if agreement else "",
                history=_history(session, wave.id) if own else (),
            )
        )
    return out


def set_level(
    session: Session,
    actor: User | None,
    wave_id: int,
    level: SharingLevel | str,
    *,
    reference: str = "",
) -> SharingAgreement:
    """Record a new sharing level for a wave (its own administrators only; audited; commits).

    A level above "none" needs the agreement's reference. Lowering the level is a withdrawal:
    contributions above the new level already in this deployment's national store are marked
    withdrawn, so national outputs built afterwards leave them out.
    """
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    if actor is not None:
        require(can_manage_jurisdiction(actor, wave.jurisdiction_id), _l("this wave's agreement"))
    try:
        new = SharingLevel(level)
    except ValueError:
        choices = ", ".join(v.value for v in SharingLevel)
        raise SharingError(
            _l("level: %(level)s is not one of %(choices)s", level=repr(level), choices=choices)
        ) from None
    reference = " ".join(reference.split())
    if new != SharingLevel.NONE and not reference:
        raise SharingError(_l("reference: say under which signed agreement this is shared"))
    if len(reference) > 200:
        raise SharingError(_l("reference: at most %(n)s characters", n=200))
    old = current_level(session, wave_id)
    if actor is not None:
        set_by_id, set_by = actor.id, actor.email
    else:
        set_by_id, set_by = None, audit.CLI_ACTOR
    row = SharingAgreement(
        jurisdiction_id=wave.jurisdiction_id,
        wave_id=wave.id,
        level=new,
        reference=reference,
        set_by_id=set_by_id,
        set_by=set_by,
    )
    session.add(row)
    withdrawn = 0
    if new.rank < old.rank:
        jurisdiction = session.get(Jurisdiction, wave.jurisdiction_id)
        assert jurisdiction is not None  # foreign key
        now = utcnow()
        for received in session.scalars(
            select(ReceivedContribution).where(
                ReceivedContribution.jurisdiction_slug == jurisdiction.slug,
                ReceivedContribution.year == wave.year,
                ReceivedContribution.withdrawn_at.is_(None),
            )
        ):
            if received.level.rank > new.rank:
                received.withdrawn_at = now
                withdrawn += 1
    audit.record(
        session,
        actor,
        "sharing.withdraw" if new.rank < old.rank else "sharing.set",
        f"wave {wave.year}",
        jurisdiction_id=wave.jurisdiction_id,
        level=new.value,
        previous=old.value,
        reference=reference,
        withdrawn_contributions=withdrawn,
    )
    session.commit()
    return row


def levels() -> Sequence[SharingLevel]:
    return list(SharingLevel)


def require_own_wave(session: Session, actor: User | None, wave_id: int) -> Wave:
    """The wave, if ``actor`` administers its jurisdiction (NotFound / PermissionDenied)."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFound(_l("no wave %(id)s", id=wave_id))
    if actor is not None:
        require(
            can_manage_jurisdiction(actor, wave.jurisdiction_id), _l("this wave's data sharing")
        )
    return wave
