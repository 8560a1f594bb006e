"""Sign in, sign out, change one's own password and language."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import refresh
from flask_login import login_required, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from app import ratelimit
from app.auth import Account, bp, current_admin
from app.auth.forms import LanguageForm, LoginForm, PasswordForm
from app.db import get_session
from app.i18n import language_names, languages
from app.models import Role, User
from app.security import safe_next
from app.services import users


@bp.get("/")
def home() -> ResponseReturnValue:
    """The site's front door: staff arrive by their personal links, everyone else signs in."""
    user = current_admin()
    if user is not None:
        return redirect(landing_page(user))
    return redirect(url_for("auth.login"))


def landing_page(user: User) -> str:
    """Where a signed-in person starts: a leader at their results, everyone else at home."""
    return url_for("reports.index") if user.role == Role.LEADER else url_for("admin.home")


def sign_in_client() -> users.SignInClient:
    """This request's client as the sign-in throttle sees it (keyed hashes only)."""
    config = current_app.config
    return users.SignInClient(
        address_key=ratelimit.client_key(),
        secret=users.throttle_secret(config["SECRET_KEY"]),
        free_failures=int(config["LOGIN_FREE_FAILURES"]),
        quiet=timedelta(hours=int(config["LOGIN_QUIET_HOURS"])),
    )


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in; failures are throttled per account and address (see users.authenticate).

    Whether the account exists changes nothing in the answer: same status, same page.
    """
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = users.authenticate(
                get_session(), form.email.data, form.password.data, sign_in_client()
            )
        except users.SignInDelayed:
            return _too_many(form)
        except users.LoginFailed:
            flash(_("Wrong email or password."), "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()
        login_user(Account(user))
        session.permanent = True
        session["signed_in_at"] = session["seen_at"] = time.time()
        target = safe_next(request.args.get("next")) or landing_page(user)
        return redirect(target)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _too_many(form: LoginForm | None = None) -> ResponseReturnValue:
    flash(_("Too many failed sign-ins from here. Wait a few minutes, then try again."), "error")
    return render_template("auth/login.html", form=form or LoginForm()), 429


@bp.app_errorhandler(TooManyRequests)
def _rate_limited(error: TooManyRequests) -> ResponseReturnValue:
    """The per-address sign-in limit (Flask-Limiter) answers like the per-account throttle."""
    if request.endpoint == "auth.login":
        return _too_many()
    return error


@bp.post("/logout")
@login_required  # type: ignore[untyped-decorator]
def logout() -> ResponseReturnValue:
    user = current_admin()
    if user is not None:
        users.record_logout(get_session(), user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required  # type: ignore[untyped-decorator]
def password() -> ResponseReturnValue:
    """Change one's own password (signs out other sessions of the account)."""
    form = PasswordForm()
    user = current_admin()
    assert user is not None
    if form.validate_on_submit():
        try:
            users.change_own_password(
                get_session(), user, form.current.data, form.password.data, sign_in_client()
            )
        except users.SignInDelayed:
            flash(_("Too many wrong passwords. Wait a few minutes, then try again."), "error")
            return render_template("auth/password.html", form=form), 429
        except users.LoginFailed:
            flash(_("The current password is wrong."), "error")
            return render_template("auth/password.html", form=form), 400
        except users.UserError as error:
            flash(str(error), "error")
            return render_template("auth/password.html", form=form), 400
        login_user(Account(user))
        flash(_("Password changed."), "ok")
        return redirect(landing_page(user))
    return render_template("auth/password.html", form=form), 400 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
@login_required  # type: ignore[untyped-decorator]
def account() -> ResponseReturnValue:
    """One's own settings: the language of pages and reports."""
    user = current_admin()
    assert user is not None
    form = LanguageForm(language=user.language or "")
    form.language.choices = [("", _("As my browser asks"))] + [
        (code, name) for code, name in language_names().items()
    ]
    if form.validate_on_submit():
        try:
            users.set_language(get_session(), user, form.language.data or None, languages())
        except users.UnknownLanguage:
            flash(_("Choose one of the languages listed."), "error")
            return render_template("auth/account.html", form=form), 400
        # The saved language applies from this response on, the confirmation included.
        refresh()
        flash(_("Language saved."), "ok")
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form), 400 if form.errors else 200
