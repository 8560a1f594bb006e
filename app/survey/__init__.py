"""The staff survey blueprint: personal links, sections, drafts, one submit per link."""

from __future__ import annotations

from flask import Flask, request

from app.survey.views import bp

#: Largest body a survey page accepts (the whole last page with a full comment is ~10 KiB).
SURVEY_MAX_BODY = 64 * 1024


def _limit_survey_bodies() -> None:
    # Runs before CSRF protection reads the form, so an oversized body is refused unread.
    if request.path.startswith("/s/"):
        request.max_content_length = SURVEY_MAX_BODY


def init_app(app: Flask) -> None:
    """The body limit (the unknown-link rate limit lives in ``app.ratelimit``, used by the view)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_survey_bodies)


__all__ = ["bp", "init_app"]
