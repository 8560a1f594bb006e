"""The national coordinator's pages: the home of the partnership and the psychometric report.

``/national/`` and ``/national/report`` (page and PDF) are for the national office;
``/national/self`` (page and PDF) is a jurisdiction administrator's report about its own
jurisdiction. Everything shown comes from contributions (:mod:`app.services.national_report`).
"""

from __future__ import annotations

import threading

from flask import Blueprint, Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import login_manager
from app.services.access import PermissionDenied
from app.services.jurisdictions import NotFound

bp = Blueprint("national", __name__, url_prefix="/national", template_folder="templates")


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    return None


@bp.errorhandler(PermissionDenied)
def _forbidden(error: PermissionDenied) -> ResponseReturnValue:
    return render_template("admin/error.html", title=_("Not allowed"), message=str(error)), 403


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> ResponseReturnValue:
    return render_template("admin/error.html", title=_("Not found"), message=str(error)), 404


def init_app(app: Flask) -> None:
    # Built reports, keyed by exactly the contributions they used (a withdrawal changes the key).
    app.extensions["national_report_cache"] = {}


def warm_report(app: Flask) -> threading.Thread:
    """Build the coordinator's report in the background, so the first visit finds it ready.

    The demo calls this before serving: fitting the CFA and invariance models of a whole
    instrument takes tens of seconds on a busy machine, and the coordinator's first click
    should not wait for it. Errors are logged, never raised (the page builds it again).
    """

    def build() -> None:
        from app.db import get_session
        from app.services import national_report

        with app.app_context():
            try:
                national_report.build_national_report(
                    get_session(),
                    None,
                    language="en",
                    min_report_n=int(app.config["MIN_REPORT_N"]),
                    cache=app.extensions["national_report_cache"],
                )
            except Exception:  # a background convenience: the page reports real failures
                app.logger.exception("building the national report in advance failed")

    thread = threading.Thread(target=build, name="national-report", daemon=True)
    thread.start()
    return thread


from app.national import views  # noqa: E402,F401
