"""Account links by email: invitations to set a first password, and password resets.

A link carries the account id and a fingerprint of its current password hash, signed with
itsdangerous under ``SECRET_KEY`` with a purpose-specific salt and a maximum age. Setting a
password changes the hash, so a link works once: the second use finds another fingerprint.
Asking for a reset answers the same way whether or not the address has an account.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import catalog
from app.catalog import N_
from app.i18n import lazy_message as _l
from app.models import Role, User
from app.services import audit
from app.services.mail import compose
from app.services.users import UserError, create_user, get_user, normalise_email, set_password

#: How long each kind of link works.
LINK_AGES = {"reset": timedelta(hours=2), "invitation": timedelta(days=7)}
_SALTS = {"reset": "account-password-reset", "invitation": "account-invitation"}


class LinkInvalid(Exception):
    """The link was altered, is for another purpose, or its account no longer exists."""


class LinkExpired(LinkInvalid):
    """The link is older than it may be."""


class LinkUsed(LinkInvalid):
    """The password was set since the link was made: a link works once."""


def _serializer(secret_key: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALTS[purpose])


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def make_link_token(secret_key: str, user: User, purpose: str) -> str:
    """A signed token for ``purpose`` (``reset`` or ``invitation``) bound to the password hash."""
    return str(_serializer(secret_key, purpose).dumps({"u": user.id, "p": _fingerprint(user)}))


def user_of_link(session: Session, secret_key: str, token: str, purpose: str) -> User:
    """The active account a link is for, or LinkInvalid / LinkExpired / LinkUsed."""
    serializer = _serializer(secret_key, purpose)
    try:
        payload = serializer.loads(token, max_age=int(LINK_AGES[purpose].total_seconds()))
    except SignatureExpired:
        raise LinkExpired(_l("this link has expired")) from None
    except BadSignature:
        raise LinkInvalid(_l("this link is not valid")) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        raise LinkInvalid(_l("this link is not valid"))
    user = session.get(User, payload["u"])
    if user is None or not user.active:
        raise LinkInvalid(_l("this link is not valid"))
    if not secrets.compare_digest(str(payload.get("p", "")), _fingerprint(user)):
        raise LinkUsed(_l("this link was already used"))
    return user


def set_password_by_link(
    session: Session, secret_key: str, token: str, purpose: str, password: str
) -> User:
    """Check the link, then set the password (which also ends the account's other sessions)."""
    user = user_of_link(session, secret_key, token, purpose)
    set_password(session, None, user.id, password)
    audit.record(
        session,
        None,
        "user.password_link" if purpose == "reset" else "user.invitation_accepted",
        f"user {user.email}",
        jurisdiction_id=user.jurisdiction_id,
    )
    session.commit()
    return user


def find_active_by_email(session: Session, email: str) -> User | None:
    return session.scalars(
        select(User).where(User.email == normalise_email(email), User.active.is_(True))
    ).first()


def invite_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    role: Role | str,
    jurisdiction_id: int | None = None,
    unit_paths: Sequence[str] = (),
) -> User:
    """Create an account nobody can sign in to until its invitation link sets a password."""
    unusable = secrets.token_urlsafe(48)  # never shown to anyone; replaced through the link
    user = create_user(
        session,
        actor,
        email=email,
        password=unusable,
        role=role,
        jurisdiction_id=jurisdiction_id,
        unit_paths=unit_paths,
    )
    audit.record(
        session, actor, "user.invite", f"user {user.email}", jurisdiction_id=user.jurisdiction_id
    )
    session.commit()
    return user


def set_role(
    session: Session,
    actor: User | None,
    user_id: int,
    role: Role | str,
    *,
    jurisdiction_id: int | None = None,
) -> User:
    """Change an account's role (national accounts have no jurisdiction; the others need one)."""
    user = get_user(session, actor, user_id)
    try:
        new = Role(role)
    except ValueError:
        raise UserError(_l("role: unknown role %(role)s", role=repr(role))) from None
    if actor is not None and new == Role.NATIONAL and actor.role != Role.NATIONAL:
        raise UserError(_l("role: only a national coordinator can grant the national role"))
    target_jurisdiction = jurisdiction_id if jurisdiction_id is not None else user.jurisdiction_id
    if new == Role.NATIONAL:
        target_jurisdiction = None
    elif target_jurisdiction is None:
        raise UserError(_l("jurisdiction: this role needs a jurisdiction"))
    if new != Role.LEADER:
        user.units = []
    if (new, target_jurisdiction) != (user.role, user.jurisdiction_id):
        user.data_steward = False  # granted for one role in one jurisdiction, not carried along
    user.role, user.jurisdiction_id = new, target_jurisdiction
    audit.record(
        session,
        actor,
        "user.role",
        f"user {user.email} → {new.value}",
        jurisdiction_id=target_jurisdiction,
    )
    session.commit()
    return user


@dataclass(frozen=True)
class AccountMail:
    """What an account email needs besides the link."""

    to: str
    link: str
    purpose: str
    mail_from: str
    #: The language the message is written in (the catalog translates the msgids below).
    language: str = "en"


_TEXT = {
    "reset": (
        N_("Reset your password — Safety Culture Survey"),
        N_(
            "Someone (we hope you) asked to reset the password of this account.\n\n"
            "Choose a new password here; the link works once, for {hours} hours:\n\n{link}\n\n"
            "If you did not ask for this, ignore this message: your password stays as it is.\n"
        ),
    ),
    "invitation": (
        N_("Your account for the Safety Culture Survey"),
        N_(
            "An account was created for you on the Safety Culture Survey platform.\n\n"
            "Choose your password here; the link works once, for {days} days:\n\n{link}\n\n"
            "If you did not expect this, ignore this message.\n"
        ),
    ),
}
_SENDER = N_("Safety Culture Survey")


def build_account_message(mail: AccountMail) -> EmailMessage:
    """A text + HTML message with the link, carrying the same headers as an invitation."""
    subject, body = (catalog.translate(mail.language, text) for text in _TEXT[mail.purpose])
    age = LINK_AGES[mail.purpose]
    text = body.format(link=mail.link, hours=int(age.total_seconds() // 3600), days=age.days)
    html = "".join(
        f"<p>{_escape(p)}</p>"
        if p != mail.link
        else f'<p><a href="{_escape(p)}">{_escape(p)}</a></p>'
        for p in text.strip().split("\n\n")
    )
    return compose(
        mail_from=mail.mail_from,
        sender_name=catalog.translate(mail.language, _SENDER),
        to=mail.to,
        subject=subject,
        text=text,
        html=f'<!doctype html><html lang="{_escape(mail.language)}"><body>{html}</body></html>',
    )


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
