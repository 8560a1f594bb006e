"""What a wave was launched on: its organisation tree and how many people each unit invited."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class WaveUnit(Base):
    """One unit of the tree a wave was launched on, frozen at launch.

    Reports, listings and dashboards of the wave read the tree from here, so importing a later
    roster (new units, a team that became an office, units left empty) never changes what a
    past wave publishes. ``invited`` counts the invitations sent to the unit itself (not its
    subtree); ``parent_unit_id`` is the parent at launch. Counts only: nothing about a person.
    """

    __tablename__ = "wave_units"
    __table_args__ = (UniqueConstraint("wave_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    parent_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(16))
    invited: Mapped[int] = mapped_column(Integer, default=0)
