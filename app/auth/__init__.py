"""Sign-in for administrators and leaders: Flask-Login sessions that expire, throttled logins.

Every session carries the account's ``session_generation``; sign-out, a new password and
deactivation raise it, so every earlier copy of the cookie stops working at its next request.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Blueprint, Flask, current_app, session
from flask_login import UserMixin, current_user, logout_user

from app import ratelimit
from app.db import get_session
from app.extensions import login_manager
from app.models import User
from app.services import users

bp = Blueprint("auth", __name__, template_folder="templates")

#: Defaults of SESSION_IDLE_MINUTES and SESSION_MAX_HOURS: a signed-in session ends after
#: IDLE_TIMEOUT without a request, and ABSOLUTE_TIMEOUT after signing in at most.
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=8)


class Account(UserMixin):  # type: ignore[misc]
    """The signed-in user as Flask-Login sees it; ``.user`` is the database row."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        # The id carries the account's session generation: raising it ends every session.
        return f"{self.user.id}:{self.user.session_generation}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)


def current_admin() -> User | None:
    """The signed-in account's row, or None (anonymous)."""
    if current_user and current_user.is_authenticated:
        account: Account = current_user._get_current_object()
        return account.user
    return None


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load(identifier: str) -> Account | None:
    user_id, _, generation = identifier.partition(":")
    if not user_id.isdigit():
        return None
    user = users.find_user(get_session(), int(user_id))
    if user is None or not user.active or str(user.session_generation) != generation:
        return None
    return Account(user)


def _expire_sessions() -> None:
    """End sessions idle for IDLE_TIMEOUT or older than ABSOLUTE_TIMEOUT."""
    if "_user_id" not in session:
        return
    now = time.time()
    started = session.get("signed_in_at", 0)  # a session without it is not one we made
    seen = session.get("seen_at", 0)
    idle = 60 * int(current_app.config["SESSION_IDLE_MINUTES"])
    absolute = 3600 * int(current_app.config["SESSION_MAX_HOURS"])
    if now - seen > idle or now - started > absolute:
        logout_user()
        session.clear()
        return
    session["seen_at"] = now


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "strong"
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(seconds=0)
    app.before_request(_expire_sessions)
    ratelimit.limit_login(app, "auth.login")


from app.auth import links, views  # noqa: E402,F401  (registers the routes on bp)
