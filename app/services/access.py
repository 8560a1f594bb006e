"""Who may do what: the one module that decides scope for admin pages, reports and the CLI.

Rules
-----
- ``national``: manages jurisdictions, accounts and the audit log of every jurisdiction; sees a
  jurisdiction's waves only as totals (status, invited, answered), never its roster or unit rows.
- ``jurisdiction_admin``: everything inside its own jurisdiction (roster, waves, dashboards,
  accounts of that jurisdiction, its audit log).
- ``leader``: reads reports for the units assigned to it and every unit below them.
- data steward: a permission of a jurisdiction administrator (``User.data_steward``), granted by
  another administrator of the same jurisdiction or the CLI, never by the account itself. Only a
  steward downloads the respondent-level research extract of its jurisdiction's waves.

The CLI runs as the operator of the machine and passes ``actor=None``; services skip the checks
for it (whoever can run ``flask`` can already read the database).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import Message
from app.i18n import lazy_message as _l
from app.models import PATH_SEPARATOR, OrgUnit, Role, User


class PermissionDenied(Exception):
    """The user may not do this, or may not see this object."""


def is_national(user: User | None) -> bool:
    return user is not None and user.active and user.role == Role.NATIONAL


def can_manage_jurisdictions(user: User | None) -> bool:
    """Create jurisdictions and run the national cycle: the national coordinator only."""
    return is_national(user)


def can_manage_jurisdiction(user: User | None, jurisdiction_id: int) -> bool:
    """Roster, waves, invitations and dashboards of one jurisdiction: its own administrators."""
    return (
        user is not None
        and user.active
        and user.role == Role.JURISDICTION_ADMIN
        and user.jurisdiction_id == jurisdiction_id
    )


def can_export_extract(user: User | None, jurisdiction_id: int) -> bool:
    """Respondent-level research extracts of a jurisdiction: its administrators who are stewards."""
    return can_manage_jurisdiction(user, jurisdiction_id) and bool(
        user is not None and user.data_steward
    )


def can_grant_stewardship(actor: User | None, target: User) -> bool:
    """Another administrator of the target's own jurisdiction (two people, never oneself)."""
    return (
        actor is not None
        and actor.id != target.id
        and target.jurisdiction_id is not None
        and can_manage_jurisdiction(actor, target.jurisdiction_id)
    )


def can_see_jurisdiction_totals(user: User | None, jurisdiction_id: int) -> bool:
    """Wave status and jurisdiction-wide totals: its administrators and the national office."""
    return is_national(user) or can_manage_jurisdiction(user, jurisdiction_id)


def can_read_audit(user: User | None, jurisdiction_id: int | None) -> bool:
    """National reads every event; an administrator reads its own jurisdiction's events."""
    if is_national(user):
        return True
    return jurisdiction_id is not None and can_manage_jurisdiction(user, jurisdiction_id)


def is_within(unit: OrgUnit, ancestor: OrgUnit) -> bool:
    """True if ``unit`` is ``ancestor`` or lies below it in the same jurisdiction."""
    if unit.jurisdiction_id != ancestor.jurisdiction_id:
        return False
    if ancestor.path == "" or unit.path == ancestor.path:
        return True
    return unit.path.startswith(ancestor.path + PATH_SEPARATOR)


def can_read_unit(user: User | None, unit: OrgUnit) -> bool:
    """Reports of a unit: its jurisdiction's administrators and leaders assigned at or above it."""
    if user is None or not user.active:
        return False
    if can_manage_jurisdiction(user, unit.jurisdiction_id):
        return True
    if user.role == Role.LEADER and user.jurisdiction_id == unit.jurisdiction_id:
        return any(is_within(unit, assigned) for assigned in user.units)
    return False


def units_in_scope(session: Session, user: User | None) -> list[OrgUnit]:
    """Every unit whose reports ``user`` may read, sorted by path (national: none)."""
    if user is None or not user.active or user.jurisdiction_id is None:
        return []
    units = session.scalars(
        select(OrgUnit)
        .where(OrgUnit.jurisdiction_id == user.jurisdiction_id)
        .order_by(OrgUnit.path)
    ).all()
    return [unit for unit in units if can_read_unit(user, unit)]


def can_manage_user(actor: User | None, role: Role, jurisdiction_id: int | None) -> bool:
    """Who may create or change an account with this role and jurisdiction.

    National manages every account; an administrator manages administrators and leaders of its
    own jurisdiction (never a national account).
    """
    if is_national(actor):
        return True
    return (
        role != Role.NATIONAL
        and jurisdiction_id is not None
        and can_manage_jurisdiction(actor, jurisdiction_id)
    )


_THIS = _l("this")  # what a refusal names when it names nothing


def require(allowed: bool, what: str | Message = _THIS) -> None:
    """Raise PermissionDenied unless ``allowed``."""
    if not allowed:
        raise PermissionDenied(_l("you may not access %(what)s", what=what))


def require_national(user: User | None) -> None:
    require(can_manage_jurisdictions(user), _l("the national administration"))


def require_jurisdiction_admin(user: User | None, jurisdiction_id: int) -> None:
    require(can_manage_jurisdiction(user, jurisdiction_id), _l("this jurisdiction"))


def require_unit(user: User | None, unit: OrgUnit) -> None:
    require(can_read_unit(user, unit), _l("this unit"))


def require_any(checks: Iterable[bool], what: str | Message = _THIS) -> None:
    require(any(checks), what)
