"""Jurisdictions: created by the national coordinator; each owns its tree, roster and waves."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.i18n import lazy_message as _l
from app.models import Jurisdiction, OrgUnit, UnitKind, User
from app.services import audit
from app.services.access import can_manage_jurisdictions, is_national, require

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


class JurisdictionError(Exception):
    """Invalid jurisdiction data (one line saying what is wrong)."""


class NotFound(Exception):
    """No such object (or not visible to this user)."""


def create_jurisdiction(
    session: Session,
    actor: User | None,
    *,
    name: str,
    slug: str,
) -> Jurisdiction:
    """Add a jurisdiction with its agency root unit; national only (or the CLI)."""
    if actor is not None:
        require(can_manage_jurisdictions(actor), _l("jurisdictions"))
    name = " ".join(name.split())
    slug = slug.strip().lower()
    if not name:
        raise JurisdictionError(_l("name: required"))
    if not SLUG_PATTERN.match(slug):
        raise JurisdictionError(
            _l(
                "slug: %(slug)s must be lowercase letters, digits and hyphens (e.g. 'lake-county')",
                slug=repr(slug),
            )
        )
    if session.scalars(select(Jurisdiction).where(Jurisdiction.slug == slug)).first():
        raise JurisdictionError(_l("slug: a jurisdiction %(slug)s already exists", slug=repr(slug)))
    jurisdiction = Jurisdiction(name=name, slug=slug)
    session.add(jurisdiction)
    session.flush()
    session.add(
        OrgUnit(
            jurisdiction_id=jurisdiction.id,
            parent_id=None,
            name=name,
            path="",
            kind=UnitKind.AGENCY,
            active=True,
        )
    )
    audit.record(
        session,
        actor,
        "jurisdiction.create",
        f"jurisdiction {slug}",
        jurisdiction_id=jurisdiction.id,
    )
    session.commit()
    return jurisdiction


def get_jurisdiction_by_slug(session: Session, slug: str) -> Jurisdiction:
    found = session.scalars(select(Jurisdiction).where(Jurisdiction.slug == slug)).first()
    if found is None:
        raise NotFound(_l("no jurisdiction %(slug)s", slug=repr(slug)))
    return found


def get_jurisdiction(session: Session, jurisdiction_id: int) -> Jurisdiction:
    found = session.get(Jurisdiction, jurisdiction_id)
    if found is None:
        raise NotFound(_l("no jurisdiction %(id)s", id=jurisdiction_id))
    return found


def list_jurisdictions(session: Session, user: User | None) -> Sequence[Jurisdiction]:
    """Jurisdictions the user can see: all for national and the CLI, else its own."""
    query = select(Jurisdiction).order_by(Jurisdiction.name)
    if user is not None and not is_national(user):
        query = query.where(Jurisdiction.id == user.jurisdiction_id)
    return session.scalars(query).all()


def root_unit(session: Session, jurisdiction_id: int) -> OrgUnit:
    """The agency root of a jurisdiction (created with it; recreated if missing)."""
    root = session.scalars(
        select(OrgUnit).where(OrgUnit.jurisdiction_id == jurisdiction_id, OrgUnit.path == "")
    ).first()
    if root is None:
        jurisdiction = get_jurisdiction(session, jurisdiction_id)
        root = OrgUnit(
            jurisdiction_id=jurisdiction_id,
            parent_id=None,
            name=jurisdiction.name,
            path="",
            kind=UnitKind.AGENCY,
            active=True,
        )
        session.add(root)
        session.flush()
    return root
