"""Thin views over :mod:`app.services.national_report`."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from app.admin.views import _actor
from app.db import get_session
from app.national import bp
from app.reporting import national as layout
from app.reporting.national import NationalReport
from app.services import audit, national_report
from app.services.jurisdictions import NotFound


def _year() -> int | None:
    """The ``year`` query parameter (absent: the latest); anything else is a plain 404."""
    raw = request.args.get("year")
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        raise NotFound(_("no year %(year)s", year=repr(raw)))
    return int(raw)


def _options() -> dict[str, Any]:
    locale = get_locale()
    return {
        "language": locale.language if locale is not None else "en",
        "min_report_n": int(current_app.config["MIN_REPORT_N"]),
        "cache": current_app.extensions["national_report_cache"],
    }


@bp.get("/", endpoint="home")
def home() -> ResponseReturnValue:
    session = get_session()
    data = national_report.national_home(session, _actor(), _year())
    return render_template("national/home.html", home=data)


def _page(report: NationalReport, pdf_endpoint: str) -> ResponseReturnValue:
    body = Markup(layout.render_body(report))
    return render_template(
        "national/report.html", report=report, body=body, pdf_endpoint=pdf_endpoint
    )


def _pdf(report: NationalReport, name: str) -> ResponseReturnValue:
    pdf = layout.render_pdf(report)
    audit.record_alone(get_session(), _actor(), "national.report_pdf", name, year=report.year)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"attachment; filename={name}-{report.year}.pdf"},
    )


@bp.get("/report", endpoint="report")
def report() -> ResponseReturnValue:
    built = national_report.build_national_report(
        get_session(), _actor(), year=_year(), **_options()
    )
    return _page(built, "national.report_pdf")


@bp.get("/report.pdf", endpoint="report_pdf")
def report_pdf() -> ResponseReturnValue:
    built = national_report.build_national_report(
        get_session(), _actor(), year=_year(), **_options()
    )
    return _pdf(built, "national-psychometric-report")


@bp.get("/self", endpoint="self")
def own() -> ResponseReturnValue:
    built = national_report.build_own_report(get_session(), _actor(), year=_year(), **_options())
    return _page(built, "national.self_pdf")


@bp.get("/self.pdf", endpoint="self_pdf")
def own_pdf() -> ResponseReturnValue:
    built = national_report.build_own_report(get_session(), _actor(), year=_year(), **_options())
    return _pdf(built, "psychometric-report")
