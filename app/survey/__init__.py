"""The staff survey blueprint: personal links, sections, drafts, one submit per link."""

from __future__ import annotations

from flask import Flask, request

from app import ratelimit
from app.extensions import csrf
from app.survey.views import bp

#: Largest body a survey page accepts (the whole last page with a full comment is ~10 KiB).
SURVEY_MAX_BODY = 64 * 1024


def _limit_survey_bodies() -> None:
    # Runs before CSRF protection reads the form, so an oversized body is refused unread.
    if request.path.startswith("/s/"):
        request.max_content_length = SURVEY_MAX_BODY


def init_app(app: Flask) -> None:
    """The body limit; survey pages skip Flask-Limiter's per-request resolution (the unknown-link
    rate limit lives in ``app.ratelimit`` and is called by the view)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_survey_bodies)
    # Forged posts are refused by the blueprint's own session-bound form token
    # (``views._check_form_token``), not by Flask-WTF's signed and timed one.
    csrf.exempt(bp)
    # The survey's one limit (unknown links, ``ratelimit.count_unknown_link``) is counted by the
    # view itself, only when a link is unknown; Flask-Limiter's hooks would resolve limits on
    # every page of every person to do nothing.
    ratelimit.leave_out_blueprint(app, bp.name)


__all__ = ["bp", "init_app"]
