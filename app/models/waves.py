"""Annual survey waves and the invitations sent for them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_values, utcnow
from app.models.instruments import Instrument
from app.models.org import Jurisdiction, OrgUnit


class WaveStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"


class Wave(Base):
    """One jurisdiction's survey of one year. Anonymity settings are frozen at launch."""

    __tablename__ = "waves"
    __table_args__ = (UniqueConstraint("jurisdiction_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id"))
    year: Mapped[int] = mapped_column(Integer)
    opens_at: Mapped[datetime] = mapped_column()
    closes_at: Mapped[datetime] = mapped_column()
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    status: Mapped[WaveStatus] = mapped_column(
        Enum(WaveStatus, native_enum=False, length=16, values_callable=enum_values),
        default=WaveStatus.DRAFT,
    )
    min_report_n: Mapped[int] = mapped_column(Integer, default=5)
    pool_k: Mapped[int] = mapped_column(Integer, default=10)
    reminder_max: Mapped[int] = mapped_column(Integer, default=2)
    reminder_min_days: Mapped[int] = mapped_column(Integer, default=7)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column()
    launched_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    jurisdiction: Mapped[Jurisdiction] = relationship()
    instrument: Mapped[Instrument] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == WaveStatus.OPEN


class Invitation(Base):
    """A personal link for one staff member in one wave.

    Holds the SHA-256 of the random link token and, until the close, the token sealed to the
    mailer public key (only the mail job opens it, to put the same link in reminders), the
    delivery state, and a ``completed`` flag with no time. ``email`` and ``token_sealed`` are
    erased when the wave closes. Nothing links an invitation to a response.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="en")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=16, values_callable=enum_values),
        default=DeliveryStatus.QUEUED,
        index=True,
    )
    #: Which send is wanted (0 = the invitation, n = reminder n) and which was last delivered.
    send_wanted: Mapped[int] = mapped_column(Integer, default=0)
    send_done: Mapped[int] = mapped_column(Integer, default=-1)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    delivery_detail: Mapped[str | None] = mapped_column(Text)

    wave: Mapped[Wave] = relationship()
    unit: Mapped[OrgUnit] = relationship()
