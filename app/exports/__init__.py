"""Exports blueprint: report figures as CSV/XLSX, research extracts, and the ``export`` CLI."""

from __future__ import annotations

from flask import Flask

from app.exports.views import bp


def init_app(app: Flask) -> None:
    from app.exports.cli import export_group

    app.cli.add_command(export_group)


__all__ = ["bp", "init_app"]
