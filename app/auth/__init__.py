"""Sign-in for administrators and leaders: Flask-Login sessions that expire, throttled logins."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

from flask import Blueprint, Flask, session
from flask_login import UserMixin, current_user, logout_user

from app.db import get_session
from app.extensions import login_manager
from app.models import User
from app.services import users

bp = Blueprint("auth", __name__, template_folder="templates")

#: A signed-in session ends after this long without a request, and after ABSOLUTE at most.
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=8)


class Account(UserMixin):  # type: ignore[misc]
    """The signed-in user as Flask-Login sees it; ``.user`` is the database row."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        # The id carries a fingerprint of the password hash: changing a password (or the
        # account being re-created) ends every other session of that account.
        return f"{self.user.id}:{fingerprint(self.user)}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


def fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def current_admin() -> User | None:
    """The signed-in account's row, or None (anonymous)."""
    if current_user and current_user.is_authenticated:
        account: Account = current_user._get_current_object()
        return account.user
    return None


@login_manager.user_loader
def _load(identifier: str) -> Account | None:
    user_id, _, print_ = identifier.partition(":")
    if not user_id.isdigit():
        return None
    user = users.find_user(get_session(), int(user_id))
    if user is None or not user.active or fingerprint(user) != print_:
        return None
    return Account(user)


def _expire_sessions() -> None:
    """End sessions idle for IDLE_TIMEOUT or older than ABSOLUTE_TIMEOUT."""
    if "_user_id" not in session:
        return
    now = time.time()
    started = session.get("signed_in_at", now)
    seen = session.get("seen_at", now)
    if (
        now - seen > IDLE_TIMEOUT.total_seconds()
        or now - started > ABSOLUTE_TIMEOUT.total_seconds()
    ):
        logout_user()
        session.clear()
        return
    session["seen_at"] = now


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "strong"
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", ABSOLUTE_TIMEOUT)
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(seconds=0)
    app.before_request(_expire_sessions)


from app.auth import links, views  # noqa: E402,F401  (registers the routes on bp)
