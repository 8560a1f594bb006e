"""Per-address rate limits that only ever slow the client that misbehaves.

One Flask-Limiter per application (kept in ``app.extensions["limiter"]``), with Redis storage when
``REDIS_URL`` is set so every worker shares the counts. Limits are keyed by a keyed hash of the
client address (never the address itself). Which address that is depends on ``TRUSTED_PROXIES``:
with ProxyFix installed (see ``create_app``) it is the client the proxies saw, otherwise the
connection's peer.

- Survey links: only look-ups of *unknown* tokens are counted, and the count is consulted only
  when a token is unknown, so a valid link always opens, whatever its address has done.
- Sign-in: failed POSTs are counted per address and the limit is checked before the view runs,
  so a flood is refused before any password is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache, partial
from typing import cast

from flask import Flask, current_app, request
from flask.wrappers import Response
from flask_limiter import Limiter
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from app.services.tokens import derive_key

EXTENSION = "limiter"


@lru_cache(maxsize=4)
def _address_key(secret_key: str) -> bytes:
    # Derived from SECRET_KEY only (never from a token or an address): safe to keep per process.
    return derive_key(secret_key, "rate-limit-client")


def client_key() -> str:
    """A keyed hash of the client address: the address itself is never kept, logged or stored."""
    key = _address_key(current_app.config["SECRET_KEY"])
    address = (request.remote_addr or "-").encode()
    return hmac.new(key, address, hashlib.sha256).hexdigest()


def limiter() -> Limiter:
    found: Limiter = current_app.extensions[EXTENSION]
    return found


def count_unknown_link() -> None:
    """Count one unknown survey link from this address; raise TooManyRequests past the limit."""
    strategy = limiter().limiter
    key = client_key()
    items = parse_many(str(current_app.config["SURVEY_LINK_RATE_LIMIT"]))
    # The deployment's key prefix first, as Flask-Limiter does for its own limits: two instances
    # sharing one Redis never spend each other's allowance.
    prefix = str(current_app.config["RATELIMIT_KEY_PREFIX"])
    # Every window is counted (no short-circuit), so a long window fills during short bursts.
    allowed = [strategy.hit(item, prefix, "survey-link", key) for item in items]
    if not all(allowed):
        raise TooManyRequests()


def _login_failed(response: Response) -> bool:
    # A successful sign-in redirects; everything else (wrong password, throttled) counts.
    return response.status_code != 302


def init_app(app: Flask) -> None:
    """Create the application's limiter and put the sign-in limit on ``auth.login``."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "survey")
    app.extensions[EXTENSION] = Limiter(key_func=client_key, app=app)


def limit_login(app: Flask, endpoint: str) -> None:
    """Wrap the sign-in view: failed POSTs per address, refused before the view is called."""
    wrapped = limiter_of(app).limit(
        lambda: str(current_app.config["LOGIN_RATE_LIMIT"]),
        methods=["POST"],
        deduct_when=_login_failed,
        scope="login",
    )
    app.view_functions[endpoint] = wrapped(app.view_functions[endpoint])  # type: ignore[assignment]


def leave_out_blueprint(app: Flask, blueprint: str) -> None:
    """Flask-Limiter's per-request hooks skip ``blueprint`` entirely.

    For a blueprint that has no Flask-Limiter limit (the survey counts its one limit itself):
    its ``request_filter`` would still resolve limits and contexts on every page before
    deciding to do nothing. Raises RuntimeError at start if the hooks are not where Flask-Limiter
    puts them, so a library change cannot silently leave them in place or drop them elsewhere.
    """
    limiter = limiter_of(app)
    before = app.before_request_funcs.setdefault(None, [])
    after = app.after_request_funcs.setdefault(None, [])
    checks = [i for i, hook in enumerate(before) if hook == limiter._check_request_limit]
    injects = [
        i
        for i, hook in enumerate(after)
        if isinstance(hook, partial) and hook.args[:1] == (limiter,)
    ]
    if len(checks) != 1 or len(injects) != 1:
        raise RuntimeError("Flask-Limiter's request hooks were not found where expected")
    check, inject = before[checks[0]], after[injects[0]]

    def check_outside() -> None:
        if request.blueprint != blueprint:
            check()

    def inject_outside(response: Response) -> Response:
        if request.blueprint == blueprint:
            return response
        return cast("Response", inject(response))

    before[checks[0]] = check_outside
    after[injects[0]] = inject_outside


def limiter_of(app: Flask) -> Limiter:
    found: Limiter = app.extensions[EXTENSION]
    return found


__all__ = ["client_key", "count_unknown_link", "init_app", "limit_login", "limiter"]
