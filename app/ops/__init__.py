"""The operations surface: /healthz, /readyz, metrics, the 503 page for lost connections."""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from app.ops import checks, faults, metrics

bp = Blueprint("ops", __name__, template_folder="templates")


@bp.get("/healthz")
def healthz() -> Response:
    """The process is alive and answers requests; nothing else is looked at."""
    return _plain("ok\n", 200)


@bp.get("/readyz")
def readyz() -> Response:
    """Ready to serve: every readiness check passes (database at the head, Redis, keys …).

    The body names only the failing checks, never a host, a version or an error text.
    """
    failing = checks.failing_ready_checks()
    if failing:
        return _plain("not ready: " + ", ".join(failing) + "\n", 503)
    return _plain("ready\n", 200)


def _plain(body: str, status: int) -> Response:
    response = Response(body, status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    checks.init_app(app)
    faults.init_app(app)
    metrics.init_app(app)
