"""Administrative accounts: national coordinators, jurisdiction administrators and leaders."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, enum_values, utcnow
from app.models.org import Jurisdiction, OrgUnit


class Role(enum.StrEnum):
    NATIONAL = "national"
    JURISDICTION_ADMIN = "jurisdiction_admin"
    LEADER = "leader"


user_units = Table(
    "user_units",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person who administers or reads results; never a survey respondent."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=32, values_callable=enum_values)
    )
    jurisdiction_id: Mapped[int | None] = mapped_column(ForeignKey("jurisdictions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Unused since sign-in is throttled per (account, address) in login_throttles; kept until
    # every branch's fixtures stop setting them (a later migration drops both).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    #: Part of every session of this account; raised by sign-out, a new password and
    #: deactivation, which ends every copy of every earlier session cookie.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: A jurisdiction administrator who may download its waves' research extracts; granted by
    #: another administrator of the jurisdiction (or the CLI), never by the account itself.
    data_steward: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The account's language for pages and reports; None: the browser's preference.
    language: Mapped[str | None] = mapped_column(String(16))

    jurisdiction: Mapped[Jurisdiction | None] = relationship()
    units: Mapped[list[OrgUnit]] = relationship(secondary=user_units)


class LoginThrottle(Base):
    """Failed sign-ins of one account from one client address (both as keyed hashes).

    Nothing here names a person or an address: ``account_key`` and ``address_key`` are HMACs
    under a key derived from SECRET_KEY, so a database copy alone cannot tell who or where. A row
    exists for unknown emails too, so known and unknown accounts are throttled alike.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (UniqueConstraint("account_key", "address_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    address_key: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column()
    wait_until: Mapped[datetime | None] = mapped_column()
