"""Administration views: validate a form, call one service, translate its errors, render."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

import surveys
from app import keys, tasks
from app.admin import bp
from app.admin.charts import daily_responses_svg
from app.admin.forms import (
    ActionForm,
    JurisdictionForm,
    MailSettingsForm,
    MailTestForm,
    RosterConfirmForm,
    RosterUploadForm,
    StaffAddForm,
    StaffMoveForm,
    UserForm,
    WaveEditForm,
    WaveForm,
    role_choices,
)
from app.auth import current_admin
from app.auth.links import send_account_link
from app.db import get_session
from app.i18n import language_in_page, languages, page_language
from app.models import Role, User
from app.services import (
    access,
    accounts,
    audit,
    jurisdictions,
    mail,
    mail_settings,
    report_batches,
    roster,
    staff,
    users,
    wave_previews,
    waves,
)


def _actor() -> User:
    user = current_admin()
    if user is None:  # the blueprint's before_request already sent anonymous users away
        raise access.PermissionDenied(_("sign in first"))
    return user


def _own_jurisdiction(actor: User) -> int:
    """The jurisdiction an administrator manages (others may not use these pages)."""
    if actor.jurisdiction_id is None:
        raise access.PermissionDenied(_("this page is for jurisdiction administrators"))
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
            )
        except jurisdictions.JurisdictionError as error:
            flash(str(error), "error")
        else:
            flash(_("Jurisdiction %(name)s created.", name=created.name), "ok")
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
    form.role.choices = role_choices(national=access.is_national(actor))
    choices = [
        SelectChoice(str(j.id), j.name) for j in jurisdictions.list_jurisdictions(session, actor)
    ]
    none = SelectChoice("0", "—")
    form.jurisdiction.choices = [none, *choices] if access.is_national(actor) else choices
    if form.validate_on_submit():
        jurisdiction_id = form.jurisdiction.data or None
        if not access.is_national(actor):
            jurisdiction_id = actor.jurisdiction_id
        units = [line.strip() for line in form.units.data.splitlines() if line.strip()]
        try:
            if form.password.data:
                users.create_user(
                    session,
                    actor,
                    email=form.email.data,
                    password=form.password.data,
                    role=form.role.data,
                    jurisdiction_id=jurisdiction_id,
                    unit_paths=units,
                )
            else:
                invited = accounts.invite_user(
                    session,
                    actor,
                    email=form.email.data,
                    role=form.role.data,
                    jurisdiction_id=jurisdiction_id,
                    unit_paths=units,
                )
        except users.UserError as error:
            session.rollback()
            flash(str(error), "error")
        else:
            if form.password.data:
                flash(_("Account %(email)s created.", email=form.email.data), "ok")
            elif _send_link(invited, "invitation"):
                flash(
                    _(
                        "Account %(email)s created; an invitation email is on its way.",
                        email=invited.email,
                    ),
                    "ok",
                )
            else:
                flash(
                    _(
                        "Account %(email)s created, but the invitation email could not be sent. "
                        "Use “Send a password link” once mail works again.",
                        email=invited.email,
                    ),
                    "error",
                )
            return redirect(url_for("admin.users"))
    status = 400 if request.method == "POST" else 200
    query = " ".join(request.args.get("q", "").split())[:100]
    found = [u for u in listed if query.casefold() in _account_text(u)]
    pages = max(1, -(-len(found) // USERS_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    shown = found[(page - 1) * USERS_PER_PAGE : page * USERS_PER_PAGE]
    listing = {"query": query, "total": len(found), "page": page, "pages": pages}
    return render_template(
        "admin/users.html", form=form, users=shown, listing=listing, action=ActionForm()
    ), status


#: Accounts per page of the accounts list (a national list holds every jurisdiction's).
USERS_PER_PAGE = 50
#: Events per page of the audit log.
AUDIT_PER_PAGE = 50


def _account_text(user: User) -> str:
    """What the accounts search looks in: address, role, units (lower case)."""
    return " ".join([user.email, user.role.value, *(u.path for u in user.units)]).casefold()


def _send_link(user: User, purpose: str) -> bool:
    token = accounts.make_link_token(current_app.config["SECRET_KEY"], user, purpose)
    return send_account_link(user.email, token, purpose, user.language)


@bp.post("/users/<int:user_id>/password-link")
def user_password_link(user_id: int) -> ResponseReturnValue:
    """Email an account a link to choose a new password (works once, for two hours)."""
    actor = _actor()
    target = users.get_user(get_session(), actor, user_id)  # scope first
    if ActionForm().validate_on_submit():
        audit.record_alone(
            get_session(),
            actor,
            "user.password_link_sent",
            f"user {target.email}",
            jurisdiction_id=target.jurisdiction_id,
        )
        if _send_link(target, "reset"):
            flash(
                _("A link to choose a new password was sent to %(email)s.", email=target.email),
                "ok",
            )
        else:
            flash(_("The email could not be sent; check the mail settings and try again."), "error")
    return redirect(url_for("admin.users"))


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
        flash(_("The confirmation was incomplete; upload the file again."), "error")
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
        flash(_("Nothing was imported: %(error)s", error=error), "error")
        return redirect(url_for("admin.roster"))
    roster.discard_staged(folder, form.staged.data)
    flash(
        _(
            "Roster imported: %(staff)s staff, %(units_created)s new units, "
            "%(people_deactivated)s people and %(units_deactivated)s units made inactive.",
            staff=result.staff,
            units_created=result.units_created,
            people_deactivated=result.people_deactivated,
            units_deactivated=result.units_deactivated,
        ),
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
        flash(_("Import cancelled; nothing changed."), "ok")
    return redirect(url_for("admin.roster"))


# --- the jurisdiction's emails -------------------------------------------------------------


def _previews(jurisdiction_id: int) -> list[tuple[str, str, EmailMessage]]:
    """(title, language, message) of every message in every configured language."""
    out = []
    for language in languages():
        label = language_in_page(language)
        for reminder in (False, True):
            message = mail_settings.preview(
                get_session(),
                None,
                jurisdiction_id,
                to="staff.member@example.org",
                language=language,
                reminder=reminder,
                public_url=current_app.config["PUBLIC_URL"],
                mail_from=current_app.config["MAIL_FROM"],
                min_n=current_app.config["MIN_REPORT_N"],
            )
            title = (
                _("Reminder in %(language)s", language=label)
                if reminder
                else _("Invitation in %(language)s", language=label)
            )
            out.append((title, language, message))
    return out


@bp.route("/emails", methods=["GET", "POST"], endpoint="emails")
def emails_page() -> ResponseReturnValue:
    """Sender name, reply-to and an introduction per language, with previews of every message."""
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    session = get_session()
    current = mail_settings.get_settings(session, actor, jurisdiction_id)
    form = MailSettingsForm(obj=None if request.method == "POST" else current)
    if form.validate_on_submit():
        try:
            mail_settings.save_settings(
                session,
                actor,
                jurisdiction_id,
                mail_settings.MailSettings(
                    form.sender_name.data or "",
                    form.reply_to.data or "",
                    form.intro_en.data or "",
                    form.intro_es.data or "",
                ),
            )
        except mail_settings.MailSettingsError as error:
            session.rollback()
            flash(_("Nothing was saved: %(error)s.", error=error), "error")
        else:
            flash(_("Email settings saved. The previews below show them."), "ok")
            return redirect(url_for("admin.emails"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/emails.html",
        form=form,
        test=MailTestForm(),
        previews=_previews(jurisdiction_id),
        text_of=mail_settings.text_of,
    ), status


@bp.post("/emails/test")
def emails_test() -> ResponseReturnValue:
    """Send one preview message to the administrator's own address."""
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    form = MailTestForm()
    if not form.validate_on_submit():
        flash(_("Choose a language and a message."), "error")
        return redirect(url_for("admin.emails"))
    message = mail_settings.preview(
        get_session(),
        actor,
        jurisdiction_id,
        to=actor.email,
        language=form.language.data,
        reminder=form.kind.data == "reminder",
        public_url=current_app.config["PUBLIC_URL"],
        mail_from=current_app.config["MAIL_FROM"],
        min_n=current_app.config["MIN_REPORT_N"],
    )
    message.replace_header("Subject", "[Test] " + str(message["Subject"]))
    mailer = mail.mailer_from_config(current_app.config, current_app.instance_path)
    with mail.closing_connection(mailer) as connection:
        result = connection.send(message)
    audit.record_alone(
        get_session(), actor, "mail.test", f"to {actor.email}", jurisdiction_id=jurisdiction_id
    )
    if result.outcome == mail.Outcome.SENT:
        flash(_("A test message is on its way to %(email)s.", email=actor.email), "ok")
    else:
        flash(_("The test message was not sent: %(detail)s", detail=result.detail), "error")
    return redirect(url_for("admin.emails"))


