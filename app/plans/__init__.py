"""Action plans: pages where a team's leader records what the team will change."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.extensions import login_manager
from app.services.access import PermissionDenied
from app.services.jurisdictions import NotFound

bp = Blueprint("plans", __name__, url_prefix="/plans", template_folder="templates")


@bp.before_request
def _signed_in_only() -> ResponseReturnValue | None:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # type: ignore[no-any-return]
    return None


@bp.errorhandler(NotFound)
def _not_found(error: NotFound) -> ResponseReturnValue:
    return render_template("plans/message.html", title=_("Not found"), message=str(error)), 404


@bp.errorhandler(PermissionDenied)
def _forbidden(error: PermissionDenied) -> ResponseReturnValue:
    return render_template("plans/message.html", title=_("Not allowed"), message=str(error)), 403


def init_app(app: object) -> None:
    """Nothing to set up: the pages need only the blueprint."""


from app.plans import views  # noqa: E402,F401  (registers the routes on bp)
