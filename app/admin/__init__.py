"""Administration pages: jurisdictions, accounts, roster, waves, dashboards and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from app.extensions import login_manager
from app.services.access import PermissionDenied
from app.services.jurisdictions import NotFound

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
)


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    """Every admin page needs an account; what it may see is decided by the services."""
    if request.endpoint == "admin.static":
        return None  # the sign-in page uses the stylesheet too
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    return None


@bp.errorhandler(PermissionDenied)
def _forbidden(error: PermissionDenied) -> ResponseReturnValue:
    return render_template("admin/error.html", title=_("Not allowed"), message=str(error)), 403


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> ResponseReturnValue:
    return render_template("admin/error.html", title=_("Not found"), message=str(error)), 404


@bp.app_template_filter("in_zone")
def _in_zone(moment: datetime | None, timezone: str) -> str:
    """A stored UTC time as the wave's local time, with the zone named (no bare UTC on pages)."""
    if moment is None:
        return "—"
    return f"{(local := _local(moment, timezone)):%Y-%m-%d %H:%M} {local.tzname()}"


@bp.app_template_filter("closing_day")
def _closing_day(moment: datetime, timezone: str) -> str:
    """A wave closes at the end of a day: name that day, as the administrator chose it."""
    last = _local(moment, timezone) - timedelta(seconds=1)
    return str(_("the end of %(day)s (%(zone)s)", day=last.strftime("%Y-%m-%d"), zone=timezone))


def _local(moment: datetime, timezone: str) -> datetime:
    # Stored times come back aware in UTC (models.base.UTCDateTime).
    try:
        return moment.astimezone(ZoneInfo(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        return moment.astimezone(UTC)


def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    message = _("The upload is larger than 20 MB. Split the roster or remove unused columns.")
    return render_template("admin/error.html", title=_("File too large"), message=message), 413


def init_app(app: Flask) -> None:
    from app import tasks

    app.register_error_handler(RequestEntityTooLarge, _too_large)
    tasks.init_app(app)


# Registers the routes on bp: the main pages, then data sharing and contributions.
from app.admin import sharing_views, views  # noqa: E402,F401
