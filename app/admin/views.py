"""Administration views: validate a form, call one service, translate its errors, render."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from wtforms.fields.choices import SelectChoice

import surveys
from app import keys, tasks
from app.admin import bp
from app.admin.charts import daily_responses_svg
from app.admin.forms import (
    ActionForm,
    JurisdictionForm,
    RosterConfirmForm,
    RosterUploadForm,
    UserForm,
    WaveForm,
)
from app.auth import current_admin
from app.db import get_session
from app.models import Role, User
from app.services import access, audit, jurisdictions, report_batches, roster, users, waves


def _actor() -> User:
    user = current_admin()
    if user is None:  # the blueprint's before_request already sent anonymous users away
        raise access.PermissionDenied("sign in first")
    return user


def _own_jurisdiction(actor: User) -> int:
    """The jurisdiction an administrator manages (others may not use these pages)."""
    if actor.jurisdiction_id is None:
        raise access.PermissionDenied("this page is for jurisdiction administrators")
    access.require_jurisdiction_admin(actor, actor.jurisdiction_id)
    return actor.jurisdiction_id


@bp.get("/")
def home() -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    context: dict[str, object] = {"actor": actor}
    if actor.role == Role.JURISDICTION_ADMIN and actor.jurisdiction_id is not None:
        context["jurisdiction"] = jurisdictions.get_jurisdiction(session, actor.jurisdiction_id)
        context["roster"] = roster.summary(session, actor, actor.jurisdiction_id)
        context["waves"] = waves.list_waves(session, actor)
    elif actor.role == Role.LEADER:
        context["units"] = [u.path or "(whole agency)" for u in actor.units]
    return render_template("admin/home.html", **context)


# --- jurisdictions (national) -------------------------------------------------------------


@bp.route("/jurisdictions", methods=["GET", "POST"], endpoint="jurisdictions")
def jurisdictions_page() -> ResponseReturnValue:
    actor = _actor()
    access.require_national(actor)
    form = JurisdictionForm()
    if form.validate_on_submit():
        try:
            created = jurisdictions.create_jurisdiction(
                get_session(),
                actor,
                name=form.name.data,
                slug=form.slug.data,
                shares_benchmarks=form.shares_benchmarks.data,
            )
        except jurisdictions.JurisdictionError as error:
            flash(str(error), "error")
        else:
            flash(f"Jurisdiction {created.name} created.", "ok")
            return redirect(url_for("admin.jurisdictions"))
    listed = jurisdictions.list_jurisdictions(get_session(), actor)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/jurisdictions.html", form=form, jurisdictions=listed), status


# --- accounts -----------------------------------------------------------------------------


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
def users_page() -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    listed = users.list_users(session, actor)  # raises PermissionDenied for leaders
    form = UserForm()
    choices = [
        SelectChoice(str(j.id), j.name) for j in jurisdictions.list_jurisdictions(session, actor)
    ]
    none = SelectChoice("0", "—")
    form.jurisdiction.choices = [none, *choices] if access.is_national(actor) else choices
    if form.validate_on_submit():
        jurisdiction_id = form.jurisdiction.data or None
        if not access.is_national(actor):
            jurisdiction_id = actor.jurisdiction_id
        try:
            users.create_user(
                session,
                actor,
                email=form.email.data,
                password=form.password.data,
                role=form.role.data,
                jurisdiction_id=jurisdiction_id,
                unit_paths=[line.strip() for line in form.units.data.splitlines() if line.strip()],
            )
        except users.UserError as error:
            flash(str(error), "error")
        else:
            flash(f"Account {form.email.data} created.", "ok")
            return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/users.html", form=form, users=listed, action=ActionForm()), status


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int) -> ResponseReturnValue:
    actor = _actor()
    target = users.get_user(get_session(), actor, user_id)  # scope first
    if ActionForm().validate_on_submit():
        try:
            users.set_active(get_session(), actor, target.id, not target.active)
        except users.UserError as error:
            flash(str(error), "error")
    return redirect(url_for("admin.users"))


# --- roster -------------------------------------------------------------------------------


@bp.route("/roster", methods=["GET", "POST"], endpoint="roster")
def roster_page() -> ResponseReturnValue:
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    session = get_session()
    form = RosterUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        preview = roster.preview_import(
            session,
            actor,
            jurisdiction_id,
            data,
            upload.filename or "roster.csv",
            min_report_n=current_app.config["MIN_REPORT_N"],
        )
        confirm = None
        if preview.ok:
            folder = roster.staging_folder(current_app.instance_path, jurisdiction_id)
            confirm = RosterConfirmForm(
                staged=roster.stage_upload(folder, data, upload.filename or ""),
                checksum=preview.checksum,
            )
        return render_template(
            "admin/roster_preview.html",
            preview=preview,
            confirm=confirm,
            min_n=current_app.config["MIN_REPORT_N"],
        ), (200 if preview.ok else 422)
    summary = roster.summary(session, actor, jurisdiction_id)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/roster.html", form=form, summary=summary), status


@bp.post("/roster/confirm")
def roster_confirm() -> ResponseReturnValue:
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        flash("The confirmation was incomplete; upload the file again.", "error")
        return redirect(url_for("admin.roster"))
    folder = roster.staging_folder(current_app.instance_path, jurisdiction_id)
    try:
        data, name = roster.load_staged(folder, form.staged.data)
        result = roster.import_roster(
            get_session(),
            actor,
            jurisdiction_id,
            data,
            name,
            min_report_n=current_app.config["MIN_REPORT_N"],
            expected_checksum=form.checksum.data,
        )
    except roster.RosterInvalid as error:
        flash(f"Nothing was imported: {error}", "error")
        return redirect(url_for("admin.roster"))
    roster.discard_staged(folder, form.staged.data)
    flash(
        f"Roster imported: {result.staff} staff, {result.units_created} new units, "
        f"{result.people_deactivated} people and {result.units_deactivated} units made inactive.",
        "ok",
    )
    return redirect(url_for("admin.roster"))


@bp.post("/roster/cancel")
def roster_cancel() -> ResponseReturnValue:
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    form = RosterConfirmForm()
    if form.validate_on_submit():
        folder = roster.staging_folder(current_app.instance_path, jurisdiction_id)
        roster.discard_staged(folder, form.staged.data)
        flash("Import cancelled; nothing changed.", "ok")
    return redirect(url_for("admin.roster"))


# --- waves --------------------------------------------------------------------------------


@bp.get("/waves", endpoint="waves")
def waves_page() -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    listed = waves.list_waves(session, actor)
    totals = {w.id: waves.wave_totals(session, actor, w.id) for w in listed}
    return render_template(
        "admin/waves.html",
        waves=listed,
        totals=totals,
        can_create=actor.role == Role.JURISDICTION_ADMIN,
    )


def _instrument_choices() -> list[SelectChoice]:
    return [
        SelectChoice(f"{i.key}@{i.version}", f"{i.title.get('en', i.key)} ({i.version})")
        for i in surveys.list_instruments()
    ]


@bp.route("/waves/new", methods=["GET", "POST"])
def wave_new() -> ResponseReturnValue:
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    form = WaveForm()
    form.instrument.choices = _instrument_choices()
    if form.validate_on_submit():
        key, version = waves.parse_instrument_ref(form.instrument.data or "")
        try:
            wave = waves.create_wave(
                get_session(),
                actor,
                jurisdiction_id=jurisdiction_id,
                year=form.year.data,
                instrument_key=key,
                instrument_version=version,
                opens=form.opens.data,
                closes=form.closes.data,
                timezone=form.timezone.data,
                reminder_max=form.reminder_max.data,
                reminder_min_days=form.reminder_min_days.data,
                min_report_n=form.min_report_n.data or current_app.config["MIN_REPORT_N"],
                pool_k=form.pool_k.data or current_app.config["POOL_K"],
            )
        except waves.WaveError as error:
            flash(str(error), "error")
        else:
            flash(f"Wave {wave.year} created as a draft. Launch it when the roster is ready.", "ok")
            return redirect(url_for("admin.wave", wave_id=wave.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/wave_new.html", form=form), status


@bp.get("/waves/<int:wave_id>")
def wave(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    board = waves.dashboard(get_session(), actor, wave_id)
    return render_template(
        "admin/wave.html",
        board=board,
        chart=daily_responses_svg(board.daily),
        pending_jobs=tasks.pending_jobs(),
        action=ActionForm(),
        batches=report_batches.list_batches(get_session(), actor, wave_id),
    )


def _wave_action(wave_id: int, verb: str) -> ResponseReturnValue:
    actor = _actor()
    session = get_session()
    waves.get_wave(session, actor, wave_id)  # scope before anything else
    if not ActionForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    try:
        if verb == "launch":
            count = waves.launch_wave(session, actor, wave_id, mailer_public=keys.mailer_public())
            flash(f"Wave launched: {count} invitations queued.", "ok")
        elif verb == "remind":
            count = waves.remind_wave(session, actor, wave_id)
            flash(f"Reminder queued for {count} people who have not answered.", "ok")
        elif verb == "retry":
            count = waves.retry_failed(session, actor, wave_id)
            flash(f"{count} failed deliveries queued again.", "ok")
        else:
            waves.close_wave(session, actor, wave_id, instance_path=current_app.instance_path)
            tasks.mix_wave(wave_id)  # the mixer (it holds the key) moves what is left in the pool
            flash("Wave closed: links no longer work and email addresses were erased.", "ok")
    except waves.WaveError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    if verb != "close":
        tasks.dispatch(wave_id)
    return redirect(url_for("admin.wave", wave_id=wave_id))


@bp.post("/waves/<int:wave_id>/launch")
def wave_launch(wave_id: int) -> ResponseReturnValue:
    return _wave_action(wave_id, "launch")


@bp.post("/waves/<int:wave_id>/remind")
def wave_remind(wave_id: int) -> ResponseReturnValue:
    return _wave_action(wave_id, "remind")


@bp.post("/waves/<int:wave_id>/retry-failed")
def wave_retry(wave_id: int) -> ResponseReturnValue:
    return _wave_action(wave_id, "retry")


@bp.post("/waves/<int:wave_id>/close")
def wave_close(wave_id: int) -> ResponseReturnValue:
    return _wave_action(wave_id, "close")


# --- all reports of a wave as one ZIP ------------------------------------------------------


@bp.post("/waves/<int:wave_id>/reports-zip")
def wave_reports_zip(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    if not ActionForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    batch = report_batches.request_batch(get_session(), actor, wave_id)
    tasks.build_report_batch(batch.id)  # a batch already claimed by a worker is left alone
    return redirect(url_for("admin.report_batch", batch_id=batch.id))


@bp.get("/report-batches/<int:batch_id>")
def report_batch(batch_id: int) -> ResponseReturnValue:
    batch = report_batches.get_batch(get_session(), _actor(), batch_id)
    return render_template("admin/report_batch.html", batch=batch, action=ActionForm())


@bp.get("/report-batches/<int:batch_id>/download")
def report_batch_download(batch_id: int) -> ResponseReturnValue:
    try:
        name, path = report_batches.open_download(
            get_session(), _actor(), batch_id, Path(current_app.instance_path)
        )
    except report_batches.BatchNotReady as error:
        flash(str(error), "error")
        return redirect(url_for("admin.report_batch", batch_id=batch_id))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)


# --- audit log ----------------------------------------------------------------------------


@bp.get("/audit", endpoint="audit")
def audit_page() -> ResponseReturnValue:
    actor = _actor()
    before = request.args.get("before", type=int)
    events = audit.list_events(
        get_session(), actor, action=request.args.get("action") or None, before_id=before
    )
    return render_template("admin/audit.html", events=events)
