"""Export downloads: a report's figures (leaders, administrators) and research extracts (stewards).

Views translate: the services in :mod:`app.services.exports` and :mod:`app.services.extract`
decide scope, build the files and audit. Out of scope and unknown look the same (404).
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.db import get_session
from app.extensions import login_manager
from app.models import User
from app.services import access, exports, extract, reports, users
from app.services.jurisdictions import NotFound

bp = Blueprint("exports", __name__, url_prefix="/exports", template_folder="templates")


def _user() -> User | None:
    from app.auth import current_admin

    return current_admin()


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    return None


def _message(title: str, text: str, status: int) -> ResponseReturnValue:
    return render_template("exports/message.html", title=title, message=text), status


def _not_found() -> ResponseReturnValue:
    return _message(
        _("Not found"), _("There is no such export, or it is not yours to download."), 404
    )


def _download(name: str, data: bytes, mimetype: str) -> Response:
    return Response(
        data,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _report(wave_id: int, unit_id: int, fmt: str) -> ResponseReturnValue:
    user = _user()
    if user is None:
        return _not_found()
    try:
        file = exports.export_report(
            get_session(),
            user,
            wave_id,
            unit_id,
            fmt,
            min_jurisdictions=current_app.config["BENCHMARK_MIN_JURISDICTIONS"],
        )
    except access.PermissionDenied:
        return _not_found()
    except reports.UnitSuppressed as error:
        return _message(_("No separate figures for this unit"), str(error), 404)
    except (reports.NoResponses, reports.UnknownWave, reports.UnknownUnit) as error:
        return _message(_("No figures yet"), str(error), 404)
    return _download(file.filename, file.data, file.mimetype)


@bp.get("/reports/<int:wave_id>/<int:unit_id>.csv")
def report_csv(wave_id: int, unit_id: int) -> ResponseReturnValue:
    """Every figure of one unit's report as CSV (the PDF's numbers, nothing more)."""
    return _report(wave_id, unit_id, "csv")


@bp.get("/reports/<int:wave_id>/<int:unit_id>.xlsx")
def report_xlsx(wave_id: int, unit_id: int) -> ResponseReturnValue:
    """Every figure of one unit's report as an Excel workbook, one sheet per part."""
    return _report(wave_id, unit_id, "xlsx")


@bp.get("/extracts")
def extracts() -> ResponseReturnValue:
    """A jurisdiction's waves with their extract downloads, and who its data stewards are."""
    user = _user()
    session = get_session()
    try:
        waves = extract.list_extract_waves(session, user) if user else None
        stewards = extract.list_stewards(session, user) if user else None
    except access.PermissionDenied:
        waves = stewards = None
    if user is None or waves is None or stewards is None:
        return _message(
            _("Not allowed"),
            _("Research extracts are for a jurisdiction's administrators who are data stewards."),
            403,
        )
    return render_template(
        "exports/extracts.html",
        waves=waves,
        stewards=stewards,
        steward=user.data_steward,
        formats=extract.FORMATS,
    )


@bp.get("/extracts/<int:wave_id>/<fmt>.zip")
def extract_download(wave_id: int, fmt: str) -> ResponseReturnValue:
    """The research extract of a wave, as a ZIP of one format (data stewards only)."""
    user = _user()
    if user is None or fmt not in extract.FORMATS:
        return _not_found()
    try:
        built, files = extract.export_extract(get_session(), user, wave_id, fmt)
    except access.PermissionDenied:
        return _not_found()
    except extract.ExtractNotAllowed as error:
        return _message(_("No research extract for this wave"), str(error), 403)
    except (extract.ExtractError, reports.NoResponses, reports.UnknownWave) as error:
        return _message(_("No research extract for this wave"), str(error), 409)
    name = extract.bundle_name(built, extract.check_format(fmt))
    return _download(f"{name}.zip", extract.to_zip(files, name), "application/zip")


@bp.post("/stewards/<int:user_id>")
def steward(user_id: int) -> ResponseReturnValue:
    """Grant or take back another administrator's data-steward permission."""
    user = _user()
    try:
        if user is None:
            raise access.PermissionDenied(_("sign in first"))
        changed = users.set_data_steward(
            get_session(), user, user_id, request.form.get("steward", "")
        )
    except (access.PermissionDenied, NotFound):
        return _message(_("Not allowed"), _("You may not change this account."), 403)
    except users.UserError as error:
        flash(str(error), "error")
        return redirect(url_for("exports.extracts"))
    if changed.data_steward:
        flash(_("%(email)s is now a data steward.", email=changed.email), "ok")
    else:
        flash(_("%(email)s is no longer a data steward.", email=changed.email), "ok")
    return redirect(url_for("exports.extracts"))
