"""Administrative accounts: creation, passwords (scrypt), throttled sign-in, deactivation."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app.i18n import lazy_message as _l
from app.models import PATH_SEPARATOR, LoginThrottle, OrgUnit, Role, User, utcnow
from app.services import audit, passwords
from app.services.access import can_grant_stewardship, can_manage_user, is_national, require
from app.services.jurisdictions import NotFound
from app.services.tokens import derive_key

MIN_PASSWORD_LENGTH = 12
#: Wrong passwords for one account from one address before that address must wait, the first
#: wait (doubling with each further failure) and the longest; a quiet period clears the count.
FREE_FAILURES = 5
FIRST_WAIT = timedelta(minutes=1)
MAX_WAIT = timedelta(hours=1)
QUIET_PERIOD = timedelta(hours=24)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


class UserError(Exception):
    """Invalid account data (one line)."""


class LoginFailed(Exception):
    """Wrong email or password (deliberately not saying which)."""


class SignInDelayed(LoginFailed):
    """Too many wrong passwords for this account from this address; ``wait`` is what is left."""

    def __init__(self, wait: timedelta) -> None:
        super().__init__("too many failed sign-ins from here; try again later")
        self.wait = wait


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _check_password_strength(password: str, email: str = "") -> None:
    problem = passwords.weakness(password, email=email, min_length=MIN_PASSWORD_LENGTH)
    if problem:
        raise UserError(_l("password: %(problem)s", problem=problem))


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
        raise UserError(
            _l("role: expected one of %(roles)s", roles=", ".join(r.value for r in Role))
        ) from None
    email = normalise_email(email)
    if not EMAIL_PATTERN.match(email):
        raise UserError(_l("email: %(email)s is not an email address", email=repr(email)))
    _check_password_strength(password, email)
    if role == Role.NATIONAL:
        if jurisdiction_id is not None or unit_paths:
            raise UserError(_l("national accounts have no jurisdiction or units"))
    elif jurisdiction_id is None:
        raise UserError(_l("jurisdiction: required for role %(role)s", role=role.value))
    if actor is not None:
        require(can_manage_user(actor, role, jurisdiction_id), _l("accounts with this role"))
    if role == Role.LEADER and not unit_paths:
        raise UserError(_l("unit: a leader needs at least one unit"))
    if role == Role.JURISDICTION_ADMIN and unit_paths:
        raise UserError(_l("unit: administrators see the whole jurisdiction; give no units"))
    if session.scalars(select(User).where(User.email == email)).first():
        raise UserError(_l("email: an account %(email)s already exists", email=email))
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
    path = unicodedata.normalize("NFC", path)  # as the roster import stores unit paths
    clean = PATH_SEPARATOR.join(" ".join(p.split()) for p in path.split("/")) if path else ""
    unit = session.scalars(
        select(OrgUnit).where(OrgUnit.jurisdiction_id == jurisdiction_id, OrgUnit.path == clean)
    ).first()
    if unit is None:
        raise UserError(
            _l(
                "unit: no unit %(unit)s in this jurisdiction (import the roster first)",
                unit=repr(path),
            )
        )
    return unit


@dataclass(frozen=True)
class SignInClient:
    """Who is trying to sign in, as the throttle sees it (no address, no email in clear).

    ``address_key`` is a keyed hash of the client address (``app.ratelimit.client_key``);
    ``secret`` keys the hash of the email (``throttle_secret(SECRET_KEY)``).
    """

    address_key: str
    secret: bytes
    free_failures: int = FREE_FAILURES
    quiet: timedelta = QUIET_PERIOD


def throttle_secret(secret_key: str) -> bytes:
    return derive_key(secret_key, "login-throttle-account")


def _account_key(secret: bytes, email: str) -> str:
    return hmac.new(secret, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def wait_after(failures: int, free_failures: int) -> timedelta:
    """The wait after ``failures`` wrong passwords: none, then 1 minute doubling to 1 hour."""
    if failures < free_failures:
        return timedelta(0)
    return min(FIRST_WAIT * (1 << min(failures - free_failures, 12)), MAX_WAIT)


def _throttle(
    session: Session, client: SignInClient, account_key: str, now: datetime
) -> LoginThrottle | None:
    row = session.scalars(
        select(LoginThrottle).where(
            LoginThrottle.account_key == account_key,
            LoginThrottle.address_key == client.address_key,
        )
    ).first()
    if row is not None and now - row.last_failure_at >= client.quiet:
        session.delete(row)  # a quiet period: this account and address start from zero
        session.flush()
        return None
    return row


def _check_wait(row: LoginThrottle | None, now: datetime) -> None:
    if row is not None and row.wait_until is not None and row.wait_until > now:
        raise SignInDelayed(row.wait_until - now)


def _count_failure(
    session: Session,
    client: SignInClient,
    account_key: str,
    row: LoginThrottle | None,
    now: datetime,
    *,
    target: str,
    jurisdiction_id: int | None,
) -> None:
    if row is None:
        row = LoginThrottle(
            account_key=account_key, address_key=client.address_key, failures=0, last_failure_at=now
        )
        session.add(row)
    row.failures += 1
    row.last_failure_at = now
    wait = wait_after(row.failures, client.free_failures)
    if wait:
        row.wait_until = now + wait
        audit.record(
            session,
            "anonymous",
            "login.locked",
            target,
            jurisdiction_id=jurisdiction_id,
            failures=row.failures,
            wait_seconds=int(wait.total_seconds()),
        )
    # Forget every account/address pair that has been quiet long enough.
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < now - client.quiet, LoginThrottle.id != row.id
        )
    )


def authenticate(
    session: Session,
    email: str,
    password: str,
    client: SignInClient,
    *,
    now: datetime | None = None,
) -> User:
    """The active account with these credentials, throttled per (account, address).

    After ``client.free_failures`` wrong passwords for one account from one address, that
    address waits before its next try (1 minute, doubling up to 1 hour); the right password from
    any other address still works, and a success or a quiet period clears the count. Unknown and
    existing accounts go through the same steps (same hashing, same waits, same answers), so the
    answers do not tell which accounts exist. While waiting, no password is hashed.
    """
    now = now or utcnow()
    email = normalise_email(email)
    account_key = _account_key(client.secret, email)
    row = _throttle(session, client, account_key, now)
    try:
        _check_wait(row, now)
    except SignInDelayed:
        session.commit()
        raise
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # same work as a real check
        ok = False
    else:
        ok = check_password_hash(user.password_hash, password) and bool(user.active)
    if not ok or user is None:
        target = f"user {email[:80]}"
        jurisdiction_id = user.jurisdiction_id if user is not None else None
        audit.record(session, "anonymous", "login.failed", target, jurisdiction_id=jurisdiction_id)
        _count_failure(
            session, client, account_key, row, now, target=target, jurisdiction_id=jurisdiction_id
        )
        _commit_throttle(session)
        raise LoginFailed("wrong email or password")
    if row is not None:
        session.delete(row)
    audit.record(session, user, "login", f"user {email}")
    session.commit()
    return user


def _commit_throttle(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError:
        # Another request from the same address created the row first: its count stands.
        session.rollback()


def unlock(session: Session, actor: User | str | None, email: str, secret: bytes) -> int:
    """Forget every failed sign-in of this account, from every address; returns how many."""
    account_key = _account_key(secret, email)
    rows = session.scalars(
        select(LoginThrottle).where(LoginThrottle.account_key == account_key)
    ).all()
    for row in rows:
        session.delete(row)
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
    audit.record(
        session,
        actor,
        "login.unlock",
        f"user {normalise_email(email)[:80]}",
        jurisdiction_id=user.jurisdiction_id if user is not None else None,
        addresses=len(rows),
    )
    session.commit()
    return len(rows)


def record_logout(session: Session, user: User) -> None:
    """Sign out: every session of the account ends, copies of the cookie included."""
    user.session_generation += 1
    audit.record(session, user, "logout", f"user {user.email}")
    session.commit()


def change_own_password(
    session: Session,
    user: User,
    current: str,
    new: str,
    client: SignInClient,
    *,
    now: datetime | None = None,
) -> User:
    """Replace one's own password after checking the current one (throttled like a sign-in)."""
    now = now or utcnow()
    account_key = _account_key(client.secret, user.email)
    row = _throttle(session, client, account_key, now)
    _check_wait(row, now)
    if not check_password_hash(user.password_hash, current):
        target = f"user {user.email}"
        audit.record(session, user, "user.password_failed", target)
        _count_failure(
            session,
            client,
            account_key,
            row,
            now,
            target=target,
            jurisdiction_id=user.jurisdiction_id,
        )
        _commit_throttle(session)
        raise LoginFailed("the current password is wrong")
    return set_password(session, user, user.id, new)