# --- staff list between imports ------------------------------------------------------------


@bp.get("/staff", endpoint="staff")
def staff_page() -> ResponseReturnValue:
    """Search the staff list; add, move or deactivate one person."""
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    session = get_session()
    listing = staff.list_staff(
        session,
        actor,
        jurisdiction_id,
        query=request.args.get("q", ""),
        page=request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "admin/staff.html",
        listing=listing,
        add=StaffAddForm(),
        move=StaffMoveForm(),
        action=ActionForm(),
        units=staff.list_unit_paths(session, actor, jurisdiction_id),
    )


def _back_to_staff() -> ResponseReturnValue:
    query = request.form.get("q", "")[:200]
    return redirect(url_for("admin.staff", q=query) if query else url_for("admin.staff"))


@bp.post("/staff/add")
def staff_add() -> ResponseReturnValue:
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    form = StaffAddForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(_("Nobody was added: %(error)s", error=error), "error")
        return _back_to_staff()
    try:
        entry = staff.add_person(
            get_session(),
            actor,
            jurisdiction_id,
            email=form.email.data,
            unit_path=form.unit.data,
            language=form.language.data,
        )
    except staff.StaffError as error:
        get_session().rollback()
        flash(_("Nobody was added: %(error)s", error=error), "error")
    else:
        flash(
            _("%(email)s is on the staff list (invited from the next wave on).", email=entry.email),
            "ok",
        )
    return _back_to_staff()


