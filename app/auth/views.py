"""Sign in, sign out, change one's own password."""

from __future__ import annotations

import time

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user

from app.auth import Account, bp, current_admin
from app.auth.forms import LoginForm, PasswordForm
from app.db import get_session
from app.services import users


@bp.get("/")
def home() -> ResponseReturnValue:
    """The site's front door: staff arrive by their personal links, everyone else signs in."""
    if current_admin() is not None:
        return redirect(url_for("admin.home"))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in; failures are counted per account (see users.authenticate)."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = users.authenticate(get_session(), form.email.data, form.password.data)
        except users.AccountLocked:
            flash("Too many failed sign-ins for this account. Try again later.", "error")
            return render_template("auth/login.html", form=form), 429
        except users.LoginFailed:
            flash("Wrong email or password.", "error")
            return render_template("auth/login.html", form=form), 401
        session.clear()
        login_user(Account(user))
        session.permanent = True
        session["signed_in_at"] = session["seen_at"] = time.time()
        target = request.args.get("next", "")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = url_for("admin.home")
        return redirect(target)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required  # type: ignore[misc]
def logout() -> ResponseReturnValue:
    user = current_admin()
    if user is not None:
        users.record_logout(get_session(), user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required  # type: ignore[misc]
def password() -> ResponseReturnValue:
    """Change one's own password (signs out other sessions of the account)."""
    form = PasswordForm()
    user = current_admin()
    assert user is not None
    if form.validate_on_submit():
        try:
            users.change_own_password(get_session(), user, form.current.data, form.password.data)
        except users.LoginFailed:
            flash("The current password is wrong.", "error")
            return render_template("auth/password.html", form=form), 400
        except users.UserError as error:
            flash(str(error), "error")
            return render_template("auth/password.html", form=form), 400
        login_user(Account(user))
        flash("Password changed.", "ok")
        return redirect(url_for("admin.home"))
    return render_template("auth/password.html", form=form), 400 if form.errors else 200