def find_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_user(session: Session, actor: User | None, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_l("no user %(id)s", id=user_id))
    if actor is not None:
        require(can_manage_user(actor, user.role, user.jurisdiction_id), _l("this account"))
    return user


def list_users(session: Session, actor: User) -> Sequence[User]:
    """Accounts the actor manages: all for national, its jurisdiction's for an administrator."""
    query = select(User).order_by(User.email)
    if not is_national(actor):
        require(
            actor.role == Role.JURISDICTION_ADMIN and actor.jurisdiction_id is not None,
            _l("accounts"),
        )
        query = query.where(User.jurisdiction_id == actor.jurisdiction_id)
    return session.scalars(query).all()


def set_active(session: Session, actor: User | None, user_id: int, active: bool) -> User:
    """Deactivate or reactivate an account (its sessions end at the next request)."""
    user = get_user(session, actor, user_id)
    if actor is not None and user.id == actor.id and not active:
        raise UserError(_l("you cannot deactivate your own account"))
    user.active = active
    if not active:
        user.session_generation += 1  # its sessions end now, not at the next sign-in
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
    _check_password_strength(password, user.email)
    user.password_hash = hash_password(password)
    user.session_generation += 1  # every session signed in with the old password ends
    audit.record(
        session, actor, "user.password", f"user {user.email}", jurisdiction_id=user.jurisdiction_id
    )
    session.commit()
    return user