@bp.post("/staff/<int:entry_id>/move")
def staff_move(entry_id: int) -> ResponseReturnValue:
    actor = _actor()
    _own_jurisdiction(actor)
    staff.get_entry(get_session(), actor, entry_id)  # scope before anything else
    form = StaffMoveForm()
    if not form.validate_on_submit():
        flash(_("Nobody was moved: name the unit to move to."), "error")
        return _back_to_staff()
    try:
        entry = staff.move_person(get_session(), actor, entry_id, form.unit.data)
    except staff.StaffError as error:
        get_session().rollback()
        flash(_("Nobody was moved: %(error)s", error=error), "error")
    else:
        flash(_("%(email)s moved.", email=entry.email), "ok")
    return _back_to_staff()


@bp.post("/staff/<int:entry_id>/active")
def staff_active(entry_id: int) -> ResponseReturnValue:
    actor = _actor()
    _own_jurisdiction(actor)
    staff.get_entry(get_session(), actor, entry_id)  # scope before anything else
    if ActionForm().validate_on_submit():
        entry = staff.set_person_active(
            get_session(), actor, entry_id, request.form.get("active") == "1"
        )
        flash(
            (
                _("%(email)s is back on the staff list.", email=entry.email)
                if entry.active
                else _("%(email)s is off the staff list.", email=entry.email)
            ),
            "ok",
        )
    return _back_to_staff()


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
        SelectChoice(
            f"{i.key}@{i.version}",
            f"{i.title.get(page_language()) or i.title.get('en', i.key)} ({i.version})",
        )
        for i in surveys.list_instruments()
    ]


