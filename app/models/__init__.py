"""Typed SQLAlchemy models; the migrations in ``migrations/`` are the truth of the schema."""

from app.models.audit import AuditEvent
from app.models.background import (
    LANGUAGE_QUESTION,
    BackgroundCount,
    LanguageHoldback,
    LanguageItemSums,
)
from app.models.base import Base, utcnow
from app.models.history import WaveUnit
from app.models.instruments import Instrument
from app.models.mail_settings import JurisdictionMail
from app.models.org import PATH_SEPARATOR, Jurisdiction, OrgUnit, RosterEntry, UnitKind
from app.models.plans import ActionPlan, ActionStatus, PlanAction, PlanFocus
from app.models.reports import BatchStatus, ReportBatch
from app.models.responses import DailyCount, Draft, PendingResponse, Response
from app.models.sharing import (
    Contribution,
    ReceivedContribution,
    SharingAgreement,
    SharingLevel,
    TrustedKey,
)
from app.models.users import LoginThrottle, Role, User, user_units
from app.models.waves import DeliveryStatus, Invitation, Wave, WaveStatus

__all__ = [
    "LANGUAGE_QUESTION",
    "PATH_SEPARATOR",
    "ActionPlan",
    "ActionStatus",
    "AuditEvent",
    "BackgroundCount",
    "Base",
    "BatchStatus",
    "Contribution",
    "DailyCount",
    "DeliveryStatus",
    "Draft",
    "Instrument",
    "Invitation",
    "Jurisdiction",
    "JurisdictionMail",
    "LanguageHoldback",
    "LanguageItemSums",
    "LoginThrottle",
    "OrgUnit",
    "PendingResponse",
    "PlanAction",
    "PlanFocus",
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
    "WaveUnit",
    "user_units",
    "utcnow",
]
