"""Typed SQLAlchemy models; the migrations in ``migrations/`` are the truth of the schema."""

from app.models.audit import AuditEvent
from app.models.base import Base, utcnow
from app.models.instruments import Instrument
from app.models.org import PATH_SEPARATOR, Jurisdiction, OrgUnit, RosterEntry, UnitKind
from app.models.reports import BatchStatus, ReportBatch
from app.models.responses import DailyCount, Draft, PendingResponse, Response
from app.models.sharing import (
    Contribution,
    ReceivedContribution,
    SharingAgreement,
    SharingLevel,
    TrustedKey,
)
from app.models.users import Role, User, user_units
from app.models.waves import DeliveryStatus, Invitation, Wave, WaveStatus

__all__ = [
    "PATH_SEPARATOR",
    "AuditEvent",
    "Base",
    "BatchStatus",
    "Contribution",
    "DailyCount",
    "DeliveryStatus",
    "Draft",
    "Instrument",
    "Invitation",
    "Jurisdiction",
    "OrgUnit",
    "PendingResponse",
    "ReceivedContribution",
    "ReportBatch",
    "Response",
    "Role",
    "RosterEntry",
    "SharingAgreement",
    "SharingLevel",
    "TrustedKey",
    "UnitKind",
    "User",
    "Wave",
    "WaveStatus",
    "user_units",
    "utcnow",
]
