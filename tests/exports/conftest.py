"""Exports reuse the report tests' small jurisdiction (two offices × three teams, two years)."""

from __future__ import annotations

from tests.reports.conftest import _fresh_report_cache, small

__all__ = ["_fresh_report_cache", "small"]
