"""Gunicorn settings shipped with the project (``gunicorn -c gunicorn.conf.py wsgi:app``).

Logging follows the anonymity model: no log line holds a survey token, and on the survey pages
(``/s/…``, ``/privacy`` and the static files they load) no client address or user agent.
Everything else can be overridden with the usual ``GUNICORN_CMD_ARGS`` or these variables:
``GUNICORN_BIND`` (default ``127.0.0.1:8000``), ``WEB_CONCURRENCY`` (workers, default 2 × cores + 1)
and ``GUNICORN_THREADS`` (threads per worker, default 1).
"""

from __future__ import annotations

import multiprocessing
import os
import re
from typing import Any

from gunicorn.glogging import Logger

from app.security import RedactingFilter, redact

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# Survey pages never need long request lines or many headers; a token fits easily.
limit_request_line = 4094
limit_request_fields = 60
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# No referer and no user agent in any line; the address is dropped on survey routes below.
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'

_ANONYMOUS_PREFIXES = ("/s/", "/privacy", "/static/")
_ADDRESS_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded", "cf-connecting-ip")


#: A ``%(name)s`` atom in an access-log format.
_FORMAT_ATOM = re.compile(r"%\(([^)]+)\)")


def is_anonymous_route(path: str) -> bool:
    return path == "/s" or path.startswith(_ANONYMOUS_PREFIXES)


class PrivacyLogger(Logger):
    """Gunicorn's logger with tokens redacted everywhere and no address on survey routes."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Only the atoms the format prints reach a log line: those are cleaned (per request, so
        # it matters), the others are dropped and would print as "-". Header atoms are looked up
        # lower-cased, as gunicorn does.
        self._printed_atoms = frozenset(
            key.lower() if key.startswith("{") else key
            for key in _FORMAT_ATOM.findall(str(cfg.access_log_format or ""))
        )
        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactingFilter) for f in log.filters):
                log.addFilter(RedactingFilter())

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> Any:
        if self._printed_atoms <= _PLAIN_ATOMS.keys():
            # Only what the format prints (the shipped one: six atoms); gunicorn's own atoms()
            # builds every header and environ entry on each request to print six of them.
            atoms = {
                key: _PLAIN_ATOMS[key](self, resp, environ, request_time)
                for key in self._printed_atoms
            }
        else:
            atoms = super().atoms(resp, req, environ, request_time)
        anonymous = is_anonymous_route(str(environ.get("PATH_INFO", "")))
        printed = {}
        for key in self._printed_atoms:
            if key not in atoms:
                continue
            value = atoms[key]
            if key in {"{cookie}i", "{set-cookie}o", "{authorization}i"}:
                value = "-"  # the session cookie carries the token (signed, not hidden)
            elif anonymous and (
                key in {"h", "a"} or any(header in key.lower() for header in _ADDRESS_HEADERS)
            ):
                value = "-"
            elif isinstance(value, str):
                value = redact(value)
            printed[key] = value
        return printed


def _status(resp: Any) -> Any:
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp: Any) -> Any:
    return getattr(resp, "sent", None)


#: The atoms that need neither headers nor the environ at large, each as gunicorn computes it.
_PLAIN_ATOMS: dict[str, Any] = {
    "h": lambda _log, _resp, env, _t: env.get("REMOTE_ADDR", "-"),
    "l": lambda _log, _resp, _env, _t: "-",
    "t": lambda log, _resp, _env, _t: log.now(),
    "r": lambda _log, _resp, env, _t: (
        f"{env['REQUEST_METHOD']} {env['RAW_URI']} {env['SERVER_PROTOCOL']}"
    ),
    "s": lambda _log, resp, _env, _t: _status(resp),
    "m": lambda _log, _resp, env, _t: env.get("REQUEST_METHOD"),
    "U": lambda _log, _resp, env, _t: env.get("PATH_INFO"),
    "q": lambda _log, _resp, env, _t: env.get("QUERY_STRING"),
    "H": lambda _log, _resp, env, _t: env.get("SERVER_PROTOCOL"),
    "b": lambda _log, resp, _env, _t: str(_sent(resp)) if _sent(resp) is not None else "-",
    "B": lambda _log, resp, _env, _t: _sent(resp),
    "T": lambda _log, _resp, _env, t: t.seconds,
    "D": lambda _log, _resp, _env, t: t.seconds * 1_000_000 + t.microseconds,
    "M": lambda _log, _resp, _env, t: t.seconds * 1000 + int(t.microseconds / 1000),
    "L": lambda _log, _resp, _env, t: f"{t.seconds}.{t.microseconds:06d}",
    "p": lambda _log, _resp, _env, _t: f"<{os.getpid()}>",
}


logger_class = PrivacyLogger


def child_exit(_server: Any, worker: Any) -> None:
    """Metrics in multi-process mode (PROMETHEUS_MULTIPROC_DIR): forget a dead worker's gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
