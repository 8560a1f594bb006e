"""Action plan pages: the list of one's units, one unit's plan, and the jurisdiction's roll-up."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.auth import current_admin
from app.db import get_session
from app.i18n import page_language
from app.models import User
from app.plans import bp
from app.plans.forms import PlanForm
from app.services import plans, reports
from app.services.access import PermissionDenied


def _user() -> User:
    user = current_admin()
    if user is None:
        raise PermissionDenied(_("sign in first"))
    return user


@bp.get("")
def index() -> ResponseReturnValue:
    """Each wave with results, and each unit in the user's scope that may have a plan."""
    user = _user()
    session = get_session()
    waves = []
    for wave in reports.list_reports_for(session, user):
        units = []
        for entry in wave.entries:
            if not entry.shown:
                continue
            plan = plans.get_plan(
                session, user, wave.wave_id, entry.unit_id, language=page_language()
            )
            units.append((entry, plan))
        waves.append((wave, units))
    return render_template("plans/index.html", waves=waves)


@bp.route("/<int:wave_id>/<int:unit_id>", methods=["GET", "POST"])
def plan(wave_id: int, unit_id: int) -> ResponseReturnValue:
    """Record up to three focus areas and the actions agreed for each."""
    user = _user()
    session = get_session()
    plans.require_results(session, user, wave_id, unit_id)
    view = plans.get_plan(session, user, wave_id, unit_id, language=page_language())
    form = PlanForm()
    form.offer(view.scales)
    if request.method == "GET":
        for entry, focus in zip(form.focus, view.focus_areas, strict=False):
            entry.form.scale.data = focus.scale_key
            for slot, action in zip(entry.form.actions, focus.actions, strict=False):
                slot.form.text.data = action.text
                slot.form.owner.data = action.owner_role
                slot.form.target.data = action.target_date
                slot.form.status.data = action.status
    elif form.validate_on_submit():
        try:
            plans.save_plan(session, user, wave_id, unit_id, form.inputs())
        except plans.PlanError as error:
            session.rollback()
            flash(_("Nothing was saved: %(error)s.", error=error), "error")
        else:
            flash(_("The plan is saved."), "ok")
            return redirect(url_for("plans.plan", wave_id=wave_id, unit_id=unit_id))
    else:
        flash(_("Nothing was saved: see the marked fields."), "error")
    status = 400 if request.method == "POST" else 200
    return render_template("plans/plan.html", form=form, view=view), status


@bp.get("/<int:wave_id>/summary")
def summary(wave_id: int) -> ResponseReturnValue:
    """Which scales units chose and how far their actions are, over the user's reach."""
    user = _user()
    rollup = plans.rollup(get_session(), user, wave_id, language=page_language())
    return render_template("plans/summary.html", rollup=rollup)
