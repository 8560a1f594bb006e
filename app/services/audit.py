"""The audit log: who did which administrative action to what, and when (never survey answers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.i18n import lazy_message as _l
from app.models import AuditEvent, Role, User
from app.services.access import PermissionDenied

#: Operator of the command line (no account): shown as the actor of CLI actions.
CLI_ACTOR = "cli"

_FORBIDDEN_DETAIL_KEYS = frozenset({"answers", "answer", "token", "password", "comment"})


def record(
    session: Session,
    actor: User | str | None,
    action: str,
    target: str = "",
    *,
    jurisdiction_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add one event to the caller's transaction (the caller commits).

    ``actor`` is the signed-in user, a label such as ``"cli"`` or ``"system"``, or None (CLI).
    ``detail`` holds counts and identifiers only; keys that could carry answers, tokens or
    passwords are refused.
    """
    bad = _FORBIDDEN_DETAIL_KEYS & set(detail)
    if bad:
        raise ValueError(f"audit detail may not contain {sorted(bad)}")
    if isinstance(actor, User):
        actor_id: int | None = actor.id
        actor_label = actor.email
        if jurisdiction_id is None and actor.role != Role.NATIONAL:
            jurisdiction_id = actor.jurisdiction_id
    else:
        actor_id = None
        actor_label = actor or CLI_ACTOR
    event = AuditEvent(
        actor_id=actor_id,
        actor=actor_label[:320],
        action=action[:64],
        target=target[:500],
        jurisdiction_id=jurisdiction_id,
        detail=dict(detail),
    )
    session.add(event)
    return event


def record_alone(
    session: Session,
    actor: User | str | None,
    action: str,
    target: str = "",
    *,
    jurisdiction_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Record one event that stands alone and commit it: a download, a test message, a link
    sent — something that changes nothing else in the database but must leave a trace."""
    event = record(session, actor, action, target, jurisdiction_id=jurisdiction_id, **detail)
    session.commit()
    return event


def list_events(
    session: Session,
    user: User,
    *,
    jurisdiction_id: int | None = None,
    action: str | None = None,
    limit: int = 200,
    before_id: int | None = None,
) -> Sequence[AuditEvent]:
    """Newest events ``user`` may read (national: all, administrator: own jurisdiction)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if user.role == Role.NATIONAL and user.active:
        if jurisdiction_id is not None:
            query = query.where(AuditEvent.jurisdiction_id == jurisdiction_id)
    elif user.role == Role.JURISDICTION_ADMIN and user.active and user.jurisdiction_id:
        if jurisdiction_id not in (None, user.jurisdiction_id):
            raise PermissionDenied(_l("you may not read another jurisdiction's audit log"))
        query = query.where(
            or_(
                AuditEvent.jurisdiction_id == user.jurisdiction_id,
                AuditEvent.actor_id == user.id,
            )
        )
    else:
        raise PermissionDenied(_l("you may not read the audit log"))
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return session.scalars(query).all()
