"""Action plans: what a team decided to change after talking about its results.

Written by leaders, about a unit whose results are shown; never by or about one respondent.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_values, utcnow


class ActionStatus(enum.StrEnum):
    PLANNED = "planned"
    UNDER_WAY = "under_way"
    DONE = "done"
    DROPPED = "dropped"


class ActionPlan(Base):
    """One unit's plan after one wave: up to three focus areas (scales)."""

    __tablename__ = "action_plans"
    __table_args__ = (UniqueConstraint("wave_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    focus_areas: Mapped[list[PlanFocus]] = relationship(
        back_populates="plan",
        cascade="all, delete-orphan",
        order_by="PlanFocus.position",
    )


class PlanFocus(Base):
    """A scale the team chose to work on, with the actions it agreed."""

    __tablename__ = "plan_focus_areas"
    __table_args__ = (UniqueConstraint("plan_id", "scale_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("action_plans.id", ondelete="CASCADE"), index=True
    )
    scale_key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)

    plan: Mapped[ActionPlan] = relationship(back_populates="focus_areas")
    actions: Mapped[list[PlanAction]] = relationship(
        back_populates="focus",
        cascade="all, delete-orphan",
        order_by="PlanAction.position",
    )


class PlanAction(Base):
    """One agreed action: what, who by role (never a person's name), by when, how far."""

    __tablename__ = "plan_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    focus_id: Mapped[int] = mapped_column(
        ForeignKey("plan_focus_areas.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(500))
    owner_role: Mapped[str] = mapped_column(String(100))
    target_date: Mapped[date | None] = mapped_column()
    status: Mapped[ActionStatus] = mapped_column(
        Enum(ActionStatus, native_enum=False, length=16, values_callable=enum_values),
        default=ActionStatus.PLANNED,
    )

    focus: Mapped[PlanFocus] = relationship(back_populates="actions")