def set_data_steward(
    session: Session, actor: User | None, user_id: int, steward: bool | str
) -> User:
    """Grant or take back the data-steward permission (audited; commits).

    ``steward`` is a bool or the form's "1"/"0". Only an administrator can hold it; another
    administrator of the same jurisdiction (or the CLI, ``actor=None``) changes it, so nobody
    gives themselves respondent-level data alone. Raises NotFound, PermissionDenied (before
    looking at the choice) and UserError.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_l("no user %(id)s", id=user_id))
    if actor is not None:
        require(can_grant_stewardship(actor, user), _l("this account's data-steward permission"))
    if isinstance(steward, str):
        if steward not in ("0", "1"):
            raise UserError(_l("steward: choose whether the account is a data steward"))
        steward = steward == "1"
    if user.role != Role.JURISDICTION_ADMIN:
        raise UserError(_l("only a jurisdiction administrator can be a data steward"))
    if user.data_steward == steward:
        return user
    user.data_steward = steward
    audit.record(
        session,
        actor,
        "user.steward_grant" if steward else "user.steward_revoke",
        f"user {user.email}",
        jurisdiction_id=user.jurisdiction_id,
    )
    session.commit()
    return user


class UnknownLanguage(ValueError):
    """A language that is not among the configured ones."""


def set_language(
    session: Session, user: User, language: str | None, configured: Sequence[str]
) -> None:
    """Save the account's language (None: follow the browser); audited; commits.

    Raises ``UnknownLanguage`` for a language not in ``configured`` (the LANGUAGES setting).
    """
    if language is not None and language not in configured:
        raise UnknownLanguage(language)
    user.language = language
    audit.record(session, user, "account.language", user.email, language=language or "browser")
    session.commit()
