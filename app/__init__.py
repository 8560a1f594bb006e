"""The Flask application factory: wiring only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from app import config, db, files

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    test_config: Mapping[str, Any] | None = None, *, demo: bool = False, role: str | None = None
) -> Flask:
    """Build the application from the environment (``test_config`` overrides settings in tests).

    ``role`` says what the process is for (``app.keys.ROLES``): a ``web`` process (gunicorn,
    the default) reads only the public keys; a ``worker`` also reads and checks the private ones
    at start; ``keys`` (the key commands) reads none.

    Raises ``config.ConfigError`` with one line naming the variable when a setting is missing or
    invalid, or the database cannot be reached.
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
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(
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
    if not app.config.get("TESTING"):
        db.check_reachable(database.engine)

    from app import cli
    from app.extensions import csrf, login_manager

    csrf.init_app(app)
    login_manager.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    return app


#: Blueprint packages, each exposing ``bp`` (and optionally ``init_app(app)``), in URL order.
BLUEPRINTS = ("app.survey", "app.auth", "app.admin", "app.reports")


def _register_blueprints(app: Flask) -> None:
    import importlib

    for name in BLUEPRINTS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue  # not built yet
            raise
        app.register_blueprint(module.bp)
        if hasattr(module, "init_app"):
            module.init_app(app)
