"""Jurisdictions, their organisation tree (agency → region → office → team) and staff roster."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_values, utcnow

#: Separator of unit paths as administrators write them: ``Region 3 / Office A / Team 7``.
PATH_SEPARATOR = " / "


class UnitKind(enum.StrEnum):
    AGENCY = "agency"
    REGION = "region"
    OFFICE = "office"
    TEAM = "team"


class Jurisdiction(Base):
    """A member county or state; owns its data (what it shares is decided per wave: sharing.py)."""

    __tablename__ = "jurisdictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    units: Mapped[list[OrgUnit]] = relationship(back_populates="jurisdiction")


class OrgUnit(Base):
    """A node of a jurisdiction's tree; ``path`` is its name below the agency root ('' for it)."""

    __tablename__ = "org_units"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[UnitKind] = mapped_column(
        Enum(UnitKind, native_enum=False, length=16, values_callable=enum_values)
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    jurisdiction: Mapped[Jurisdiction] = relationship(back_populates="units")
    parent: Mapped[OrgUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[OrgUnit]] = relationship(back_populates="parent")

    @property
    def depth(self) -> int:
        return 0 if not self.path else self.path.count(PATH_SEPARATOR) + 1


class RosterEntry(Base):
    """A staff member on the jurisdiction's current roster (the administrator's own list)."""

    __tablename__ = "roster_entries"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    imported_count: Mapped[int] = mapped_column(Integer, default=1)

    unit: Mapped[OrgUnit] = relationship()
