"""HTML → PDF reports: plain data in (:mod:`app.reporting.context`), PDF bytes out.

No Flask, no database and no statistics here: the data layer builds a
:class:`ReportContext` from ``scoring`` results; this package formats and lays it out.
"""

from __future__ import annotations

from app.reporting.cache import TEMPLATE_VERSION, ReportCacheKey, cached_pdf
from app.reporting.context import (
    Benchmark,
    HeatmapCell,
    HeatmapRow,
    ItemRow,
    PlanAction,
    PlanFocus,
    PlanRecap,
    PsychometricRow,
    ReportContext,
    ResponseRateRow,
    ScaleSummary,
    TrendCell,
)
from app.reporting.render import ReportRenderError, render_html, render_pdf

__all__ = [
    "TEMPLATE_VERSION",
    "Benchmark",
    "HeatmapCell",
    "HeatmapRow",
    "ItemRow",
    "PlanAction",
    "PlanFocus",
    "PlanRecap",
    "PsychometricRow",
    "ReportCacheKey",
    "ReportContext",
    "ReportRenderError",
    "ResponseRateRow",
    "ScaleSummary",
    "TrendCell",
    "cached_pdf",
    "render_html",
    "render_pdf",
]
