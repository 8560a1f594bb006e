"""The WSGI entry point for gunicorn and ``flask --app wsgi``: ``app = create_app()``."""

from __future__ import annotations

import sys

from app import create_app
from app.config import ConfigError


def _running_demo() -> bool:
    # `flask --app wsgi demo` may create instance/secret_key; every other command needs a key.
    return "demo" in sys.argv[1:] and "flask" in sys.argv[0]


def _role() -> str:
    # Which keys this process reads (app/keys.py): a worker reads the private keys at start;
    # gunicorn and `flask run` are web processes, which read the public keys only.
    if "flask" not in sys.argv[0]:
        return "web"
    arguments = sys.argv[1:]
    for role in ("demo", "worker", "keys"):
        if role in arguments:
            return role
    return "web" if "run" in arguments else "cli"


def _running_check() -> bool:
    # `flask --app wsgi check` reports an unreachable database itself, with everything else.
    return "check" in sys.argv[1:] and "flask" in sys.argv[0]


try:
    app = create_app(demo=_running_demo(), preflight=_running_check(), role=_role())
except ConfigError as error:
    if _running_check():
        from app.ops.cli import report_unloadable_settings

        raise SystemExit(report_unloadable_settings(error)) from None
    print(f"error: {error}", file=sys.stderr)
    raise SystemExit(1) from None