@bp.route("/waves/new", methods=["GET", "POST"])
def wave_new() -> ResponseReturnValue:
    actor = _actor()
    jurisdiction_id = _own_jurisdiction(actor)
    form = WaveForm()
    form.instrument.choices = _instrument_choices()
    if request.method == "GET":
        form.year.data = wave_previews.next_wave_year(get_session(), jurisdiction_id)
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
            flash(
                _(
                    "Wave %(year)s created as a draft. Launch it when the roster is ready.",
                    year=wave.year,
                ),
                "ok",
            )
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
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    try:
        if verb == "launch":
            count = waves.launch_wave(session, actor, wave_id, mailer_public=keys.mailer_public())
            flash(_("Wave launched: %(count)s invitations queued.", count=count), "ok")
        elif verb == "remind":
            count = waves.remind_wave(session, actor, wave_id)
            flash(
                _("Reminder queued for %(count)s people who have not answered.", count=count), "ok"
            )
        elif verb == "retry":
            count = waves.retry_failed(session, actor, wave_id)
            flash(_("%(count)s failed deliveries queued again.", count=count), "ok")
        else:
            waves.close_wave(session, actor, wave_id, instance_path=current_app.instance_path)
            tasks.mix_wave(wave_id)  # the mixer (it holds the key) moves what is left in the pool
            flash(_("Wave closed: links no longer work and email addresses were erased."), "ok")
    except waves.WaveError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    if verb != "close":
        tasks.dispatch(wave_id)
    return redirect(url_for("admin.wave", wave_id=wave_id))


@bp.route("/waves/<int:wave_id>/launch", methods=["GET", "POST"])
def wave_launch(wave_id: int) -> ResponseReturnValue:
    """GET: what a launch will send, and the button that does it; POST: launch."""
    if request.method == "POST":
        return _wave_action(wave_id, "launch")
    try:
        preview = wave_previews.launch_preview(get_session(), _actor(), wave_id)
    except waves.WaveError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    return render_template("admin/wave_launch.html", preview=preview, action=ActionForm())


@bp.post("/waves/<int:wave_id>/remind")
def wave_remind(wave_id: int) -> ResponseReturnValue:
    return _wave_action(wave_id, "remind")


@bp.post("/waves/<int:wave_id>/retry-failed")
def wave_retry(wave_id: int) -> ResponseReturnValue:
    return _wave_action(wave_id, "retry")


@bp.route("/waves/<int:wave_id>/close", methods=["GET", "POST"])
def wave_close(wave_id: int) -> ResponseReturnValue:
    """GET: what closing stops and erases, and the button that does it; POST: close."""
    if request.method == "POST":
        return _wave_action(wave_id, "close")
    try:
        preview = wave_previews.close_preview(get_session(), _actor(), wave_id)
    except waves.WaveError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    return render_template("admin/wave_close.html", preview=preview, action=ActionForm())


@bp.route("/waves/<int:wave_id>/edit", methods=["GET", "POST"])
def wave_edit(wave_id: int) -> ResponseReturnValue:
    """A draft's settings, or an open wave's closing day and reminders."""
    actor = _actor()
    session = get_session()
    wave = waves.get_wave(session, actor, wave_id)
    if wave.status.value == "closed":
        flash(_("A closed wave cannot be changed."), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    draft = wave.status.value == "draft"
    form = WaveEditForm(obj=None if request.method == "POST" else wave_previews.edit_values(wave))
    if form.validate_on_submit():
        try:
            waves.update_wave(
                session,
                actor,
                wave_id,
                opens=form.opens.data if draft else None,
                closes=form.closes.data,
                timezone=form.timezone.data if draft else None,
                reminder_max=form.reminder_max.data,
                reminder_min_days=form.reminder_min_days.data,
                min_report_n=form.min_report_n.data if draft else None,
                pool_k=form.pool_k.data if draft else None,
            )
        except waves.WaveError as error:
            session.rollback()
            flash(str(error), "error")
        else:
            flash(_("Wave settings saved."), "ok")
            return redirect(url_for("admin.wave", wave_id=wave_id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/wave_edit.html", form=form, wave=wave, draft=draft), status


# --- all reports of a wave as one ZIP ------------------------------------------------------


@bp.post("/waves/<int:wave_id>/reports-zip")
def wave_reports_zip(wave_id: int) -> ResponseReturnValue:
    actor = _actor()
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    if waves.get_wave(get_session(), actor, wave_id).status.value == "draft":
        flash(_("Reports exist once the wave has been launched and people have answered."), "error")
        return redirect(url_for("admin.wave", wave_id=wave_id))
    batch = report_batches.request_batch(get_session(), actor, wave_id, language=str(get_locale()))
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
        get_session(),
        actor,
        action=request.args.get("action") or None,
        before_id=before,
        limit=AUDIT_PER_PAGE,
    )
    return render_template(
        "admin/audit.html", events=events, per_page=AUDIT_PER_PAGE, paged=before is not None
    )
