"""The staff survey blueprint: personal links, sections, drafts, one submit per link."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from flask import Flask, current_app, request
from flask_limiter import Limiter

from app import security
from app.services.tokens import derive_key
from app.survey.views import bp

#: Largest body a survey page accepts (the whole last page with a full comment is ~10 KiB).
SURVEY_MAX_BODY = 64 * 1024
#: Unknown-link look-ups allowed per client address (valid links are never counted).
DEFAULT_LINK_RATE_LIMIT = "20 per minute;200 per day"


@lru_cache(maxsize=4)
def _rate_limit_key(secret_key: str) -> bytes:
    # Derived from SECRET_KEY only (never from a token or an address): safe to keep per process.
    return derive_key(secret_key, "rate-limit-client")


def _client_key() -> str:
    """A keyed hash of the client address: the address itself is never kept, logged or stored."""
    key = _rate_limit_key(current_app.config["SECRET_KEY"])
    address = (request.remote_addr or "-").encode()
    return hmac.new(key, address, hashlib.sha256).hexdigest()


def _limit_survey_bodies() -> None:
    # Runs before CSRF protection reads the form, so an oversized body is refused unread.
    if request.path.startswith("/s/"):
        request.max_content_length = SURVEY_MAX_BODY


def init_app(app: Flask) -> None:
    """Security headers, log redaction, the body limit and the link look-up rate limit."""
    security.init_app(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _limit_survey_bodies)
    app.config.setdefault("SURVEY_LINK_RATE_LIMIT", DEFAULT_LINK_RATE_LIMIT)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter = Limiter(key_func=_client_key, app=app, key_prefix="survey")
    app.extensions["survey_limiter"] = limiter
    endpoint = f"{bp.name}.arrive"
    app.view_functions[endpoint] = limiter.limit(
        lambda: str(current_app.config["SURVEY_LINK_RATE_LIMIT"]),
        deduct_when=lambda response: response.status_code == 404,
    )(app.view_functions[endpoint])


__all__ = ["bp", "init_app"]
