"""The Flask application factory: wiring only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config, db, files

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    demo: bool = False,
    preflight: bool = False,
    role: str | None = None,
) -> Flask:
    """Build the application from the environment (``test_config`` overrides settings in tests).

    ``role`` says what the process is for (``app.keys.ROLES``): a ``web`` process (gunicorn,
    the default) reads only the public keys; a ``worker`` also reads and checks the private ones
    at start; ``keys`` (the key commands) reads none.

    Raises ``config.ConfigError`` with one line naming the variable when a setting is missing or
    invalid, or the database cannot be reached (``preflight``: ``flask check`` reports that).
    """
    instance_path = Path(os.environ.get("INSTANCE_PATH", PROJECT_ROOT / "instance"))
    files.restrict_instance(instance_path)
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    overrides = dict(test_config or {})
    if demo and not os.environ.get("APP_ENV"):
        overrides.setdefault("APP_ENV", "development")
    engine = overrides.pop("ENGINE", None)
    settings = config.load(
        os.environ,
        instance_path,
        allow_generated_key=demo or bool(overrides.get("TESTING")),
        overrides=overrides,
    )
    app.config.update(settings)
    app.config.update(
        SECRET_KEY_FALLBACKS=settings["SECRET_KEY_FALLBACKS"] or [],
        # The cookie itself expires when the session's absolute limit is reached.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["SESSION_MAX_HOURS"]),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["APP_ENV"] == "production"
        and not app.config.get("TESTING"),
        # Flask's own default is None (no cap); uploads (rosters) are refused above 20 MB.
        MAX_CONTENT_LENGTH=app.config.get("MAX_CONTENT_LENGTH") or 20 * 1024 * 1024,
    )
    from app import keys

    keys.init_app(
        app,
        role=role or ("demo" if demo else "web"),
        generate=demo or bool(app.config.get("TESTING")),
    )
    database = db.init_app(app, engine)
    if not app.config.get("TESTING") and not preflight:
        if role == "worker":  # started with (or before) its database: it waits for it
            db.wait_until_reachable(database.engine)
        else:  # a web process fails fast; its orchestrator watches /readyz
            db.check_reachable(database.engine)

    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    from app import cli, i18n, ratelimit, security, session_cookie
    from app.extensions import csrf, login_manager

    session_cookie.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    ratelimit.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    from app.services import reports

    reports.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # Imported by name: a blueprint that fails to import stops the app instead of leaving a hole.
    from app import admin, auth, exports, national, ops, plans, reports, survey

    for module in (ops, survey, auth, admin, reports, plans, exports, national):
        app.register_blueprint(module.bp)
        module.init_app(app)
