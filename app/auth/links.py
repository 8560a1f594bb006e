"""Password reset and account invitation pages: ask for a link, then use it once."""

from __future__ import annotations

import logging

from flask import current_app, flash, has_request_context, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.auth import bp
from app.auth.forms import NewPasswordForm, ResetRequestForm
from app.catalog import N_
from app.db import get_session
from app.i18n import languages, page_language
from app.services import accounts, mail, users

log = logging.getLogger(__name__)

#: The same words whether or not the address has an account: no account-existence oracle.
SENT_MESSAGE = N_(
    "If an active account uses that address, a link to choose a new password is on its way. "
    "It works once, for two hours."
)


def account_link(token: str, purpose: str) -> str:
    """The full URL of a reset or invitation link (also from the command line)."""
    endpoint = "auth.reset_password" if purpose == "reset" else "auth.accept_invitation"
    if has_request_context():
        path = url_for(endpoint, token=token)
    else:
        with current_app.test_request_context():
            path = url_for(endpoint, token=token)
    return str(current_app.config["PUBLIC_URL"]) + path


def send_account_link(
    user_email: str, token: str, purpose: str, language: str | None = None
) -> bool:
    """Email a reset or invitation link now; False (and a log line without the link) if not sent.

    Written in ``language`` (the account's, when it has chosen one), else the page's.
    """
    link = account_link(token, purpose)
    message = accounts.build_account_message(
        accounts.AccountMail(
            to=user_email,
            link=link,
            purpose=purpose,
            mail_from=current_app.config["MAIL_FROM"],
            language=language if language in languages() else page_language(),
        )
    )
    mailer = mail.mailer_from_config(current_app.config, current_app.instance_path)
    with mail.closing_connection(mailer) as connection:
        result = connection.send(message)
    if result.outcome != mail.Outcome.SENT:
        log.warning("an account email was not sent (%s)", result.outcome.value)
        return False
    return True


@bp.route("/reset", methods=["GET", "POST"])
def request_reset() -> ResponseReturnValue:
    """Ask for a password reset link by email."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        session = get_session()
        user = accounts.find_active_by_email(session, form.email.data)
        if user is not None:
            token = accounts.make_link_token(current_app.config["SECRET_KEY"], user, "reset")
            send_account_link(user.email, token, "reset", user.language)
        flash(_(SENT_MESSAGE), "ok")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form), 400 if form.errors else 200


def _use_link(token: str, purpose: str) -> ResponseReturnValue:
    secret = current_app.config["SECRET_KEY"]
    session = get_session()
    try:
        user = accounts.user_of_link(session, secret, token, purpose)
    except accounts.LinkInvalid as error:
        return render_template("auth/link_problem.html", problem=error, purpose=purpose), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.set_password_by_link(session, secret, token, purpose, form.password.data)
        except accounts.LinkInvalid as error:
            return render_template("auth/link_problem.html", problem=error, purpose=purpose), 400
        except users.UserError as error:
            session.rollback()
            flash(str(error), "error")
        else:
            flash(_("Your password is set. Sign in with it."), "ok")
            return redirect(url_for("auth.login"))
    status = 400 if form.errors else 200
    return render_template(
        "auth/new_password.html", form=form, email=user.email, purpose=purpose
    ), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Choose a new password through a reset link."""
    return _use_link(token, "reset")


@bp.route("/welcome/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> ResponseReturnValue:
    """Choose the first password of an invited account."""
    return _use_link(token, "invitation")
