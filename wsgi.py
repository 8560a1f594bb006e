"""The WSGI entry point for gunicorn and ``flask --app wsgi``: ``app = create_app()``."""

from __future__ import annotations

import sys

from app import create_app
from app.config import ConfigError


def _running_demo() -> bool:
    # `flask --app wsgi demo` may create instance/secret_key; every other command needs a key.
    return "demo" in sys.argv[1:] and "flask" in sys.argv[0]


try:
    app = create_app(demo=_running_demo())
except ConfigError as error:
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(1) from None
