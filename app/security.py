"""App-wide security headers and log redaction: no token, and no client address on survey routes.

Survey links carry a token in their path (``/s/<token>``) and the survey pages must not tie a
client address to a person answering. Every log line that passes through the loggers set up here
(Werkzeug's request log, the application's logger, Flask-Limiter's and gunicorn's) is rewritten:
whatever follows ``/s/`` that looks like a token is replaced, long token-shaped strings anywhere
are replaced, and the address at the start of a request-log line for ``/s/`` or ``/privacy`` is
dropped. ``gunicorn.conf.py`` installs the same filter on gunicorn's loggers.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}

#: A path segment after /s/ (a survey link's token, or anything in its place).
_SURVEY_TOKEN = re.compile(r"/s/(?!(?:page/\d+|thanks)(?=[\s\"?#]|$))[^/\s\"?#]+")
#: The signed token of an account link (password reset, invitation) in its path.
_ACCOUNT_TOKEN = re.compile(r"/(reset|welcome)/[^/\s\"?#]+")
#: Anything shaped like a token: 32 or more URL-safe base64 characters in a row.
_TOKEN_LIKE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")
#: A request-log line for an anonymous route: "<addr> - - [date] "GET /s/… HTTP/1.1" 200 -".
#: Static files count too: their fetch times follow the survey pages'.
_ANONYMOUS_ROUTE = re.compile(r"\"(?:\x1b\[[0-9;]*m)*[A-Z]+ /(?:s/|s\b|privacy\b|static/)")
_LEADING_ADDRESS = re.compile(r"^\S+ - - \[")

REDACTED_TOKEN = "[token]"


def redact(message: str) -> str:
    """``message`` with tokens removed and, on an anonymous route's request line, no address."""
    message = _SURVEY_TOKEN.sub("/s/" + REDACTED_TOKEN, message)
    message = _ACCOUNT_TOKEN.sub(lambda m: f"/{m.group(1)}/{REDACTED_TOKEN}", message)
    message = _TOKEN_LIKE.sub(REDACTED_TOKEN, message)
    if _ANONYMOUS_ROUTE.search(message):
        message = _LEADING_ADDRESS.sub("- - - [", message)
    return message


class RedactingFilter(logging.Filter):
    """A logging filter applying :func:`redact` to the message and any traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its format string, redacted
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


#: Loggers that see request paths or client data.
REDACTED_LOGGERS = ("werkzeug", "flask-limiter", "gunicorn.error", "gunicorn.access")


def install_log_filters(*extra_loggers: logging.Logger) -> None:
    """Put one RedactingFilter on every logger that can see a request (idempotent)."""
    loggers = [logging.getLogger(name) for name in REDACTED_LOGGERS] + list(extra_loggers)
    for logger in loggers:
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


#: What every response gets, as a list once: a response rarely sets one of these itself.
_HEADER_ITEMS = tuple(SECURITY_HEADERS.items())
_HEADER_NAMES = frozenset(name.lower() for name in SECURITY_HEADERS)
#: Headers that would let a cache keep a page; removed from everything but static files.
_CACHE_VALIDATORS = frozenset({"expires", "last-modified", "etag", "cache-control"})


def _add_headers(response: Response) -> Response:
    headers = response.headers
    cacheable = request.path.startswith(_CACHEABLE_PREFIXES)
    present = {name.lower() for name, _ in headers.items()}
    # Signed-in pages, PDFs, ZIPs and survey pages (answers!) must not stay in a shared
    # computer's cache or a proxy's; only the static files may be kept.
    if not cacheable and present & _CACHE_VALIDATORS:
        for name in ("Expires", "Last-Modified", "ETag", "Cache-Control"):
            headers.pop(name, None)
    if present & _HEADER_NAMES:
        for name, value in _HEADER_ITEMS:
            headers.setdefault(name, value)
    else:
        headers.extend(_HEADER_ITEMS)
    if not cacheable:
        headers.add("Cache-Control", "no-store")
    hsts = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts and current_app.config.get("APP_ENV") == "production":
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}")
    return response


_CACHEABLE_PREFIXES = ("/static/", "/admin/static/")
#: Anything a browser would strip or act on in a URL: controls, whitespace, backslashes.
_UNSAFE_IN_TARGET = re.compile(
    r"[\x00-\x20\x7f-\xa0\\\u1680\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]"
)


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/admin/waves?x=1``), else None.

    Only an absolute path with no scheme and no host is accepted; ``//host``, ``/\\host``,
    ``https:…`` and anything holding whitespace, control characters or a backslash (which
    browsers strip or turn into ``/``, so ``/\t/host`` becomes ``//host``) are refused, and so
    are CR/LF (which would otherwise reach the ``Location`` header).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if _UNSAFE_IN_TARGET.search(target):
        return None
    # Percent-decoded, the path must still be local: some clients decode before resolving.
    decoded = unquote(target)
    if decoded.startswith("//") or _UNSAFE_IN_TARGET.search(decoded):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def init_app(app: Flask) -> None:
    """Send the security headers on every response and redact the request loggers."""
    app.after_request(_add_headers)
    install_log_filters(app.logger)
