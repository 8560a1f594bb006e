"""Reports blueprint: a reader's results home and unit pages, PDF downloads, the ``reports`` CLI."""

from __future__ import annotations

from flask import Flask

from app.reports.views import bp


def init_app(app: Flask) -> None:
    from app.reports.cli import reports_group

    app.cli.add_command(reports_group)


__all__ = ["bp", "init_app"]
