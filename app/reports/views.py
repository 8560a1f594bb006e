"""Report pages: which reports a signed-in user may download, and the download itself."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.db import get_session
from app.extensions import login_manager
from app.i18n import language_names, languages
from app.models import User
from app.services import access, reports

bp = Blueprint("reports", __name__, url_prefix="/reports", template_folder="templates")


def _user() -> User | None:
    from app.auth import current_admin

    return current_admin()


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    return None


def report_language(user: User | None) -> str:
    """The language asked for (``?lang=``), else the account's, else the page's."""
    asked = request.args.get("lang")
    if asked in languages():
        return str(asked)
    if user is not None and user.language in languages():
        return str(user.language)
    return str(get_locale() or languages()[0])


@bp.get("")
def index() -> ResponseReturnValue:
    """The waves of the user's jurisdiction with a download link per unit in scope."""
    user = _user()
    waves = reports.list_reports_for(get_session(), user) if user else []
    return render_template(
        "reports/index.html",
        waves=waves,
        national=access.is_national(user),
        report_language=report_language(user),
        report_languages=language_names(),
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
    return render_template("reports/message.html", title=title, message=text), status
