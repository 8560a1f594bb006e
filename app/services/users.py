"""Administrative accounts: creation, passwords (scrypt), throttled sign-in, deactivation."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.models import PATH_SEPARATOR, OrgUnit, Role, User, utcnow
from app.services import audit
from app.services.access import can_manage_user, is_national, require
from app.services.jurisdictions import NotFound

MIN_PASSWORD_LENGTH = 12
#: Consecutive failures before an account is locked, and the first lock's length (doubles).
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


class UserError(Exception):
    """Invalid account data (one line)."""


class LoginFailed(Exception):
    """Wrong email or password (deliberately not saying which)."""


class AccountLocked(LoginFailed):
    """Too many failed attempts; try again later."""


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def normalise_email(email: str) -> str:
    return "".join(email.split()).lower()


def create_user(
    session: Session,
    actor: User | None,
    *,
    email: str,
    password: str,
    role: Role | str,
    jurisdiction_id: int | None = None,
    unit_paths: Sequence[str] = (),
) -> User:
    """Add an account. National accounts have no jurisdiction; leaders need at least one unit."""
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"role: expected one of {', '.join(r.value for r in Role)}") from None
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email):
        raise UserError(f"email: {email!r} is not an email address")
    _check_password_strength(password)
    if role == Role.NATIONAL:
        if jurisdiction_id is not None or unit_paths:
            raise UserError("national accounts have no jurisdiction or units")
    elif jurisdiction_id is None:
        raise UserError(f"jurisdiction: required for role {role.value}")
    if actor is not None:
        require(can_manage_user(actor, role, jurisdiction_id), "accounts with this role")
    if role == Role.LEADER and not unit_paths:
        raise UserError("unit: a leader needs at least one unit")
    if role == Role.JURISDICTION_ADMIN and unit_paths:
        raise UserError("unit: administrators see the whole jurisdiction; give no units")
    if session.scalars(select(User).where(User.email == email)).first():
        raise UserError(f"email: an account {email} already exists")
    units = [_find_unit(session, jurisdiction_id, path) for path in unit_paths]
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        jurisdiction_id=jurisdiction_id,
        active=True,
        failed_logins=0,
    )
    user.units = units
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        f"user {email}",
        jurisdiction_id=jurisdiction_id,
        role=role.value,
        units=[u.path for u in units],
    )
    session.commit()
    return user


def _find_unit(session: Session, jurisdiction_id: int | None, path: str) -> OrgUnit:
    clean = PATH_SEPARATOR.join(" ".join(p.split()) for p in path.split("/")) if path else ""
    unit = session.scalars(
        select(OrgUnit).where(OrgUnit.jurisdiction_id == jurisdiction_id, OrgUnit.path == clean)
    ).first()
    if unit is None:
        raise UserError(f"unit: no unit {path!r} in this jurisdiction (import the roster first)")
    return unit


def authenticate(
    session: Session, email: str, password: str, *, now: datetime | None = None
) -> User:
    """The active account with these credentials; throttled per account.

    After ``MAX_FAILED_LOGINS`` consecutive failures the account is locked for ``LOCK_MINUTES``,
    doubling with every further lock. A locked account refuses even the right password.
    """
    now = now or utcnow()
    email = normalise_email(email)
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # same work as a real check
        audit.record(session, "anonymous", "login.failed", f"user {email[:80]}")
        session.commit()
        raise LoginFailed("wrong email or password")
    if user.locked_until is not None and user.locked_until > now:
        audit.record(session, "anonymous", "login.locked", f"user {email}")
        session.commit()
        raise AccountLocked("too many failed sign-ins; try again later")
    if not user.active or not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            locks = user.failed_logins - MAX_FAILED_LOGINS
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES * 2 ** min(locks, 6))
        audit.record(
            session,
            "anonymous",
            "login.failed",
            f"user {email}",
            jurisdiction_id=user.jurisdiction_id,
        )
        session.commit()
        raise LoginFailed("wrong email or password")
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, user, "login", f"user {email}")
    session.commit()
    return user


def record_logout(session: Session, user: User) -> None:
    audit.record(session, user, "logout", f"user {user.email}")
    session.commit()


def change_own_password(session: Session, user: User, current: str, new: str) -> User:
    """Replace one's own password after checking the current one (failures count as sign-ins)."""
    if not check_password_hash(user.password_hash, current):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = utcnow() + timedelta(minutes=LOCK_MINUTES)
        audit.record(session, user, "user.password_failed", f"user {user.email}")
        session.commit()
        raise LoginFailed("the current password is wrong")
    return set_password(session, user, user.id, new)


def find_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user(session: Session, actor: User | None, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    if actor is not None:
        require(can_manage_user(actor, user.role, user.jurisdiction_id), "this account")
    return user


def list_users(session: Session, actor: User) -> Sequence[User]:
    """Accounts the actor manages: all for national, its jurisdiction's for an administrator."""
    query = select(User).order_by(User.email)
    if not is_national(actor):
        require(
            actor.role == Role.JURISDICTION_ADMIN and actor.jurisdiction_id is not None,
            "accounts",
        )
        query = query.where(User.jurisdiction_id == actor.jurisdiction_id)
    return session.scalars(query).all()


def set_active(session: Session, actor: User | None, user_id: int, active: bool) -> User:
    """Deactivate or reactivate an account (its sessions end at the next request)."""
    user = get_user(session, actor, user_id)
    if actor is not None and user.id == actor.id and not active:
        raise UserError("you cannot deactivate your own account")
    user.active = active
    if active:
        user.failed_logins = 0
        user.locked_until = None
    audit.record(
        session,
        actor,
        "user.activate" if active else "user.deactivate",
        f"user {user.email}",
        jurisdiction_id=user.jurisdiction_id,
    )
    session.commit()
    return user


def set_password(session: Session, actor: User | None, user_id: int, password: str) -> User:
    """Replace a password (ends the account's other sessions: their fingerprint changes)."""
    user = get_user(session, actor, user_id) if actor is None or actor.id != user_id else actor
    _check_password_strength(password)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(
        session, actor, "user.password", f"user {user.email}", jurisdiction_id=user.jurisdiction_id
    )
    session.commit()
    return user
