"""Data-sharing agreements, contributions that left a jurisdiction, and the national store."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, enum_values, random_uuid, utcnow


class SharingLevel(enum.StrEnum):
    """What leaves a jurisdiction for a wave; each level includes the ones before it."""

    NONE = "none"
    BENCHMARK = "benchmark"
    PSYCHOMETRIC = "psychometric"
    RESEARCH_EXTRACT = "research_extract"

    @property
    def rank(self) -> int:
        return list(SharingLevel).index(self)


def _level_column() -> Any:
    return Enum(SharingLevel, native_enum=False, length=32, values_callable=enum_values)


class SharingAgreement(Base):
    """One decision on a wave's sharing level. Rows are never changed: the latest is in force.

    Lowering the level (a withdrawal) is a new row like any other, so the history shows who
    shared what under which agreement and when it was withdrawn.
    """

    __tablename__ = "sharing_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    level: Mapped[SharingLevel] = mapped_column(_level_column())
    reference: Mapped[str] = mapped_column(String(200), default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    set_by: Mapped[str] = mapped_column(String(320))
    set_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contribution(Base):
    """What a jurisdiction approved to leave it for one wave (the exact payload, kept)."""

    __tablename__ = "contributions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=random_uuid)
    jurisdiction_id: Mapped[int] = mapped_column(
        ForeignKey("jurisdictions.id", ondelete="CASCADE"), index=True
    )
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    level: Mapped[SharingLevel] = mapped_column(_level_column())
    digest: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    approved_by: Mapped[str] = mapped_column(String(320))
    approved_at: Mapped[datetime] = mapped_column(default=utcnow)
    exported_at: Mapped[datetime | None] = mapped_column()


class TrustedKey(Base):
    """A jurisdiction's Ed25519 public key, registered on the national instance."""

    __tablename__ = "trusted_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_slug: Mapped[str] = mapped_column(String(64), index=True)
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReceivedContribution(Base):
    """A contribution loaded into the national store (from a signed file or the same deployment).

    ``withdrawn_at`` is set when the jurisdiction lowered its level afterwards: national outputs
    built later leave it out.
    """

    __tablename__ = "received_contributions"
    __table_args__ = (UniqueConstraint("contribution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contribution_id: Mapped[str] = mapped_column(String(36))
    jurisdiction_slug: Mapped[str] = mapped_column(String(64), index=True)
    jurisdiction_name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    instrument_key: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[str] = mapped_column(String(32))
    level: Mapped[SharingLevel] = mapped_column(_level_column())
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
