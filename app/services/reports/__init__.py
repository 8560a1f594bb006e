"""Reports of a wave: results from the database, the publication, contexts, lists and builds.

``results`` reads and scores a wave on the tree it was launched on; ``publication`` decides
once what the wave may show; ``benchmarks`` builds the comparison groups; ``context`` the plain
report context (wording as keys); ``comments`` masks and lists comments; ``listing`` the report
list and file names; ``commands`` the downloads and builds that commit.
"""

from __future__ import annotations

from flask import Flask

from app.reporting import ItemRow
from app.services.reports.commands import (
    download_report,
    render_unit_report,
    reports_to_build,
)
from app.services.reports.comments import mask_identifiers
from app.services.reports.context import LOW_AGREEMENT, LOW_ICC2, build_context, get_unit
from app.services.reports.errors import (
    HiddenReason,
    NoResponses,
    ReportError,
    UnitSuppressed,
    UnknownUnit,
    UnknownWave,
)
from app.services.reports.listing import (
    ReportEntry,
    ReportKind,
    WaveReports,
    list_reports,
    list_reports_for,
    report_filenames,
    slugify_path,
)
from app.services.reports.publication import WaveResults, wave_results
from app.services.reports.results import SCORING_VERSION, UnitNode, ancestors, clear_cache
from app.services.reports.results import init_app as _init_results


def init_app(app: Flask) -> None:
    """Give the application its own caches of scored waves and comparisons."""
    _init_results(app)


__all__ = [
    "LOW_AGREEMENT",
    "LOW_ICC2",
    "SCORING_VERSION",
    "HiddenReason",
    "ItemRow",
    "NoResponses",
    "ReportEntry",
    "ReportError",
    "ReportKind",
    "UnitNode",
    "UnitSuppressed",
    "UnknownUnit",
    "UnknownWave",
    "WaveReports",
    "WaveResults",
    "ancestors",
    "build_context",
    "clear_cache",
    "download_report",
    "get_unit",
    "init_app",
    "list_reports",
    "list_reports_for",
    "mask_identifiers",
    "render_unit_report",
    "report_filenames",
    "reports_to_build",
    "slugify_path",
    "wave_results",
]
