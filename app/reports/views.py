"""Results pages: a reader's units as a searchable tree, one unit's results, the PDF download."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app.db import get_session
from app.extensions import login_manager
from app.i18n import language_names, languages, page_language
from app.models import User
from app.services import access, reports
from app.services.reports import browse

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


def _user() -> User | None:
    from app.auth import current_admin

    return current_admin()


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    # ?lang=es shows these pages (and the report where its wording exists) in that language.
    wanted = request.args.get("lang")
    if wanted in languages():
        g.language = wanted
    return None


def report_language(user: User | None) -> str:
    """The language asked for (``?lang=``), else the account's, else the page's."""
    asked = request.args.get("lang")
    if asked in languages():
        return str(asked)
    if user is not None and user.language in languages():
        return str(user.language)
    return page_language()


@bp.get("")
def index() -> ResponseReturnValue:
    """The reader's home: each wave's units in scope as a tree, filtered by the search box."""
    user = _user()
    query = browse.clean_query(request.args.get("q"))
    trees = browse.unit_trees(get_session(), user, query) if user else []
    page_lang, language = page_language(), report_language(user)
    return render_template(
        "reports/index.html",
        trees=trees,
        query=query,
        national=access.is_national(user),
        page_lang=page_lang,
        report_language=language,
        report_languages=language_names(),
        # Unit page links name the report language only when it is not the page's own
        # (a PDF link always names it).
        link_lang=None if language == page_lang else language,
    )


@bp.get("/<int:wave_id>/<int:unit_id>")
def unit(wave_id: int, unit_id: int) -> ResponseReturnValue:
    """One unit's results as a page, from the same report context as its PDF."""
    user = _user()
    if user is None:
        return _not_found()
    try:
        page = browse.results_page(
            get_session(),
            user,
            wave_id,
            unit_id,
            language=report_language(user),
            page_size=current_app.config["REPORT_PAGE_SIZE"],
            min_jurisdictions=current_app.config["BENCHMARK_MIN_JURISDICTIONS"],
        )
    except access.PermissionDenied:
        return _not_found()
    except reports.UnitSuppressed as error:
        return _message(_("No separate results for this unit"), str(error), 404)
    except (reports.NoResponses, reports.UnknownWave, reports.UnknownUnit) as error:
        return _message(_("No results yet"), str(error), 404)
    return render_template(
        "reports/unit.html",
        page=page,
        ctx=page.context,
        report_body=Markup(page.body_html),  # our own autoescaped report templates
        page_lang=page_language(),
    )


@bp.get("/<int:wave_id>/<int:unit_id>.pdf")
def download(wave_id: int, unit_id: int) -> ResponseReturnValue:
    """One unit's PDF; out of scope and unknown look the same (404)."""
    user = _user()
    if user is None:
        return _not_found()
    try:
        filename, pdf = reports.download_report(
            get_session(),
            user,
            wave_id,
            unit_id,
            cache_dir=Path(current_app.instance_path) / "report-cache",
            page_size=current_app.config["REPORT_PAGE_SIZE"],
            min_jurisdictions=current_app.config["BENCHMARK_MIN_JURISDICTIONS"],
            language=report_language(user),
        )
    except access.PermissionDenied:
        return _not_found()
    except reports.UnitSuppressed as error:
        return _message(_("No separate report for this unit"), str(error), 404)
    except (reports.NoResponses, reports.UnknownWave, reports.UnknownUnit) as error:
        return _message(_("No report yet"), str(error), 404)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _not_found() -> ResponseReturnValue:
    return _message(_("Not found"), _("There is no such report, or it is not yours to read."), 404)


def _message(title: str, text: str, status: int) -> ResponseReturnValue:
    return (
        render_template(
            "reports/message.html", title=title, message=text, page_lang=page_language()
        ),
        status,
    )
