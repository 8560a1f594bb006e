"""Data-sharing agreements and contribution pages: thin views over the sharing services."""

from __future__ import annotations

import json

from flask import Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.admin import bp
from app.admin.forms import ActionForm, SharingForm
from app.admin.views import _actor
from app.db import get_session
from app.i18n import value_label
from app.services import audit, contributions, sharing
from app.services.access import can_manage_jurisdiction


@bp.get("/sharing", endpoint="sharing")
def sharing_page() -> ResponseReturnValue:
    actor = _actor()
    rows = sharing.list_sharing(get_session(), actor)
    forms = {
        row.wave_id: SharingForm(
            formdata=None, level=row.level.value, reference=row.reference, prefix=f"w{row.wave_id}"
        )
        for row in rows
        if can_manage_jurisdiction(actor, row.jurisdiction_id)
    }
    return render_template(
        "admin/sharing.html", rows=rows, forms=forms, meaning=sharing.LEVEL_MEANING
    )


@bp.post("/sharing/<int:wave_id>")
def sharing_set(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    sharing.require_own_wave(get_session(), actor, wave_id)
    form = SharingForm(prefix=f"w{wave_id}")
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete; try again."), "error")
        return redirect(url_for("admin.sharing"))
    try:
        row = sharing.set_level(
            get_session(), actor, wave_id, form.level.data, reference=form.reference.data or ""
        )
    except sharing.SharingError as error:
        flash(str(error), "error")
    else:
        flash(
            _("Sharing level for the wave is now: %(level)s.", level=value_label(row.level)), "ok"
        )
    return redirect(url_for("admin.sharing"))


@bp.get("/contributions/<int:wave_id>")
def contribution(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    sharing.require_own_wave(session, actor, wave_id)
    sent = contributions.list_contributions(session, actor, wave_id)
    preview = error = None
    try:
        preview = contributions.build_contribution(session, actor, wave_id)
    except contributions.ContributionError as problem:
        error = str(problem)
    return render_template(
        "admin/contribution.html",
        wave_id=wave_id,
        preview=preview,
        error=error,
        sent=sent,
        action=ActionForm(),
        meaning=sharing.LEVEL_MEANING,
    )


@bp.get("/contributions/<int:wave_id>/preview.json")
def contribution_json(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    sharing.require_own_wave(session, actor, wave_id)
    try:
        preview = contributions.build_contribution(session, actor, wave_id)
    except contributions.ContributionError as problem:
        flash(str(problem), "error")
        return redirect(url_for("admin.contribution", wave_id=wave_id))
    audit.record_alone(session, actor, "contribution.preview_download", f"wave {wave_id}")
    body = json.dumps(preview.payload, sort_keys=True, indent=1, ensure_ascii=False)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=contribution-{wave_id}.json"},
    )


@bp.post("/contributions/<int:wave_id>/approve")
def contribution_approve(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    sharing.require_own_wave(session, actor, wave_id)
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("admin.contribution", wave_id=wave_id))
    try:
        done = contributions.approve_contribution(session, actor, wave_id)
    except contributions.ContributionError as problem:
        flash(str(problem), "error")
    else:
        flash(
            _(
                "Contribution approved (%(level)s); digest %(digest)s.",
                level=value_label(done.level),
                digest=done.digest[:16],
            ),
            "ok",
        )
    return redirect(url_for("admin.contribution", wave_id=wave_id))
