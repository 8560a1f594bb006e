"""Answers: encrypted drafts, the shuffle pool, stored responses and daily counts.

Nothing here references an invitation, and nothing records when or in what order an answer
arrived (see DESIGN.md, "The anonymity model"). ``tests/test_schema_guard.py`` enforces it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, random_uuid


class Draft(Base):
    """Unfinished answers, encrypted with a key derived from the survey token (not kept)."""

    __tablename__ = "drafts"

    #: SHA-256 of a derivation of the token — not the invitation's token hash.
    lookup: Mapped[str] = mapped_column(String(64), primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class PendingResponse(Base):
    """A submitted answer set waiting in the shuffle pool, encrypted with a server key."""

    __tablename__ = "pending_responses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=random_uuid)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class Response(Base):
    """One anonymous response: a random id, its wave and unit, and the answers. Nothing else.

    No background answer and no language: next to a unit they pick a person out. They are kept
    as jurisdiction-wide counters (``app/models/background.py``).
    """

    __tablename__ = "responses"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=random_uuid)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    #: item key → raw answer 1..points; missing items are absent.
    answers: Mapped[dict[str, Any]] = mapped_column()
    comment: Mapped[str | None] = mapped_column(Text)


class DailyCount(Base):
    """Submissions per unit and day: response-rate curves come from here, never from responses."""

    __tablename__ = "daily_counts"

    wave_id: Mapped[int] = mapped_column(
        ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    submissions: Mapped[int] = mapped_column(Integer, default=0)
