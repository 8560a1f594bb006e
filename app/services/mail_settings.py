"""A jurisdiction's email settings: who the survey emails come from, and its own introduction.

Administrators edit them, preview the invitation and reminder in both languages, and send a test
to their own address before launching. The preview uses a sample link that opens nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.orm import Session

from app.i18n import lazy_message as _l
from app.models import Jurisdiction, JurisdictionMail, User
from app.services import audit, mail
from app.services.access import can_manage_jurisdiction, require
from app.services.jurisdictions import NotFound
from app.services.roster import EMAIL_PATTERN

MAX_SENDER = 100
MAX_INTRO = 1000
#: A link in the preview that looks like a personal link and opens nothing.
SAMPLE_LINK_PATH = "/s/this-is-a-preview-and-opens-nothing"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MailSettingsError(Exception):
    """Invalid email settings (one line)."""


@dataclass(frozen=True)
class MailSettings:
    sender_name: str
    reply_to: str
    intro_en: str
    intro_es: str


def _require(session: Session, actor: User | None, jurisdiction_id: int) -> Jurisdiction:
    jurisdiction = session.get(Jurisdiction, jurisdiction_id)
    if jurisdiction is None:
        raise NotFound(_l("no jurisdiction %(id)s", id=jurisdiction_id))
    if actor is not None:
        require(can_manage_jurisdiction(actor, jurisdiction_id), _l("this jurisdiction's emails"))
    return jurisdiction


def get_settings(session: Session, actor: User | None, jurisdiction_id: int) -> MailSettings:
    _require(session, actor, jurisdiction_id)
    row = session.get(JurisdictionMail, jurisdiction_id)
    if row is None:
        return MailSettings("", "", "", "")
    return MailSettings(
        row.sender_name or "", row.reply_to or "", row.intro_en or "", row.intro_es or ""
    )


def save_settings(
    session: Session, actor: User | None, jurisdiction_id: int, settings: MailSettings
) -> MailSettings:
    """Check and store the settings; empty fields mean the defaults."""
    _require(session, actor, jurisdiction_id)
    sender = " ".join(settings.sender_name.split())
    if len(sender) > MAX_SENDER:
        raise MailSettingsError(_l("sender name: at most %(n)s characters", n=MAX_SENDER))
    if any(c in sender for c in '<>"@'):
        raise MailSettingsError(_l('sender name: a name only, without an address or < > " @'))
    reply = settings.reply_to.strip().lower()
    if reply and (len(reply) > 320 or not EMAIL_PATTERN.match(reply)):
        raise MailSettingsError(_l("reply-to: not an email address"))
    intros = {}
    for language, text in (("en", settings.intro_en), ("es", settings.intro_es)):
        text = text.replace("\r\n", "\n").strip()
        if len(text) > MAX_INTRO:
            raise MailSettingsError(
                _l(
                    "introduction (%(language)s): at most %(n)s characters",
                    language=language,
                    n=MAX_INTRO,
                )
            )
        if _CONTROL.search(text.replace("\n", "")):
            raise MailSettingsError(
                _l("introduction (%(language)s): control characters", language=language)
            )
        intros[language] = text
    row = session.get(JurisdictionMail, jurisdiction_id)
    if row is None:
        row = JurisdictionMail(jurisdiction_id=jurisdiction_id)
        session.add(row)
    row.sender_name, row.reply_to = sender or None, reply or None
    row.intro_en, row.intro_es = intros["en"] or None, intros["es"] or None
    audit.record(session, actor, "mail.settings", "email settings", jurisdiction_id=jurisdiction_id)
    session.commit()
    return get_settings(session, None, jurisdiction_id)


def preview(
    session: Session,
    actor: User | None,
    jurisdiction_id: int,
    *,
    to: str,
    language: str,
    reminder: bool,
    public_url: str,
    mail_from: str,
    min_n: int,
) -> EmailMessage:
    """The message as staff would get it, with a sample link, closing three weeks from now."""
    jurisdiction = _require(session, actor, jurisdiction_id)
    settings = get_settings(session, None, jurisdiction_id)
    return mail.build_message(
        mail.Invite(
            to=to,
            language=language,
            reminder=reminder,
            link=public_url.rstrip("/") + SAMPLE_LINK_PATH,
            closes_at=datetime.now(UTC) + timedelta(days=21),
            timezone="UTC",
            jurisdiction=jurisdiction.name,
            min_n=min_n,
            sender_name=settings.sender_name or None,
            reply_to=settings.reply_to or None,
            intro=(settings.intro_es if language == "es" else settings.intro_en) or None,
        ),
        mail_from,
    )


def text_of(message: EmailMessage) -> str:
    """The plain-text part of a message (for the preview page)."""
    part = message.get_body(preferencelist=("plain",))
    return str(part.get_content()) if part is not None else ""
