"""Lost connections to the database or Redis: a GET is tried once more, anything else gets a 503.

Every write in this application is one transaction (services commit once), so a request that
meets a dropped connection has changed nothing that is not rolled back: the person is told their
answers are kept (saved pages are in their draft) and to try again. Never a 500. A read-only
request (GET/HEAD) is run once more first: after a database restart the pool retires every
connection it holds (``app.db``), so the second try usually succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, render_template, request
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

log = logging.getLogger(__name__)

#: Marks, in the WSGI environ, a response that is the 503 page of a lost connection.
LOST_CONNECTION = "survey.lost_connection"
_SAFE_METHODS = frozenset({"GET", "HEAD"})


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        import redis
    except ModuleNotFoundError:
        return ()
    return (redis.ConnectionError, redis.TimeoutError)


def is_lost_connection(error: BaseException) -> bool:
    """A database or Redis connection that failed (not a bug in a query)."""
    if isinstance(error, (OperationalError, InterfaceError, DisconnectionError)):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _redis_errors())


def _unavailable(error: Exception) -> Response | tuple[str, int, dict[str, str]]:
    if not is_lost_connection(error):
        raise error
    log.warning("lost connection answered with 503: %s", type(error).__name__)
    try:
        from app.db import get_session

        get_session().rollback()
    except Exception:  # the connection is gone; closing at teardown is enough
        pass
    request.environ[LOST_CONNECTION] = True
    headers = {"Retry-After": "5", "Cache-Control": "no-store"}
    if request.blueprint == "survey":
        body = render_template("survey/message.html", kind="unavailable")
    else:
        body = render_template("ops/unavailable.html")
    return body, 503, headers


class RetryReads:
    """WSGI middleware: a GET or HEAD answered with the lost-connection 503 is run once more."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") not in _SAFE_METHODS:
            return self.wsgi_app(environ, start_response)
        captured: list[tuple[Any, ...]] = []

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured.append((status, headers, exc_info))
            return lambda _data: None

        body = self.wsgi_app(environ, hold)
        if not environ.pop(LOST_CONNECTION, False):
            status, headers, exc_info = captured[-1]
            start_response(status, headers, exc_info)
            return body
        if hasattr(body, "close"):
            body.close()
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    # Registered per class: a handler for Exception would also receive every HTTP error.
    for error_class in (DBAPIError, DisconnectionError, *_redis_errors()):
        app.register_error_handler(error_class, _unavailable)
    app.wsgi_app = RetryReads(app.wsgi_app)  # type: ignore[method-assign]
